"""Issue 16 item 2: `titrator send --mllp` to a real MLLP listener started from hl7apy.

The listener is `hl7apy.mllp.MLLPServer`: it parses every message it receives with hl7apy's
own parser, strictly, as HL7 2.6, validates it, and answers with an HL7 ACK (AA, or AE for the
messages it is told to refuse). The tests check the command's outcome, the refusal kept in the
outbox, the outbox after a refused connection (0600, pending, surviving a restart) and the
backoff, driven by an injected clock (nothing sleeps).
"""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

from simulator.wire import frame_reply
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import damage_line
from titrator.cli.send import build_parser, send_logs, send_main
from titrator.interop.hl7v2.feed import Endpoint, Feed, Outbox
from titrator.interop.hl7v2.pcd10 import to_hl7v2_messages
from titrator.review.model import load_review

ORU_R42 = "ORU^R42^ORU_R01"
ORU_R40 = "ORU^R40^ORU_R01"


@dataclass
class Received:
    """What the listener saw: every message (validated) and which control ids to refuse."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    invalid: list[str] = field(default_factory=list)


def _ack(incoming: Message, code: str, text: str) -> str:
    ack = Message("ACK", version="2.6", validation_level=VALIDATION_LEVEL.STRICT)
    ack.msh.msh_3 = "TEST-DOC"
    ack.msh.msh_9 = f"ACK^{incoming.msh.msh_9.msh_9_2.to_er7()}^ACK"
    ack.msh.msh_10 = "ack-" + incoming.msh.msh_10.to_er7()
    ack.msh.msh_11 = incoming.msh.msh_11.to_er7()
    ack.msh.msh_12 = "2.6"
    ack.msa.msa_1 = code
    ack.msa.msa_2 = incoming.msh.msh_10.to_er7()
    if text:
        err = ack.add_segment("ERR")
        err.err_3 = "207^Application internal error^HL70357"
        err.err_4 = "E"
        err.err_8 = text
    return "\x0b" + str(ack.to_er7()) + "\x1c\x0d"


class PCD10Handler(AbstractHandler):  # type: ignore[misc]
    """hl7apy's handler for ORU^R42 and ORU^R40: strict parse and validation, then AA or AE."""

    def __init__(self, message: str, received: Received) -> None:
        super().__init__(message)
        self.received = received

    def reply(self) -> str:
        try:
            parsed = parse_message(
                self.incoming_message,
                validation_level=VALIDATION_LEVEL.STRICT,
                find_groups=True,
            )
            assert parsed.version == "2.6"
            parsed.validate()
        except Exception as error:  # a message the library rejects: refuse it, loudly
            self.received.invalid.append(f"{type(error).__name__}: {error}")
            return _ack(parse_message(self.incoming_message), "AR", "not valid HL7 2.6")
        self.received.messages.append(parsed)
        control = parsed.msh.msh_10.to_er7()
        if control in self.received.refuse:
            return _ack(parsed, "AE", "unknown patient")
        return _ack(parsed, "AA", "")


@pytest.fixture
def listener() -> Iterator[tuple[Endpoint, Received]]:
    """A live hl7apy MLLP listener on a free local port."""
    received = Received()
    handlers = {ORU_R42: (PCD10Handler, received), ORU_R40: (PCD10Handler, received)}
    server = MLLPServer("127.0.0.1", 0, handlers, timeout=5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Endpoint("127.0.0.1", server.server_address[1]), received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A closed demo session (fever: start, rate changes, pause, resume, completion)."""
    return build_log(tmp_path, LogSpec(session_id="s-feed", script="fever", training=True))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeClock:
    """Seconds that move only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_demo_session_is_acknowledged_by_an_independent_listener(
    listener: tuple[Endpoint, Received],
    log: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, received = listener
    outbox = tmp_path / "out" / "outbox.json"
    outbox.parent.mkdir()
    code = send_main([str(log), "--mllp", str(endpoint), "--outbox", str(outbox)])
    out = capsys.readouterr().out
    expected = to_hl7v2_messages(load_review(log))
    assert code == 0, out
    assert received.invalid == []
    assert len(received.messages) == len(expected) == 8
    assert [m.to_er7() + "\r" for m in received.messages] == expected  # in order, unchanged
    assert {m.msh.msh_11.to_er7() for m in received.messages} == {"T"}  # a demo log
    assert out.count("delivered ") == 8
    assert "8 delivered, 0 refused, 0 waiting" in out
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
    assert {e.status for e in Outbox.load(outbox).entries} == {"delivered"}

    again = send_main([str(log), "--mllp", str(endpoint), "--outbox", str(outbox), "--json"])
    assert again == 0
    assert len(received.messages) == 8  # nothing sent twice
    assert '"queued": 0' in capsys.readouterr().out


def test_pump_alarms_and_the_order_reach_the_listener(
    listener: tuple[Endpoint, Received], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stall the pump reported goes out as PCD-04 alerts, in time order with the PCD-10
    events, each with the order (OBR-2) and the pump (OBX-18), all acknowledged."""
    endpoint, received = listener
    wire = [
        {"kind": "pump_wire", "direction": "rx", "data_hex": frame_reply(text, safe=True).hex(" "),
         "monotonic_ms": ms, "requester": "keepalive", "reason": "poll", "command": command}
        for text, ms, command in (("00SNE1000V3.928", 85_000, "VER"), ("00A?S", 86_000, ""),
                                  ("00S", 87_000, ""))
    ]  # fmt: skip
    spec = LogSpec(session_id="s-alarm", script="stopped", order_id="ORD-1", early_records=(*wire,))
    log = build_log(tmp_path, spec)
    outbox = tmp_path / "outbox.json"
    code = send_main([str(log), "--mllp", str(endpoint), "--outbox", str(outbox)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert received.invalid == []
    kinds = [m.msh.msh_9.to_er7() for m in received.messages]
    assert kinds == [ORU_R40, ORU_R40, *[ORU_R42] * (len(kinds) - 2)]
    assert "delivered alarm stall start" in out
    for message in received.messages:
        er7 = message.to_er7()
        assert "|ORD-1^^urn:titrator:site:order-id^URI|" in er7  # OBR-2
        assert "bay-3/NE1000/3.928^NE1000^syringepump.com^DNS" in er7  # OBX-18
    stops = [m.to_er7() for m in received.messages if "MDC_EVT_PUMP_DELIV_STOP^MDC|" in m.to_er7()]
    assert stops
    assert all("MDC_VOL_FLUID_DELIV_TOTAL" in s for s in stops)


def test_an_ae_is_reported_and_kept_in_the_outbox(
    listener: tuple[Endpoint, Received],
    log: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, received = listener
    outbox = tmp_path / "outbox.json"
    third = parse_message(to_hl7v2_messages(load_review(log))[2].strip("\r"))
    received.refuse.add(third.msh.msh_10.to_er7())
    code = send_main([str(log), "--mllp", str(endpoint), "--outbox", str(outbox)])
    out = capsys.readouterr().out
    assert code == 1
    assert "REFUSED AE: unknown patient — kept in the outbox" in out
    assert "7 delivered, 1 refused, 0 waiting" in out
    entries = Outbox.load(outbox).entries
    assert [e.status for e in entries].count("refused") == 1
    refused = next(e for e in entries if e.status == "refused")
    assert (refused.control_id, refused.detail) == (
        third.msh.msh_10.to_er7(),
        "AE: unknown patient",
    )
    assert len(received.messages) == 8  # the messages after the refused one still went

    received.refuse.clear()
    assert send_main(["--mllp", str(endpoint), "--outbox", str(outbox)]) == 1
    assert len(received.messages) == 8  # a refused message is not resent on its own


def test_a_refused_connection_leaves_a_private_outbox_that_survives_a_restart(
    listener: tuple[Endpoint, Received],
    log: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, received = listener
    outbox = tmp_path / "outbox.json"
    dead = f"127.0.0.1:{_closed_port()}"
    code = send_main([str(log), "--mllp", dead, "--outbox", str(outbox), "--retry-for", "0"])
    out = capsys.readouterr().out
    assert code == 1
    assert "waiting: Connection refused" in out
    assert "8 queued; outbox" in out
    assert "0 delivered, 0 refused, 8 waiting" in out
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
    entries = Outbox.load(outbox).entries
    assert [e.status for e in entries] == ["pending"] * 8
    assert (entries[0].attempts, entries[1].attempts) == (1, 0)  # in order: none sent past it
    assert received.messages == []

    # A later run (a new process: only the file carries over) sends the outbox alone.
    code = send_main(["--mllp", str(endpoint), "--outbox", str(outbox)])
    assert code == 0
    assert len(received.messages) == 8
    sent_ids = [m.msh.msh_10.to_er7() for m in received.messages]
    assert sent_ids == [e.control_id for e in entries]


def test_retries_back_off_on_the_injected_clock(log: Path, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.json")
    messages = to_hl7v2_messages(load_review(log))
    outbox.add([(str(i), "s-feed", "event", m) for i, m in enumerate(messages)])
    clock = FakeClock()
    feed = Feed(outbox, Endpoint("127.0.0.1", _closed_port()), clock=clock.time, timeout_s=2)
    sent = feed.drain(60, clock.sleep)
    assert clock.sleeps == [5, 10, 20]  # tries at 0, 5, 15, 35; the next (75) is past 60
    assert [s.outcome for s in sent] == ["retry"] * 4
    reloaded = Outbox.load(tmp_path / "outbox.json")
    assert reloaded.entries[0].attempts == 4
    assert reloaded.entries[0].next_try == 1000 + 35 + 40


def test_a_listener_that_closes_without_an_ack_is_retried(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """hl7apy's server closes the connection for a message type it has no handler for."""
    server = MLLPServer("127.0.0.1", 0, {}, timeout=5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        clock = FakeClock()
        args = build_parser().parse_args(
            [
                str(log),
                "--mllp",
                f"127.0.0.1:{server.server_address[1]}",
                "--outbox",
                str(tmp_path / "o.json"),
                "--retry-for",
                "5",
            ]
        )
        code = send_logs(args, clock=clock.time, sleep=clock.sleep)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert code == 1
    assert clock.sleeps == [5]
    assert "closed before an acknowledgement" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("nohost", "must be HOST:PORT"),
        ("host:", "the port must be a whole number from 1 to 65535"),
        (":2575", "must be HOST:PORT"),
        ("host:0", "the port must be a whole number from 1 to 65535"),
        ("host:99999", "the port must be a whole number from 1 to 65535"),
        ("host:25x5", "the port must be a whole number from 1 to 65535"),
        ("ho st:2575", "the host is not a host name or address"),
    ],
)
def test_a_bad_host_port_is_one_line_exit_2(
    text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert send_main(["--mllp", text]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"titrator send: error: --mllp: {reason} (got {text!r})\n"


def test_a_missing_log_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    args = [str(missing), "--mllp", "127.0.0.1:2575", "--outbox", str(tmp_path / "o.json")]
    assert send_main(args) == 2
    err = capsys.readouterr().err
    assert err == f"titrator send: error: LOG: no such file or folder (got {str(missing)!r})\n"
    assert not (tmp_path / "o.json").exists()


def test_a_damaged_log_is_refused_and_nothing_of_it_queued(
    listener: tuple[Endpoint, Received],
    log: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, received = listener
    damaged = damage_line(log, tmp_path / "damaged.jsonl", 20)
    outbox = tmp_path / "outbox.json"
    assert send_main([str(damaged), "--mllp", str(endpoint), "--outbox", str(outbox)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"titrator send: {damaged}: DAMAGED, nothing queued: ")
    assert captured.err.count("\n") == 1
    assert "0 queued" in captured.out
    assert Outbox.load(outbox).entries == []
    assert received.messages == []
