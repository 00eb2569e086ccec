"""The simulator's control channel needs the token it printed at start (any local user can reach
a loopback port): without it a request is refused in one line, not carried out, and the
connection is closed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator import Simulator
from simulator.control import REFUSED, ControlServer, send_control

TIMEOUT_S = 5.0


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.start_tcp()
        yield simulator


def _lines(control: ControlServer, *lines: bytes) -> list[bytes]:
    """Send raw request lines on one connection; return every answer line until it closes."""
    with socket.create_connection((control.host, control.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(b"".join(lines))
        sock.shutdown(socket.SHUT_WR)
        with sock.makefile("rb") as stream:
            return stream.readlines()


def _refused(answer: bytes) -> bool:
    refusal: object = json.loads(answer)
    return refusal == {"ok": False, "error": REFUSED}


@pytest.mark.parametrize(
    "line",
    [
        b'{"op": "fault", "kind": "no_reply"}\n',
        b'{"op": "fault", "kind": "no_reply", "token": ""}\n',
        b'{"op": "fault", "kind": "no_reply", "token": 12345}\n',
        b'{"op": "fault", "kind": "no_reply", "token": "\\u00e9\\ud800"}\n',
        b"not json\n",
        b'["op", "fault"]\n',
    ],
)
def test_a_request_without_the_token_is_refused_and_not_carried_out(
    sim: Simulator, line: bytes
) -> None:
    control = sim.start_control()
    answers = _lines(control, line, b'{"op": "state"}\n')
    assert len(answers) == 1, "one refusal line, then the connection is closed"
    assert _refused(answers[0])
    assert sim.faults.armed() == []


def test_a_wrong_token_of_the_right_length_is_refused(sim: Simulator) -> None:
    control = sim.start_control()
    wrong = ("A" if control.token[0] != "A" else "B") + control.token[1:]
    answer = send_control(
        control.host, control.port, {"op": "fault", "kind": "no_reply"}, token=wrong
    )
    assert answer == {"ok": False, "error": REFUSED}
    assert sim.faults.armed() == []


def test_with_the_token_every_request_on_a_connection_is_served(sim: Simulator) -> None:
    control = sim.start_control()
    ok = json.dumps({"token": control.token, "op": "fault", "kind": "no_reply"}).encode()
    answers = _lines(control, ok + b"\n", ok + b"\n", b'{"op": "faults"}\n')
    assert [json.loads(a) for a in answers[:2]] == [{"ok": True}, {"ok": True}]
    assert _refused(answers[2]), "the token is needed on every request, not only the first"
    assert [f.kind.value for f in sim.faults.armed()] == ["no_reply", "no_reply"]


@pytest.fixture(scope="module")
def channel() -> Iterator[ControlServer]:
    control = ControlServer()
    control.start()
    yield control
    control.stop()


def test_each_channel_makes_its_own_random_token() -> None:
    tokens = set()
    for _ in range(20):
        control = ControlServer()
        control.start()
        control.stop()
        tokens.add(control.token)
    assert len(tokens) == 20
    assert all(len(token) >= 32 for token in tokens)


@given(given_token=st.one_of(st.text(max_size=64), st.integers(), st.none(), st.binary()))
def test_nothing_but_the_token_is_authorised(channel: ControlServer, given_token: Any) -> None:
    assert channel.authorised({"op": "state", "token": channel.token})
    if given_token != channel.token:
        assert not channel.authorised({"op": "state", "token": given_token})


def test_the_console_simulator_prints_the_token_and_requires_it() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "simulator", "--tcp", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            banner = [proc.stdout.readline().split() for _ in range(3)]  # waits for each line
            assert [words[0] for words in banner] == ["PUMP", "CONTROL", "CONTROL_TOKEN"]
            host, port = banner[1][1].rsplit(":", 1)
            token = banner[2][1]
            state = send_control(host, int(port), {"op": "state"}, token=token)
            refused = send_control(host, int(port), {"op": "state"}, token="")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert state["ok"] is True
    assert state["prompt"] == "S"
    assert refused == {"ok": False, "error": REFUSED}
