"""The control channel: line-based JSON on a loopback TCP port, extensible by registering ops.

Each request is one JSON object per line with an "op" key and the channel's "token"; each answer
is one JSON object per line with "ok": true and the op's result fields, or "ok": false and an
"error" message, e.g.

    {"token": "…", "op": "fault", "kind": "no_reply", "on": "RAT"}  ->  {"ok": true}
    {"token": "…", "op": "state"}                                    ->  {"ok": true, "prompt": …}

Any local user can reach a loopback port, so the channel makes a random token when it starts
(`ControlServer.token`; `python -m simulator` prints it as `CONTROL_TOKEN <token>`) and every
request must carry it. A line without it (or not a JSON object) gets one refusal line and the
connection is closed; the op is not carried out.

A later patient simulation adds its own ops with `register()`.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes the request object, returns the result fields; raises ValueError/KeyError on bad input."""

TOKEN_FIELD = "token"  # noqa: S105 - the name of a field, not a secret
"""The request field that carries the channel's token."""
TOKEN_BYTES = 24
"""Random bytes in a token (`secrets.token_urlsafe`: 32 characters)."""
MAX_LINE_BYTES = 1 << 20
"""A longer request line is refused (and the connection closed) before it is parsed."""
REFUSED = (
    f'refused: each request must be one JSON object carrying "{TOKEN_FIELD}", the token printed '
    "at start (CONTROL_TOKEN); connection closed"
)


class ControlServer:
    """Serves registered ops over line-based JSON on 127.0.0.1.

    Args:
        host: a loopback address.
        port: 0 picks a free port.

    Attributes:
        token: what every request over the socket must carry as "token" (made here, random).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the control channel only listens on loopback, not {host}")
        self.token = secrets.token_urlsafe(TOKEN_BYTES)
        self._token_bytes = self.token.encode("ascii")
        self._handlers: dict[str, Handler] = {"help": self._help}
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="sim-control", daemon=True)

    def register(self, op: str, handler: Handler) -> None:
        """Add (or replace) the handler for `op`."""
        self._handlers[op] = handler

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request object (also usable in-process, without the socket)."""
        op = request.get("op")
        handler = self._handlers.get(op) if isinstance(op, str) else None
        if handler is None:
            return {"ok": False, "error": f'unknown op {op!r}; try {{"op": "help"}}'}
        try:
            result = handler({k: v for k, v in request.items() if k != "op"})
        except (ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, **result}

    def start(self) -> None:
        """Start accepting connections."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self._listener.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                client.close()
        self._thread.join(timeout=5)

    def _help(self, _request: dict[str, Any]) -> dict[str, Any]:
        return {"ops": sorted(self._handlers)}

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def authorised(self, request: object) -> bool:
        """Whether `request` is a JSON object carrying this channel's token."""
        given = request.get(TOKEN_FIELD) if isinstance(request, dict) else None
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._token_bytes)

    def _serve(self, client: socket.socket) -> None:
        try:
            self._answer(client)
        finally:  # the host sees the connection close (after a refusal, or when it hung up)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)

    def _answer(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client.makefile("rwb") as stream:
            while line := stream.readline(MAX_LINE_BYTES + 1):
                request: object = None
                if len(line) <= MAX_LINE_BYTES:
                    with contextlib.suppress(ValueError, RecursionError):
                        request = json.loads(line)
                if not isinstance(request, dict) or not self.authorised(request):
                    stream.write(json.dumps({"ok": False, "error": REFUSED}).encode() + b"\n")
                    stream.flush()
                    return
                del request[TOKEN_FIELD]
                stream.write(json.dumps(self.dispatch(request)).encode() + b"\n")
                stream.flush()


def send_control(
    host: str, port: int, request: dict[str, Any], *, token: str, timeout_s: float = 5.0
) -> Any:
    """Send one request, with the channel's `token`, and return the decoded answer (a client)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(json.dumps({TOKEN_FIELD: token, **request}).encode() + b"\n")
        with sock.makefile("rb") as stream:
            return json.loads(stream.readline())
