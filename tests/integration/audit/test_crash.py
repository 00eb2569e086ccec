"""Crash harness: writers SIGKILLed at random points lose no record whose `append` returned,
and their logs verify up to the tail and resume cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.audit.crash_child import SESSION_ID
from tests.support import paths as support_paths
from tests.support.audit import make_key
from titrator.audit import AuditRecord, AuditWriter, Outcome, read_records, verify_log
from titrator.shell.clocks import SystemClock

REPO_ROOT = support_paths.ROOT
DRIVERS = 4
RUNS_PER_DRIVER = 55  # 220 kills in total
SEED = 20250131


@pytest.mark.slow
def test_sigkilled_writers_lose_no_acknowledged_record(tmp_path: Path) -> None:
    key_file, key = make_key(tmp_path / "keys")
    drivers = []
    for d in range(DRIVERS):
        args = [str(tmp_path / f"driver-{d}"), str(SEED + d), str(RUNS_PER_DRIVER)]
        if d % 2:  # half the runs keyed
            args.append(str(key_file))
        drivers.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.integration.audit.crash_child", *args],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    runs: list[tuple[dict[str, object], bool]] = []
    for d, driver in enumerate(drivers):
        out, err = driver.communicate(timeout=120)
        assert driver.returncode == 0, err
        runs += [(json.loads(line), d % 2 == 1) for line in out.splitlines()]
    assert len(runs) == DRIVERS * RUNS_PER_DRIVER

    for run, keyed in runs:
        assert run["killed"], run
        data_dir = Path(str(run["dir"]))
        reported = int(str(run["reported"]))
        log = data_dir / f"{SESSION_ID}.jsonl"
        if not log.exists():
            assert reported == 0, run  # killed before the log was created
            continue
        run_key = key if keyed else None
        result = verify_log(log, key=run_key)
        assert result.outcome in (Outcome.UNFINISHED, Outcome.TORN_TAIL), result.summary()
        ticks = [r.payload["n"] for r in read_records_up_to(log, result.good_bytes)]
        # Every append that returned is there, in order, and nothing else but later ones.
        assert ticks[:reported] == list(range(reported)), run
        assert ticks == list(range(len(ticks)))

        writer = AuditWriter.resume(
            SESSION_ID,
            station_id="crash-bay",
            nurse_id="rn-crash",
            data_dir=data_dir,
            key_file=key_file if keyed else None,
            min_free_bytes=0,
            sync_each_record=False,
            clock=SystemClock(),
        )
        head = writer.close()
        assert verify_log(log, key=run_key, expect_head=head.hash).ok


def read_records_up_to(log: Path, good_bytes: int) -> list[AuditRecord]:
    """Read the tick records of the intact prefix of a log."""
    prefix = log.with_name("prefix.jsonl")
    prefix.write_bytes(log.read_bytes()[:good_bytes])
    records = [r for r in read_records(prefix) if r.kind == "tick"]
    prefix.unlink()
    return records
