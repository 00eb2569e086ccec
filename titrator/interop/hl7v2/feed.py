"""The live PCD-10 feed: an outbox of `ORU^R42` messages sent over MLLP, acknowledged one by one.

Never in the bedside's path: only `titrator send` uses this; the bedside app never waits for it.

- **MLLP** (HL7 v2 Minimal Lower Layer Protocol, the framing of HL7 v2.6 appendix C): a message
  is sent as ``<VT> message <FS><CR>`` and the reply comes back framed the same way. One message
  per connection, as hl7apy's own `MLLPServer` serves it.
- **Application acknowledgements** (HL7 v2.6 section 2.9; IHE PCD TF-2 Appendix G.1): `AA`
  (or a commit `CA`) delivers the message; `AE`/`AR` (or `CE`/`CR`) refuses it: the refusal and
  its text are reported and the message stays in the outbox as `refused`, never resent on its
  own. A reply whose MSA-2 is not the message's control id is not an acknowledgement of it.
- **Outbox**: a JSON file written whole, 0600, through a temporary file and an atomic rename
  (`write_private`), after every change, so a restart resumes where the last run stopped and a
  message delivered once is not sent again (MSH-10 ids are derived from the log).
- **Retry**: a connection that fails (refused, timed out, closed before the reply, a reply that
  is not an ACK) leaves the message pending with `attempts` and the earliest next try,
  ``now + min(BACKOFF_BASE_S * 2**(attempts - 1), BACKOFF_CAP_S)``; messages go out in order,
  so nothing is sent past a message still waiting. Time comes from an injected clock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final, Literal

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from titrator.files.private import write_private

START_BLOCK: Final = b"\x0b"
END_BLOCK: Final = b"\x1c\r"
BACKOFF_BASE_S: Final = 5.0
BACKOFF_CAP_S: Final = 300.0
OUTBOX_VERSION: Final = 1
ACCEPTED: Final = frozenset({"AA", "CA"})
REFUSED: Final = frozenset({"AE", "AR", "CE", "CR"})

Status = Literal["pending", "delivered", "refused"]


class FeedError(Exception):
    """The outbox cannot be used (unreadable, damaged, in use): one line, no patient data."""


class SendError(Exception):
    """One exchange failed before an acknowledgement came back (the message is retried)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the interface engine listens."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """`host:port` (or `[ipv6]:port`) as typed.

    Raises:
        ValueError: the reason, in plain words (the caller adds the option and the text).
    """
    host, colon, port = text.rpartition(":")
    if not colon or not host:
        raise ValueError("must be HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c.isspace() for c in host) or "[" in host or "]" in host:
        raise ValueError("the host is not a host name or address")
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("the port must be a whole number from 1 to 65535")
    return Endpoint(host, int(port))


@dataclass(frozen=True)
class Ack:
    """An HL7 acknowledgement: MSA-1 code, MSA-2 the acknowledged control id, MSA-3 or ERR text."""

    code: str
    control_id: str
    text: str


def read_ack(reply: str) -> Ack:
    """The acknowledgement in `reply` (one ER7 message), parsed with hl7apy.

    Raises:
        SendError: the reply is not an HL7 message with an MSA segment.
    """
    try:
        message = parse_message(
            reply.replace("\n", "\r").strip("\r"), validation_level=VALIDATION_LEVEL.TOLERANT
        )
        msa = message.msa
        code = str(msa.msa_1.value).strip().upper()
        control = str(msa.msa_2.value).strip()
        text = str(msa.msa_3.value).strip() if msa.msa_3.value else ""
    except (HL7apyException, AttributeError, IndexError, ValueError) as error:
        raise SendError(
            f"the reply is not an HL7 acknowledgement ({type(error).__name__})"
        ) from None
    if not text:
        err = [seg for seg in message.children if seg.name == "ERR"]
        text = str(err[0].err_8.value) if err and err[0].err_8.value else ""
    return Ack(code, control, text)


def exchange(endpoint: Endpoint, message: str, timeout_s: float) -> Ack:
    """Send one ER7 message MLLP-framed, wait for the framed reply, return its acknowledgement.

    Raises:
        SendError: no connection, a timeout, the peer closed early, or no ACK in the reply.
    """
    frame = START_BLOCK + message.encode("utf-8") + END_BLOCK
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s) as conn:
            conn.sendall(frame)
            reply = b""
            while END_BLOCK not in reply:
                chunk = conn.recv(4096)
                if not chunk:
                    raise SendError("the connection closed before an acknowledgement came back")
                reply += chunk
    except TimeoutError:
        raise SendError(f"no reply within {timeout_s:g} s") from None
    except OSError as error:
        raise SendError(error.strerror or type(error).__name__) from None
    body = reply.split(START_BLOCK, 1)[-1].split(END_BLOCK, 1)[0]
    return read_ack(body.decode("utf-8", errors="replace"))


def backoff_s(attempts: int) -> float:
    """Seconds to wait after `attempts` failed tries (5, 10, 20 ... at most 300)."""
    return float(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S))


@dataclass
class OutboxEntry:
    """One message and where it stands.

    Attributes:
        control_id: MSH-10 of the message (unique in the outbox).
        session_id: the log it came from.
        what: the event in words (start, rate change, pause, stop, complete).
        message: the ER7 text (segments ended by CR).
        status: pending, delivered or refused.
        attempts: failed connection attempts.
        next_try: earliest next try (the clock's seconds; 0 = now).
        detail: the last error, or the refusal's code and text.
    """

    control_id: str
    session_id: str
    what: str
    message: str
    status: Status = "pending"
    attempts: int = 0
    next_try: float = 0.0
    detail: str = ""


@dataclass
class Outbox:
    """The messages to send, in order, kept in a private JSON file."""

    path: Path
    entries: list[OutboxEntry] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Outbox:
        """The outbox in `path` (a missing file is an empty outbox).

        Raises:
            FeedError: the file cannot be read or is not an outbox.
        """
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as error:
            raise FeedError(f"outbox {path}: cannot read it ({type(error).__name__})") from None
        try:
            if data["version"] != OUTBOX_VERSION:
                raise ValueError(data["version"])
            entries = [OutboxEntry(**item) for item in data["messages"]]
        except (KeyError, TypeError, ValueError):
            raise FeedError(f"outbox {path}: not a titrator outbox (version 1)") from None
        return cls(path, entries)

    def save(self) -> None:
        """Write the whole outbox: 0600, atomically."""
        data = {"version": OUTBOX_VERSION, "messages": [asdict(e) for e in self.entries]}
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        try:
            write_private(self.path, text.encode("utf-8"))
        except OSError as error:
            raise FeedError(f"outbox {self.path}: cannot write it: {error.strerror}") from None

    def add(self, items: Sequence[tuple[str, str, str, str]]) -> int:
        """Queue `(control_id, session_id, what, message)` items not yet in the outbox."""
        known = {e.control_id for e in self.entries}
        new = [OutboxEntry(*item) for item in items if item[0] not in known]
        self.entries.extend(new)
        return len(new)

    def with_status(self, status: Status) -> list[OutboxEntry]:
        """The entries in `status`, in order."""
        return [e for e in self.entries if e.status == status]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `path`'s lock file for the duration; a second sender is refused, not queued.

    Raises:
        FeedError: another `titrator send` holds the outbox.
    """
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise FeedError(f"outbox {path}: cannot use it: {error.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FeedError(f"outbox {path} is in use by another titrator send") from None
        yield
    finally:
        os.close(fd)


Exchange = Callable[[Endpoint, str, float], Ack]


@dataclass(frozen=True)
class Sent:
    """What one try did to one message (for the command's report)."""

    entry: OutboxEntry
    outcome: Literal["delivered", "refused", "retry"]


class Feed:
    """Sends an outbox's pending messages in order; time from `clock` (seconds)."""

    def __init__(
        self,
        outbox: Outbox,
        endpoint: Endpoint,
        *,
        clock: Callable[[], float] = time.time,
        send: Exchange = exchange,
        timeout_s: float = 10.0,
    ) -> None:
        self.outbox = outbox
        self.endpoint = endpoint
        self.clock = clock
        self.send = send
        self.timeout_s = timeout_s

    def next_due(self) -> float | None:
        """When the first pending message may be tried (None: nothing pending)."""
        pending = self.outbox.with_status("pending")
        return pending[0].next_try if pending else None

    def run_once(self) -> list[Sent]:
        """Try every due pending message in order; stop at the first that must wait."""
        done: list[Sent] = []
        for entry in self.outbox.with_status("pending"):
            now = self.clock()
            if entry.next_try > now:
                break
            try:
                ack = self.send(self.endpoint, entry.message, self.timeout_s)
                if ack.control_id != entry.control_id:
                    raise SendError(f"the acknowledgement is for another message ({ack.code})")
            except SendError as error:
                entry.attempts += 1
                entry.next_try = now + backoff_s(entry.attempts)
                entry.detail = str(error)
                self.outbox.save()
                done.append(Sent(entry, "retry"))
                break
            if ack.code in ACCEPTED:
                entry.status, entry.detail = "delivered", ack.code
            elif ack.code in REFUSED:
                entry.status = "refused"
                entry.detail = f"{ack.code}: {ack.text}" if ack.text else ack.code
            else:
                entry.attempts += 1
                entry.next_try = now + backoff_s(entry.attempts)
                entry.detail = f"unknown acknowledgement code {ack.code!r}"
                self.outbox.save()
                done.append(Sent(entry, "retry"))
                break
            self.outbox.save()
            done.append(Sent(entry, "delivered" if entry.status == "delivered" else "refused"))
        return done

    def drain(self, retry_for_s: float, sleep: Callable[[float], None]) -> list[Sent]:
        """Run until nothing is pending or `retry_for_s` has passed, sleeping (injected) between."""
        deadline = self.clock() + retry_for_s
        done: list[Sent] = []
        while True:
            done.extend(self.run_once())
            due = self.next_due()
            if due is None or due > deadline:
                return done
            wait = due - self.clock()
            if wait > 0:
                sleep(wait)
