"""Session-level crash driver: `python -m tests.integration.audit.crash_session_child
OUT_DIR SEED RUNS`.

For each run it forks a child that plays a scripted session through `InfusionController` and
the real `AuditWriter` (the headless runner, a perfect pump). The child writes one line to a
pipe after every input the controller has recorded (`F`) and one before each pump command it
sends (`C kind rate`). The driver reads a random number of `F` lines, busy-waits a random few
microseconds (no sleep: this only spreads the kill point), SIGKILLs the child, drains the pipe,
resumes the session as the app would and checks it (`check_run`), and prints one JSON object per
run: the data directory, the script, the pump's real rate (that of the last command sent), what
the check counted, and the failure if any.
"""

from __future__ import annotations

import json
import os
import random
import select
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.integration.audit.harness import LoggedRun
from tests.support.forkkill import fork_and_kill
from titrator.audit import Outcome, verify_log
from titrator.audit.log_replay import replay_log
from titrator.cli.simulate import Runner
from titrator.domain.clock import Instant
from titrator.domain.decisions import LinkState, PromptKind, PumpCommand, PumpCommandKind
from titrator.domain.events import (
    InputEvent,
    PumpOutcomeUnknown,
    PumpStatusRead,
    RateChanged,
)
from titrator.shell.clocks import ManualClock
from titrator.shell.controller import raises_rate
from titrator.shell.resume import ResumeError, find_unfinished, resume_session

SESSION_ID = "crash"
SCRIPTS = {"uneventful": True, "fever-pause": True, "anaphylaxis": False}
"""Script name -> auto-accept."""
REPORT_DEADLINE_S = 30.0
INCREASES = (PumpCommandKind.START, PumpCommandKind.SET_RATE)


class ReportingRunner(Runner):
    """The headless runner, telling the driver what it recorded and sent."""

    report_fd = -1

    def feed(self, event: InputEvent, trigger: str) -> None:
        super().feed(event, trigger)
        os.write(self.report_fd, b"F\n")

    def send(self, commands: Sequence[PumpCommand], now: Instant) -> None:
        for command in commands:
            rate = command.rate_ml_per_h
            os.write(self.report_fd, f"C {command.kind.value} {rate}\n".encode())
            super().send([command], now)


def child(data_dir: Path, script: str, report_fd: int) -> None:
    """Play the session until killed (or to its end)."""
    ReportingRunner.report_fd = report_fd
    run = LoggedRun(
        data_dir, SESSION_ID, script, auto_accept=SCRIPTS[script], runner_cls=ReportingRunner
    )
    run.run()
    os.write(report_fd, b"E\n")
    while True:  # wait to be killed, like a program that keeps running after the session
        select.select([], [], [], 1.0)


def read_lines(fd: int, wanted: int) -> list[str]:
    """Read until `wanted` F lines (or the end), waiting at most `REPORT_DEADLINE_S`."""
    buffer = b""
    deadline = time.monotonic() + REPORT_DEADLINE_S
    while buffer.count(b"F\n") < wanted and b"E\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"child reported only {buffer.count(b'F')} inputs")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
    return buffer.decode().splitlines()


def pump_rate(lines: list[str]) -> str:
    """The pump's real rate: that of the last command sent (a perfect pump)."""
    rate = "0"
    for line in lines:
        if not line.startswith("C "):
            continue
        _, kind, value = line.split(" ")
        if kind in (PumpCommandKind.START.value, PumpCommandKind.SET_RATE.value):
            rate = value
        elif kind in (PumpCommandKind.STOP.value, PumpCommandKind.PAUSE.value):
            rate = "0"
    return rate


def run_once(data_dir: Path, rng: random.Random) -> dict[str, object]:
    """Fork one session, kill it at a random point, describe what it did."""
    script = rng.choice(sorted(SCRIPTS))
    run = fork_and_kill(
        lambda fd: child(data_dir, script, fd),
        lambda fd: read_lines(fd, rng.randrange(0, 45)),
        rng.randrange(0, 30_000),
    )
    lines = run.before + run.rest.decode().splitlines()
    killed, status = run.killed, run.status
    return {
        "dir": str(data_dir),
        "script": script,
        "inputs": sum(1 for line in lines if line == "F"),
        "sent": sum(1 for line in lines if line.startswith("C ")),
        "pump_rate": pump_rate(lines),
        "finished": "E" in lines,
        "killed": killed,
        "status": status,
    }


def check_run(run: dict[str, object], tally: Counter[str]) -> None:
    """Resume one killed session and check it against its log and its pump."""
    assert run["killed"], run
    data_dir = Path(str(run["dir"]))
    log = data_dir / f"{SESSION_ID}.jsonl"
    if not log.exists():
        assert run["inputs"] == 0, run
        tally["killed before the log existed"] += 1
        return
    result = verify_log(log)
    if result.outcome is Outcome.OK:  # the engine closed the session before the kill
        assert find_unfinished(data_dir) == []
        assert replay_log(log).equal
        tally["closed before the kill"] += 1
        return
    assert result.outcome in (Outcome.UNFINISHED, Outcome.TORN_TAIL), result.summary()
    tally[result.outcome.label] += 1
    [listed] = find_unfinished(data_dir)
    last_record = listed.last_record_utc
    assert last_record is not None
    clock = ManualClock(start=last_record + timedelta(minutes=3), mono_ms=1_000)
    try:
        resumed = resume_session(
            SESSION_ID,
            station_id="bay-r",
            nurse_id="rn-r",
            data_dir=data_dir,
            clock=clock,
            sync_each_record=False,
        )
    except ResumeError as error:
        problem = str(error)
    else:
        problem = ""
    if problem:
        assert "never opened" in problem, problem
        assert not listed.resumable
        tally["killed before session_opened"] += 1
        return
    assert listed.resumable
    rebuilt = resumed.reconstructed
    # The rebuilt state is the log's: the last rate recorded (or cut short) is the engine's.
    recorded = [e.event for e in rebuilt.replay.events] + list(rebuilt.unrecorded)
    rates = [e.to_ml_per_h for e in recorded if isinstance(e, RateChanged)]
    assert rebuilt.rate_ml_per_h == (rates[-1] if rates else Decimal(0))
    unknown_ids = {u.command.command_id for u in rebuilt.unknown_commands}
    abandoned = {
        e.command.command_id
        for e in resumed.applied.decision.events
        if isinstance(e, PumpOutcomeUnknown)
    }
    assert abandoned <= unknown_ids, "the engine abandons only commands without an outcome"
    tally["unknown outcomes"] += len(unknown_ids)
    tally["decisions cut short"] += bool(rebuilt.unrecorded)
    controller = resumed.controller
    assert controller.session.link is LinkState.UNCERTAIN
    sent = list(resumed.applied.commands)
    assert sent
    assert sent[0].kind is PumpCommandKind.READ_STATUS
    # The pump reports what it really does (the last command that reached it).
    pump = Decimal(str(run["pump_rate"]))
    reply = PumpStatusRead(at=clock.now(), running=pump > 0, rate_ml_per_h=pump)
    after = controller.feed(reply)
    sent += after.commands
    increases = [c for c in sent if c.kind in INCREASES or raises_rate(c, pump)]
    assert not increases, f"an increase went out after the resume: {increases}"
    prompt = controller.session.prompt
    assert prompt is None or prompt.kind not in (PromptKind.STEP_UP, PromptKind.RESUME)
    if pump != controller.session.rate_ml_per_h:
        assert "pump_rate_mismatch" in [a.value for a in after.decision.alarms]
        tally["pump differed from the log"] += 1
    resumed.writer.release()
    assert verify_log(log).outcome is Outcome.UNFINISHED
    assert replay_log(log).equal
    tally["resumed"] += 1


def main(argv: list[str]) -> int:
    """Run the harness; print one JSON line per run."""
    out_dir, seed, runs = Path(argv[0]), int(argv[1]), int(argv[2])
    rng = random.Random(seed)
    for i in range(runs):
        result = run_once(out_dir / f"run-{i:03d}", rng)
        tally: Counter[str] = Counter()
        try:
            check_run(result, tally)
        except Exception:  # reported to the test, which fails with it
            result["error"] = traceback.format_exc()
        result["tally"] = dict(tally)
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
