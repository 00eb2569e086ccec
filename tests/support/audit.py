"""Shared helpers for the audit tests: a fake clock, key files, log factories, re-chaining."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from titrator.audit import AuditWriter, SessionHead, canonical_json, generate_key_file, load_key
from titrator.audit.canonical import GENESIS, hashed_body, record_hash, record_mac, sealed_body
from titrator.domain.clock import Instant


class StepClock:
    """A deterministic clock: each reading is one second later on both clocks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
        self._calls = 0

    def now(self) -> Instant:
        self._calls += 1
        return Instant(
            wall_utc=self._start + timedelta(seconds=self._calls),
            mono_ms=1_000_000 + 1000 * self._calls,
        )


def make_key(directory: Path) -> tuple[Path, bytes]:
    """Create a 0600 key file in `directory` (created 0700) and return its path and bytes."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / "site.key"
    generate_key_file(path)
    return path, load_key(path)


@dataclass(frozen=True)
class RecordedLog:
    """A log written by the real writer for a test."""

    path: Path
    key_file: Path | None
    key: bytes | None
    head: SessionHead
    data: bytes

    @property
    def lines(self) -> list[bytes]:
        return self.data.splitlines(keepends=True)


def sample_events(n: int) -> list[dict[str, Any]]:
    """`n` plausible events with strings, Decimal-as-string rates, ints and nested data."""
    events: list[dict[str, Any]] = []
    for i in range(n):
        if i % 3 == 0:
            events.append({"kind": "vitals_recorded", "hr_bpm": 70 + i, "temp_c": "36.8"})
        elif i % 3 == 1:
            events.append(
                {"kind": "rate_changed", "rate_ml_per_h": f"{i}.5", "reason": "step ↑ – ok"}
            )
        else:
            events.append({"kind": "note", "text": "nurse typed: 4.8", "tags": ["a", {"b": i}]})
    return events


def write_log(
    base: Path,
    *,
    keyed: bool,
    n_events: int = 8,
    session_id: str = "s-0001",
    close: bool = True,
    sync: bool = False,
) -> RecordedLog:
    """Write a session log under `base/logs` (key under `base/keys`) and return it."""
    key_file: Path | None = None
    key: bytes | None = None
    if keyed:
        key_file, key = make_key(base / "keys")
    writer = AuditWriter.create(
        session_id,
        station_id="bay-3",
        nurse_id="rn-0042",
        data_dir=base / "logs",
        key_file=key_file,
        clock=StepClock(),
        min_free_bytes=0,
        sync_each_record=sync,
    )
    head = SessionHead(-1, GENESIS)
    for event in sample_events(n_events):
        head = writer.append(event)
    if close:
        head = writer.close()
    else:
        writer.release()
    return RecordedLog(writer.path, key_file, key, head, writer.path.read_bytes())


def rechain(
    lines: list[bytes],
    *,
    key: bytes | None = None,
    key_id: str | None = None,
    strip_mac: bool = False,
) -> list[bytes]:
    """Recompute every hash (and MAC, with `key`) as a forger would after editing records."""
    out: list[bytes] = []
    prev_hash, prev_mac = GENESIS, GENESIS
    for line in lines:
        record: dict[str, Any] = json.loads(line)
        record.pop("hash", None)
        record.pop("mac", None)
        if strip_mac:
            record.pop("prev_mac", None)
            record.pop("key_id", None)
        record["prev_hash"] = prev_hash
        if key is not None:
            record["prev_mac"] = prev_mac
            if key_id is not None:
                record["key_id"] = key_id
        body = sealed_body(record)
        if key is not None:
            record["mac"] = prev_mac = record_mac(key, body)
        record["hash"] = prev_hash = record_hash(hashed_body(record))
        out.append(canonical_json(record) + b"\n")
    return out


def edit_payload(line: bytes, **changes: Any) -> bytes:
    """Return `line` with payload fields changed (hashes left stale)."""
    record: dict[str, Any] = json.loads(line)
    record["payload"].update(changes)
    return canonical_json(record) + b"\n"


def file_mode(path: Path) -> int:
    """Permission bits of `path`."""
    return os.stat(path).st_mode & 0o777
