"""Finding, rebuilding and taking over unfinished sessions (shell/resume.py, cli/resume.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.audit.harness import NURSE, STATION, LoggedRun
from titrator.audit import AuditStateError, AuditWriter, Outcome, read_records, verify_log
from titrator.audit import unfinished as unfinished_module
from titrator.audit.reader import read_for_review
from titrator.cli import resume as resume_cli
from titrator.cli.resume import resume_main
from titrator.domain.decisions import LinkState, PumpCommandKind
from titrator.domain.events import PumpStatusRead
from titrator.shell.clocks import ManualClock, SystemClock
from titrator.shell.resume import (
    ResumeError,
    find_unfinished,
    reconstruct,
    resume_session,
)


def crashed(tmp_path: Path, session_id: str = "s1", lines: int = 6) -> LoggedRun:
    """A session whose program 'died' after `lines` script lines (log left unfinished)."""
    run = LoggedRun(tmp_path, session_id)
    run.run(lines, run_on=False)
    assert run.writer is not None
    run.writer.release()
    return run


def later(run: LoggedRun, minutes: int = 10) -> ManualClock:
    """A fresh process's clock, `minutes` after the run's last moment."""
    wall = run.runner.current().wall_utc + timedelta(minutes=minutes)
    return ManualClock(start=wall, mono_ms=3_000)


def test_find_unfinished_lists_intact_torn_and_damaged_logs_but_not_closed_ones(
    tmp_path: Path,
) -> None:
    crashed(tmp_path, "intact")
    torn = crashed(tmp_path, "torn")
    with torn.path.open("ab") as log:
        log.write(b'{"half a rec')
    damaged = crashed(tmp_path, "damaged")
    data = bytearray(damaged.path.read_bytes())
    data[300] ^= 1
    damaged.path.write_bytes(bytes(data))
    closed = LoggedRun(tmp_path, "closed")
    closed.run()
    assert closed.writer is not None
    assert closed.writer.closed, "the engine closed the session and its log"
    never = AuditWriter.create(
        "never", station_id="b", nurse_id="n", data_dir=tmp_path, clock=SystemClock()
    )
    never.release()
    found = {s.session_id: s for s in find_unfinished(tmp_path)}
    assert set(found) == {"intact", "torn", "damaged", "never"}
    assert found["intact"].resumable
    assert found["intact"].integrity_label == "intact"
    assert found["torn"].resumable
    assert found["torn"].integrity is Outcome.TORN_TAIL
    assert not found["damaged"].resumable
    assert found["damaged"].integrity_label == "DAMAGED"
    assert not found["never"].resumable, "a session never opened has nothing to resume"
    assert found["intact"].product == "Privigen (privigen)"
    assert found["intact"].nurse_id == NURSE
    assert found["intact"].last_record_utc is not None
    assert find_unfinished(tmp_path / "nowhere") == []


def test_closed_logs_are_recognised_by_their_last_line_and_not_verified_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting the app must not verify every log the ward ever closed (it grew with the
    history: 324 ms for 200 closed logs); only logs that do not end closed are read whole."""
    for n in range(3):
        closed = LoggedRun(tmp_path, f"closed-{n}")
        closed.run()
        assert closed.writer is not None
        assert closed.writer.closed
    crashed(tmp_path, "open")
    torn = crashed(tmp_path, "torn")
    with torn.path.open("ab") as log:
        log.write(b'{"kind":"session_closed"')  # a torn closing record does not close it
    verified: list[str] = []
    real = read_for_review

    def counting(path: Path, key: bytes | None = None) -> object:
        verified.append(path.name)
        return real(path, key=key)

    monkeypatch.setattr(unfinished_module, "read_for_review", counting)
    found = {s.session_id: s for s in find_unfinished(tmp_path)}
    assert set(found) == {"open", "torn"}
    assert found["torn"].integrity is Outcome.TORN_TAIL
    assert sorted(verified) == ["open.jsonl", "torn.jsonl"]


def test_reconstruct_gives_the_state_prompt_and_due_times(tmp_path: Path) -> None:
    run = crashed(tmp_path)
    rebuilt = reconstruct(run.path)
    assert rebuilt.session_id == "s1"
    assert rebuilt.step == run.session.step
    assert rebuilt.rate_ml_per_h == run.session.rate_ml_per_h
    assert rebuilt.prompt == run.session.prompt
    assert rebuilt.unknown_commands == ()
    assert rebuilt.due_utc, "countdowns as wall-clock times"
    assert any(line.startswith("session s1: running") for line in rebuilt.summary())


def test_a_command_without_an_outcome_is_listed_and_never_resent(tmp_path: Path) -> None:
    run = crashed(tmp_path)
    lines = run.path.read_bytes().splitlines(keepends=True)
    last_outcome = max(i for i, line in enumerate(lines) if b'"kind":"pump_outcome"' in line)
    run.path.write_bytes(b"".join(lines[:last_outcome]))  # died before the outcome
    rebuilt = reconstruct(run.path)
    [unknown] = rebuilt.unknown_commands
    assert unknown.intent_recorded
    assert unknown.command.kind in (PumpCommandKind.SET_RATE, PumpCommandKind.START)
    resumed = resume_session(
        "s1", station_id="bay-2", nurse_id="rn-2", data_dir=tmp_path, clock=later(run)
    )
    assert [c.kind for c in resumed.applied.commands] == [PumpCommandKind.READ_STATUS]
    kinds = [r.kind for r in read_records(run.path)]
    assert kinds[last_outcome:][:3] == ["log_resumed", "session_resumed", "clock_rebased"]
    assert "pump_outcome_unknown" in kinds
    resumed.writer.release()


def test_resume_session_takes_the_log_over_and_waits_for_the_status_read(
    tmp_path: Path,
) -> None:
    run = crashed(tmp_path)
    with run.path.open("ab") as log:
        log.write(b'{"torn')
    clock = later(run, minutes=7)
    resumed = resume_session(
        "s1", station_id="bay-2", nurse_id="rn-2", data_dir=tmp_path, clock=clock
    )
    controller = resumed.controller
    assert controller.session.link is LinkState.UNCERTAIN
    assert [c.kind for c in resumed.applied.commands] == [PumpCommandKind.READ_STATUS]
    assert resumed.applied.decision.due.step_up_ms is None or (
        resumed.applied.decision.due.step_up_ms >= clock.now().mono_ms
    )
    records = read_records(run.path)
    recovered = next(r for r in records if r.kind == "log_recovered")
    assert recovered.station_id == "bay-2"
    assert recovered.nurse_id == "rn-2"
    assert (tmp_path / "s1.jsonl.torn-1").read_bytes() == b'{"torn'
    rebased = next(r for r in records if r.kind == "clock_rebased")
    assert rebased.payload["downtime_ms"] == 7 * 60_000
    rate = controller.session.rate_ml_per_h
    status = controller.feed(PumpStatusRead(at=clock.now(), running=True, rate_ml_per_h=rate))
    assert not status.commands
    assert controller.session.link.value == "ok"
    resumed.writer.release()
    assert verify_log(run.path).outcome is Outcome.UNFINISHED
    again = reconstruct(run.path)
    assert again.replay.equal
    # A second take-over of the same log while the first still holds it is refused.
    taken = resume_session("s1", station_id=STATION, nurse_id=NURSE, data_dir=tmp_path)
    with pytest.raises(AuditStateError):
        resume_session("s1", station_id=STATION, nurse_id=NURSE, data_dir=tmp_path)
    taken.writer.release()


def test_damaged_closed_and_unopened_logs_are_never_resumed(tmp_path: Path) -> None:
    run = crashed(tmp_path)
    data = bytearray(run.path.read_bytes())
    data[700] ^= 4
    run.path.write_bytes(bytes(data))
    before = run.path.read_bytes()
    with pytest.raises(ResumeError, match="damaged"):
        resume_session("s1", station_id=STATION, nurse_id=NURSE, data_dir=tmp_path)
    assert run.path.read_bytes() == before, "nothing is written to a damaged log"
    never = AuditWriter.create(
        "never", station_id="b", nurse_id="n", data_dir=tmp_path, clock=SystemClock()
    )
    never.release()
    with pytest.raises(ResumeError, match="never opened"):
        reconstruct(never.path)
    never2 = AuditWriter.create(
        "closed", station_id="b", nurse_id="n", data_dir=tmp_path, clock=SystemClock()
    )
    never2.close(reason="done")
    with pytest.raises(ResumeError, match="closed"):
        reconstruct(never2.path)


def test_resume_list_and_show_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resume_main(["--list", "--data-dir", str(tmp_path)]) == 0
    assert "no unfinished sessions" in capsys.readouterr().out
    run = crashed(tmp_path)
    assert resume_main(["--list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["SESSION", "PATIENT", "PRODUCT"]
    assert out[1].startswith("s1 ")
    assert out[1].endswith("intact")
    assert resume_main(["--list", "--json", "--data-dir", str(tmp_path)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["resumable"] is True
    assert resume_main(["s1", "--show", "--data-dir", str(tmp_path)]) == 0
    assert "session s1: running" in capsys.readouterr().out
    data = bytearray(run.path.read_bytes())
    data[400] ^= 1
    run.path.write_bytes(bytes(data))
    assert resume_main(["--list", "--data-dir", str(tmp_path)]) == 1
    assert "DAMAGED" in capsys.readouterr().out
    assert resume_main(["s1", "--show", "--data-dir", str(tmp_path)]) == 1
    assert resume_main(["--data-dir", str(tmp_path)]) == 2
    opened: list[tuple[str, Path | None, str]] = []

    def open_app(args: object, session_id: str, key_file: Path | None) -> int:
        opened.append((session_id, key_file, str(getattr(args, "pump", ""))))
        return 0

    monkeypatch.setattr(resume_cli, "open_resumed", open_app)
    assert resume_main(["s1", "--data-dir", str(tmp_path), "--pump", "sim"]) == 0
    assert opened == [("s1", None, "sim")]
    assert resume_main(["--list", "--key-file", str(tmp_path / "nokey")]) == 2


def test_patient_identifiers_come_from_the_recorded_setup(tmp_path: Path) -> None:
    writer = AuditWriter.create(
        "p1", station_id="b", nurse_id="n", data_dir=tmp_path, clock=SystemClock()
    )
    opened = {
        "kind": "session_opened",
        "setup": {"patient_id_1": "MRN-77", "patient_id_2": "1950-02-03"},
        "plan": {"product_name": "Privigen", "product_id": "privigen", "indication_name": "PI"},
    }
    writer.append(opened)
    writer.release()
    [entry] = find_unfinished(tmp_path)
    assert entry.patient_ids == ("MRN-77", "1950-02-03")
    assert entry.indication == "PI"
