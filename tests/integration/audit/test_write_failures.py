"""Audit write failures at every k-th write, through the controller and the real writer (R16):
no rate increase reaches the pump while the log cannot be written, and what was written
replays exactly."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.audit.harness import LoggedRun
from titrator.audit import AuditWriteError, FileOps, Outcome, verify_log
from titrator.audit.log_replay import replay_log
from titrator.cli.simulate import Runner
from titrator.domain.clock import Instant
from titrator.domain.decisions import PumpCommand
from titrator.shell.controller import raises_rate

BURSTS = (1, 3, 8)
"""How many consecutive writes fail, cycled over k."""


class FailingOps(FileOps):
    """Writes number `first` .. `first + count - 1` fail with ENOSPC."""

    def __init__(self, first: int, count: int) -> None:
        self.first = first
        self.count = count
        self.calls = 0

    def write(self, fd: int, data: bytes) -> int:
        self.calls += 1
        if self.first <= self.calls < self.first + self.count:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(fd, data)


class WatchedPump(Runner):
    """The perfect pump, checking every command that reaches it."""

    sent: list[tuple[PumpCommand, bool]]

    def send(self, commands: Sequence[PumpCommand], now: Instant) -> None:
        for command in commands:
            audit = self.controller.audit
            healthy = audit is not None and audit.healthy
            increase = raises_rate(command, self.pump_rate_ml_per_h)
            assert healthy or not increase, f"increase {command} sent while the log fails"
            self.sent.append((command, increase))
            super().send([command], now)


def run_with_failures(tmp_path: Path, script: str, first: int, count: int) -> dict[str, int]:
    ops = FailingOps(first, count)
    run = LoggedRun(tmp_path / f"{script}-{first}", "s", script, ops=ops, runner_cls=WatchedPump)
    runner = run.runner
    assert isinstance(runner, WatchedPump)
    runner.sent = []
    run.run()
    writer = run.writer
    assert writer is not None
    for _ in range(count + 1):  # the disk has room again after the burst
        if writer.healthy:
            break
        with contextlib.suppress(AuditWriteError):
            writer.retry()
    assert writer.healthy
    if not writer.closed:
        writer.release()
    outcome = verify_log(run.path).outcome
    assert outcome in (Outcome.OK, Outcome.UNFINISHED)
    replayed = replay_log(run.path)
    assert replayed.equal, replayed.summary()
    kinds = [e.event.kind for e in replayed.events]
    failed = kinds.count("audit_health") > 0
    return {
        "writes": ops.calls,
        "failed": int(failed),
        "increases": sum(1 for _, increase in runner.sent if increase),
        "withheld": sum(
            1 for e in replayed.events if getattr(e.event, "detail", "").startswith("not sent")
        ),
    }


@pytest.mark.parametrize(("script", "step"), [("uneventful", 1), ("fever-pause", 3)])
def test_no_increase_reaches_the_pump_while_the_log_fails(
    tmp_path: Path, script: str, step: int
) -> None:
    clean = run_with_failures(tmp_path / "clean", script, 10_000, 0)
    assert clean["failed"] == 0
    assert clean["increases"] >= 2
    withheld = failed = runs = 0
    for first in range(2, clean["writes"] + 1, step):
        runs += 1
        counts = run_with_failures(tmp_path, script, first, BURSTS[first % len(BURSTS)])
        failed += counts["failed"]
        withheld += counts["withheld"]
    # Every failure is reported to the engine, except one that hits the closing record
    # (nothing follows it) or the very last records.
    assert failed >= runs * 0.9, (failed, runs)
    assert withheld > 0, "some increases were held back"


def test_a_failing_first_write_never_starts_the_session(tmp_path: Path) -> None:
    run = LoggedRun(tmp_path, "s", ops=FailingOps(1, 1))
    with pytest.raises(AuditWriteError):
        run.run()
    assert run.session.rate_ml_per_h == Decimal(0)
