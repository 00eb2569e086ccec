"""Is a log a training session (`titrator demo`, `titrator train`)? Read from the log itself.

A log is training when any of these is in it:

- `session_opened.training` is true (every demo and training log since the field exists);
- the setup's raw fields carry ``training = "true"`` (training scenarios, older logs);
- a record's station id starts with ``TRAINING-`` (training scenarios, older logs);
- a `training_scenario` record (training scenarios, older logs).

A log with none of them is not training: an older log without the field reads as a real one
unless its older marks say otherwise. Nothing outside the log (its folder, its file name, the
demo's pre-filled patient) is taken as a mark: a copied file keeps what it says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

TRAINING_STATION_PREFIX: Final = "TRAINING-"
"""The station id prefix training scenarios stamp on every record."""
TRAINING_SCENARIO_KIND: Final = "training_scenario"
"""The record kind a training scenario writes after `session_opened`."""
TRAINING_MARK: Final = "TRAINING"
"""The word every view and export shows for a training log."""


def training_marks(records: Iterable[tuple[str, str, dict[str, Any]]]) -> tuple[str, ...]:
    """The training marks found in a log, in words (empty: not a training log).

    Args:
        records: (kind, station id, payload) of every readable record, in file order.
    """
    marks: list[str] = []

    def add(mark: str) -> None:
        if mark not in marks:
            marks.append(mark)

    for kind, station_id, payload in records:
        if kind == "session_opened":
            if payload.get("training") is True:
                add("session_opened.training is true")
            setup = payload.get("setup")
            raw = setup.get("raw") if isinstance(setup, dict) else None
            if isinstance(raw, dict) and raw.get("training") == "true":
                add("the setup is marked training")
        if station_id.startswith(TRAINING_STATION_PREFIX):
            add(f"station {station_id}")
        if kind == TRAINING_SCENARIO_KIND:
            add(f"training scenario {payload.get('scenario_id', '?')}")
    return tuple(marks)
