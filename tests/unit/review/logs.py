"""Scenario names and ways to damage a log, shared by the unit, TUI and benchmark code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import paths as support_paths

SCENARIOS = ("completed", "fever", "anaphylaxis", "override", "stopped")
"""The scripts in tests/data/review (each closes its session)."""

FIXTURE_LOG = support_paths.DATA / "review" / "logs" / "fever.jsonl"
"""A committed log (fever scenario), for snapshots that show the head hash."""


def damage_line(src: Path, dst: Path, line: int) -> Path:
    """Copy `src` to `dst` with the user on line `line` changed to `rn-9999` (still valid JSON,
    still canonical: only the hash chain can tell)."""
    lines = src.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[line - 1])
    record["nurse_id"] = "rn-9999"
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines[line - 1] = text.encode() + b"\n"
    dst.write_bytes(b"".join(lines))
    return dst


def add_garbage(src: Path, dst: Path, after_line: int) -> Path:
    """Copy `src` to `dst` with a line that is not JSON inserted after `after_line`."""
    lines = src.read_bytes().splitlines(keepends=True)
    lines.insert(after_line, b"%% not a record %%\n")
    dst.write_bytes(b"".join(lines))
    return dst


def tear_tail(src: Path, dst: Path, keep_lines: int) -> Path:
    """Copy the first `keep_lines` lines and half of the next one (a torn write)."""
    lines = src.read_bytes().splitlines(keepends=True)
    nxt = lines[keep_lines]
    dst.write_bytes(b"".join(lines[:keep_lines]) + nxt[: len(nxt) // 2])
    return dst
