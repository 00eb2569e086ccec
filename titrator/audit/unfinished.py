"""Finding unfinished session logs: every log in a directory without a closing record.

Each is described from its own records (patient identifiers and product from `session_opened`,
the last record's time, user and station) and its verification. Only an intact or torn-tail log
of a session that was opened may be resumed; a damaged or unreadable one is listed, never
resumed. A log whose last line is a whole `session_closed` record is closed and not read
further (its chain is checked where it is read: review, export, verify, ship).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from titrator.audit.keys import load_key
from titrator.audit.paths import LOG_SUFFIX, default_data_dir
from titrator.audit.reader import read_for_review
from titrator.audit.record import CLOSE_KIND
from titrator.audit.verify import Outcome

PathArg = str | os.PathLike[str]
RESUMABLE = frozenset({Outcome.UNFINISHED, Outcome.TORN_TAIL})
"""Verification outcomes of a log that may be taken over."""
INTEGRITY = {
    Outcome.UNFINISHED: "intact",
    Outcome.TORN_TAIL: "torn tail",
    Outcome.DAMAGED: "DAMAGED",
    Outcome.ERROR: "unreadable",
}


@dataclass(frozen=True)
class UnfinishedSession:
    """A session log without a closing record.

    Attributes:
        session_id: the session (and the log's name).
        path: the log.
        integrity: `UNFINISHED` (intact), `TORN_TAIL`, `DAMAGED` or `ERROR` (unreadable).
        reason: the verifier's sentence.
        records: number of intact records.
        patient_ids: the two patient identifiers from `session_opened`'s setup, if recorded.
        product: product name and id from the plan, if the session was opened.
        indication: indication name, if the session was opened.
        nurse_id: user on the last readable record.
        station_id: workstation on the last readable record.
        last_record_utc: time of the last intact record.
        opened: whether a `session_opened` record was found.
    """

    session_id: str
    path: Path
    integrity: Outcome
    reason: str
    records: int
    patient_ids: tuple[str, str] | None = None
    product: str | None = None
    indication: str | None = None
    nurse_id: str | None = None
    station_id: str | None = None
    last_record_utc: datetime | None = None
    opened: bool = False

    @property
    def resumable(self) -> bool:
        """Only an intact or torn-tail log of an opened session may be resumed."""
        return self.integrity in RESUMABLE and self.opened

    @property
    def integrity_label(self) -> str:
        """intact, torn tail, DAMAGED or unreadable."""
        return INTEGRITY.get(self.integrity, self.integrity.label)


_TAIL_BYTES = 65536
"""How much of a log's end is read to see whether its last record closes it."""


def _ends_closed(path: Path) -> bool:
    """True when the log's last line is a whole `session_closed` record.

    A closed log is not listed, so its chain is not verified here: the app starts without
    reading every log the ward has ever written (200 closed logs cost 324 ms at each start).
    Its integrity is checked where it is read: review, export, verify, ship.
    """
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        start = max(0, size - _TAIL_BYTES)
        stream.seek(start)
        tail = stream.read()
    if not tail.endswith(b"\n"):
        return False
    lines = tail[:-1].rsplit(b"\n", 1)
    if len(lines) == 1 and start > 0:
        return False  # a last line longer than the tail read: verify it the long way
    try:
        record = json.loads(lines[-1])
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("kind") == CLOSE_KIND


def _describe(path: Path, key: bytes | None) -> UnfinishedSession | None:
    if _ends_closed(path):
        return None
    read = read_for_review(path, key=key)
    result = read.verification
    if result.outcome is Outcome.OK or result.closed:
        return None
    vouched = [record for _, record in read.records][: result.records]
    readable = vouched or [record for _, record in read.records]
    opened = next((r for r in readable if r.kind == "session_opened"), None)
    patient: tuple[str, str] | None = None
    product = indication = None
    if opened is not None:
        setup = opened.payload.get("setup") or {}
        if setup.get("patient_id_1"):
            patient = (str(setup["patient_id_1"]), str(setup.get("patient_id_2", "")))
        plan = opened.payload.get("plan") or {}
        product = f"{plan.get('product_name', '?')} ({plan.get('product_id', '?')})"
        indication = plan.get("indication_name")
    last = readable[-1] if readable else None
    session_id = result.session_id or path.name.removesuffix(LOG_SUFFIX)
    return UnfinishedSession(
        session_id=session_id,
        path=path,
        integrity=result.outcome,
        reason=result.reason,
        records=result.records,
        patient_ids=patient,
        product=product,
        indication=indication,
        nurse_id=last.nurse_id if last else None,
        station_id=last.station_id if last else None,
        last_record_utc=vouched[-1].timestamp if vouched else None,
        opened=opened is not None and bool(vouched) and opened in vouched,
    )


def find_unfinished(
    data_dir: PathArg | None = None, *, key_file: PathArg | None = None
) -> list[UnfinishedSession]:
    """List the session logs in `data_dir` that were never closed, newest first.

    Args:
        data_dir: the log directory (default `default_data_dir()`).
        key_file: the site key, to check MACs while listing.

    Returns:
        One entry per unfinished log, damaged and unreadable ones included (never resumable).

    Raises:
        AuditKeyError: the key file is unsafe or unreadable.
        OSError: the directory cannot be listed.
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    key = load_key(key_file) if key_file is not None else None
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob(f"*{LOG_SUFFIX}")):
        if not path.is_file():
            continue
        try:
            entry = _describe(path, key)
        except OSError as error:
            entry = UnfinishedSession(
                path.name.removesuffix(LOG_SUFFIX), path, Outcome.ERROR, str(error), 0
            )
        if entry is not None:
            found.append(entry)
    oldest = datetime.min.replace(tzinfo=UTC)
    found.sort(key=lambda e: e.last_record_utc or oldest, reverse=True)
    return found
