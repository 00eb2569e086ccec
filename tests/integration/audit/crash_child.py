"""Crash-harness driver: `python -m tests.integration.audit.crash_child OUT_DIR SEED RUNS [KEY]`.

It imports the writer once, then for each run forks a child that creates a session log and
appends records in a loop, writing one byte to a pipe after every `append` that returned. The
driver reads a random number of those bytes, busy-waits a random few microseconds (no sleep:
this only varies where the kill lands), SIGKILLs the child, drains the pipe, and finally prints
one JSON object per run: the run's data directory and how many appends were reported.
The driver is single-threaded, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import random
import select
import sys
import time
from pathlib import Path

from tests.support.forkkill import fork_and_kill
from titrator.audit import AuditWriter
from titrator.shell.clocks import SystemClock

SESSION_ID = "crash"
MAX_APPENDS = 10_000
REPORT_DEADLINE_S = 30.0


def child(data_dir: Path, key_file: Path | None, report_fd: int) -> None:
    """Append records until killed, reporting each append that returned."""
    writer = AuditWriter.create(
        SESSION_ID,
        station_id="crash-bay",
        nurse_id="rn-crash",
        data_dir=data_dir,
        key_file=key_file,
        min_free_bytes=0,
        clock=SystemClock(),
    )
    for n in range(MAX_APPENDS):
        writer.append({"kind": "tick", "n": n, "note": "x" * (n % 97)})
        os.write(report_fd, b"+")


def read_reports(fd: int, wanted: int) -> int:
    """Read up to `wanted` report bytes, waiting at most `REPORT_DEADLINE_S`."""
    got = 0
    deadline = time.monotonic() + REPORT_DEADLINE_S
    while got < wanted:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"child reported only {got} of {wanted} appends")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, wanted - got)
            if not chunk:
                break  # the child died on its own; the test will report why
            got += len(chunk)
    return got


def run_once(data_dir: Path, key_file: Path | None, rng: random.Random) -> dict[str, object]:
    """Fork one writer, kill it at a random point, and describe what it reported."""
    run = fork_and_kill(
        lambda fd: child(data_dir, key_file, fd),
        lambda fd: read_reports(fd, rng.randrange(0, 40)),
        rng.randrange(0, 20_000),
    )
    reported, killed, status = run.before + len(run.rest), run.killed, run.status
    return {"dir": str(data_dir), "reported": reported, "killed": killed, "status": status}


def main(argv: list[str]) -> int:
    """Run the harness; print one JSON line per run."""
    out_dir, seed, runs = Path(argv[0]), int(argv[1]), int(argv[2])
    key_file = Path(argv[3]) if len(argv) > 3 else None
    rng = random.Random(seed)
    for i in range(runs):
        result = run_once(out_dir / f"run-{i:03d}", key_file, rng)
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
