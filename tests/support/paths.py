"""Where the repository and the test data are, wherever a test module lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""

DATA = ROOT / "tests" / "data"
"""Checked-in test data: simulate scripts, the audit corpus, review logs, bad training files."""
