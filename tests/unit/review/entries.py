"""Timeline entries made up for a test: a real entry's record with another event or payload.

A `TimelineEntry` keeps no payload or event (issue 17): it reads its line again from the log.
An entry made up for a test reads a line built here instead: the template's stored record with
the kind and payload replaced, encoded as the writer encodes it (the chain is not recomputed:
nothing reads a made-up line's hash).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from titrator.audit.canonical import canonical_json
from titrator.domain.events import AuditEvent
from titrator.review.timeline import TimelineEntry


@dataclasses.dataclass(frozen=True)
class OneLine:
    """A line source holding one made-up line, whatever line number it is asked for."""

    raw: bytes

    def line(self, number: int) -> bytes:
        return self.raw


def entry_with(
    template: TimelineEntry,
    *,
    event: AuditEvent | None = None,
    payload: dict[str, Any] | None = None,
    **changes: Any,
) -> TimelineEntry:
    """`template` with its record's payload replaced by `event` (its kind too) or `payload`,
    and any other entry field changed (`at`, `seq`, ...)."""
    stored = json.loads(template.lines.line(template.line))
    if event is not None:
        body = event.model_dump(mode="json")
        stored["kind"] = body.pop("kind")
        stored["payload"] = body
        changes.setdefault("kind", stored["kind"])
    if payload is not None:
        stored["payload"] = payload
    raw = canonical_json(stored) + b"\n"
    return dataclasses.replace(template, lines=OneLine(raw), **changes)
