"""A probe script run in a fresh interpreter, as a new user's process: its own HOME and XDG
directories and data directory under a temporary folder, no inherited TITRATOR_ or XDG_ setting.
The probe prints one JSON object as its last line of output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_probe(script: str, home: Path, *argv: str) -> tuple[int, dict[str, object], str]:
    """Run `script` with `argv`; its exit code, its last line as JSON ({} if none), stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TITRATOR_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        TITRATOR_DATA_DIR=str(home / "sessions"),
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = result.stdout.splitlines()
    report: dict[str, object] = json.loads(lines[-1]) if lines else {}
    return result.returncode, report, result.stderr
