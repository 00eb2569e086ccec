"""The control channel: line-based JSON on a loopback TCP port, extensible by registering ops.

Each request is one JSON object per line with an "op" key; each answer is one JSON object per
line with "ok": true and the op's result fields, or "ok": false and an "error" message, e.g.

    {"op": "fault", "kind": "no_reply", "on": "RAT"}   ->  {"ok": true}
    {"op": "state"}                                   ->  {"ok": true, "prompt": "I", ...}

A later patient simulation adds its own ops with `register()`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes the request object, returns the result fields; raises ValueError/KeyError on bad input."""


class ControlServer:
    """Serves registered ops over line-based JSON on 127.0.0.1.

    Args:
        host: a loopback address.
        port: 0 picks a free port.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the control channel only listens on loopback, not {host}")
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

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                except ValueError as exc:
                    answer: dict[str, Any] = {"ok": False, "error": f"not JSON: {exc}"}
                else:
                    if isinstance(request, dict):
                        answer = self.dispatch(request)
                    else:
                        answer = {"ok": False, "error": "a request is a JSON object"}
                stream.write(json.dumps(answer).encode() + b"\n")
                stream.flush()


def send_control(host: str, port: int, request: dict[str, Any], timeout_s: float = 5.0) -> Any:
    """Send one request to a control channel and return the decoded answer (a client helper)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as stream:
            return json.loads(stream.readline())
