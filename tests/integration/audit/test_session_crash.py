"""Session-level crash harness: sessions SIGKILLed at random points resume consistently, their
logs verify up to the torn tail, and no increase is ever sent again after a resume (R12).

Each driver process kills its sessions and checks every resume itself (`check_run`), so the
checks run in parallel; this test gathers the drivers' reports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support import paths as support_paths

REPO_ROOT = support_paths.ROOT
DRIVERS = 4
RUNS_PER_DRIVER = 26  # 104 kills in total
SEED = 20260105


@pytest.mark.slow
def test_killed_sessions_resume_consistently_and_never_resend_an_increase(
    tmp_path: Path,
) -> None:
    drivers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.audit.crash_session_child",
                str(tmp_path / f"driver-{d}"),
                str(SEED + d),
                str(RUNS_PER_DRIVER),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in range(DRIVERS)
    ]
    runs: list[dict[str, object]] = []
    for driver in drivers:
        out, err = driver.communicate(timeout=120)
        assert driver.returncode == 0, err
        runs += [json.loads(line) for line in out.splitlines()]
    assert len(runs) == DRIVERS * RUNS_PER_DRIVER
    errors = [run["error"] for run in runs if "error" in run]
    assert not errors, errors[0]
    tally: Counter[str] = Counter()
    for run in runs:
        counts = run["tally"]
        assert isinstance(counts, dict)
        tally.update(counts)
    print(f"\nsession crash harness: {len(runs)} kills: {dict(sorted(tally.items()))}")
    assert tally["resumed"] >= len(runs) // 2
    assert tally["torn-tail"] + tally["unfinished"] >= tally["resumed"]
