"""Re-record a session log under another session, station, time or with one payload changed.

The records are written again by the real `AuditWriter` (keyed when a key file is given), so
the new log's chain is intact: it is a log a workstation could have written. Used by the ward
report tests (a pump outcome the headless runner never produces) and by `bench/ward.py` (a
hospital year from a few recorded sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from titrator.audit import AuditWriter, read_records
from titrator.shell.clocks import ManualClock

Change = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Given a record kind and its payload, the payload to write instead."""


def _shifted(value: Any, shift: timedelta) -> Any:
    """`value` with every `wall_utc` and `given_at` time moved by `shift`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in ("wall_utc", "given_at") and isinstance(item, str):
                when = datetime.fromisoformat(item.replace("Z", "+00:00")) + shift
                out[key] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                out[key] = _shifted(item, shift)
        return out
    if isinstance(value, list):
        return [_shifted(item, shift) for item in value]
    return value


def relog(
    src: Path,
    data_dir: Path,
    session_id: str,
    *,
    station_id: str | None = None,
    key_file: Path | None = None,
    shift: timedelta = timedelta(0),
    change: Change | None = None,
    patient: str | None = None,
    nurse_id: str | None = None,
) -> Path:
    """Write `src` again as `<data_dir>/<session_id>.jsonl` and return the new log.

    Args:
        src: a closed or unfinished log.
        data_dir: where the new log goes.
        session_id: the new session id.
        station_id: the new station (default: the same).
        key_file: the site key to chain with (None: hash only).
        shift: how far to move every time.
        change: rewrites payloads (applied after the shift).
        patient: a new first patient identifier in the setup.
        nurse_id: the nurse on every record (default: as recorded).
    """
    records = read_records(src)
    first = records[0]
    writer = AuditWriter.create(
        session_id,
        station_id=station_id or first.station_id,
        nurse_id=nurse_id or first.nurse_id,
        data_dir=data_dir,
        key_file=key_file,
        sync_each_record=False,
        clock=ManualClock(first.timestamp + shift, first.mono_ms),
    )
    current = first.nurse_id
    for record in records[1:]:
        payload: dict[str, Any] = _shifted(dict(record.payload), shift)
        if record.kind == "session_opened":
            payload["session_id"] = session_id
            setup = payload.get("setup")
            if patient is not None and isinstance(setup, dict):
                payload["setup"] = {**setup, "patient_id_1": patient}
        if change is not None:
            payload = change(record.kind, payload)
        if nurse_id is None and record.nurse_id != current:
            writer.set_nurse(record.nurse_id)
            current = record.nurse_id
        event = {"kind": record.kind, **payload}
        if record.kind == "session_closed":
            writer.close(event, now=record.timestamp + shift, mono_ms=record.mono_ms)
        else:
            writer.append(event, now=record.timestamp + shift, mono_ms=record.mono_ms)
    if not writer.closed:
        writer.release()
    return data_dir / f"{session_id}.jsonl"
