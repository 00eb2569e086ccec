"""`titrator simulate --audit-dir`: the log a live session would write, verifiable and private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.audit.harness import SCRIPTS, SIM_ARGS
from tests.support.audit import make_key
from titrator.audit import Outcome, read_audit, verify_log
from titrator.audit.log_replay import replay_log
from titrator.cli.audit import audit_main
from titrator.cli.simulate import simulate_main
from titrator.domain.events import AUDIT_EVENT_ADAPTER


def simulate(
    capsys: pytest.CaptureFixture[str], script: str, *extra: str
) -> tuple[int, str, dict[str, str]]:
    code = simulate_main([*SIM_ARGS, "--events", str(SCRIPTS / f"{script}.jsonl"), *extra])
    captured = capsys.readouterr()
    info = {}
    for line in captured.err.splitlines():
        name, _, value = line.partition(": ")
        info[name] = value
    return code, captured.out, info


def test_a_simulated_session_writes_a_log_that_verifies_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    code, out, info = simulate(capsys, "uneventful", "--auto-accept", "--audit-dir", str(logs))
    assert code == 0
    path = Path(info["audit log"])
    assert path == logs / "simulate-privigen.jsonl"
    head = info["head"]
    assert audit_main(["verify", str(path), "--expect-head", head]) == 0
    capsys.readouterr()
    assert replay_log(path).equal
    # Live-session records: intents before outcomes, pump outcomes recorded, attributed.
    entries = read_audit(path, AUDIT_EVENT_ADAPTER)
    kinds = [e.record.kind for e in entries]
    assert kinds[0] == "log_opened"
    assert kinds[-1] == "session_closed"
    assert kinds.index("pump_command") < kinds.index("pump_outcome")
    assert {e.record.station_id for e in entries} == {"headless"}
    assert {e.record.nurse_id for e in entries} == {"simulate"}
    # The printed decisions are the same with and without the log.
    _, plain_out, _ = simulate(capsys, "uneventful", "--auto-accept")
    assert out == plain_out


def test_logs_are_private_and_a_keyed_log_is_mac_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file, key = make_key(tmp_path / "keys")
    logs = tmp_path / "data" / "logs"
    code, _, info = simulate(
        capsys,
        "anaphylaxis",
        "--audit-dir",
        str(logs),
        "--key-file",
        str(key_file),
        "--station",
        "bay-9",
        "--nurse",
        "rn-7",
    )
    assert code == 0
    path = Path(info["audit log"])
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(logs).st_mode & 0o777 == 0o700
    result = verify_log(path, key=key, expect_head=info["head"])
    assert result.ok
    assert result.mac_checked
    # A session the script left unfinished is closed by the writer, so the log verifies.
    assert read_audit(path, AUDIT_EVENT_ADAPTER)[-1].record.payload["closed_by"] == "audit_writer"


def test_leave_open_leaves_a_resumable_log_and_a_second_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = str(tmp_path / "logs")
    code, _, info = simulate(capsys, "fever-pause", "--audit-dir", logs, "--leave-open")
    assert code == 0
    assert info["head"].endswith("(unfinished: resume it with titrator resume)")
    assert verify_log(info["audit log"]).outcome is Outcome.UNFINISHED
    code, _, info = simulate(capsys, "fever-pause", "--audit-dir", logs)
    assert code == 2
    assert "already exists" in info["--audit-dir"]
    code, _, info = simulate(capsys, "fever-pause", "--audit-dir", logs, "--session-id", "../x")
    assert code == 2
