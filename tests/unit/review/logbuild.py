"""Building realistic audit logs for the review tests and the benchmark.

A script in the `titrator simulate` format (docs/admin/simulate.md: one JSON object per line with
`t_min` and one input) is driven through the real `InfusionController` into a real
`AuditWriter`, exactly as the app records a session: every decision's events are appended and
the engine's `session_closed` closes the log. The pump is perfect (every command confirmed at
once); with `auto_accept` every acceptable prompt is accepted. Only committed, stable APIs are
used (session, controller, writer), not the headless runner, which is still changing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from titrator.audit.writer import AuditWriter
from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import MS_PER_MIN, Instant
from titrator.domain.decisions import (
    Choice,
    OverrideReason,
    PromptKind,
    PumpCommandKind,
    SessionState,
)
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    LotRecorded,
    NurseDecided,
    PumpOutcome,
    PumpStatusRead,
    SessionOpened,
    StopRequested,
    SymptomsEntered,
    Tick,
    VitalsEntered,
)
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.domain.policy import Policy
from titrator.domain.session.engine import InfusionSession
from titrator.domain.setup import InfusionSetup
from titrator.files.library import Library, load_library
from titrator.files.policy import load_policy
from titrator.shell.clocks import ManualClock
from titrator.shell.controller import InfusionController

REVIEW_SCRIPTS = Path(__file__).resolve().parents[2] / "data" / "review"
"""Scripts made for the review tests: completed, fever, anaphylaxis, override, stopped."""
ORIGIN_MS = 24 * 60 * MS_PER_MIN
"""Monotonic reading at t_min = 0."""
SCRIPT_AUTO_ACCEPT = {"completed": True, "fever": True}
"""Scripts written for auto-accept (the others accept explicitly)."""


@cache
def policy() -> Policy:
    """The shipped reaction policy (loaded once per process)."""
    return load_policy().policy


@cache
def library() -> Library:
    """The shipped product library (loaded once per process)."""
    return load_library([])


@dataclass
class LogSpec:
    """What to record: the script, the patient, the product and who gives it."""

    session_id: str
    script: str = "completed"
    """A script name in tests/data/review, or the script text itself (contains a newline)."""
    product_id: str = "privigen"
    indication_id: str = "pi"
    weight_kg: str = "70"
    dose_g_per_kg: str = "0.4"
    first_infusion: bool = False
    patient_ids: tuple[str, str] = ("MRN-0001", "1970-01-01")
    nurse_id: str = "rn-0042"
    station_id: str = "bay-3"
    lot: str = "P100234"
    start_utc: str = "2026-01-05T08:00:00+00:00"
    auto_accept: bool | None = None
    """None: as the script was written (SCRIPT_AUTO_ACCEPT)."""
    until_min: int | None = None
    """Stop recording after this minute of the script: the log is left unfinished."""


def script_lines(spec: LogSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """(minutes, input) for every line of the script."""
    if "\n" in spec.script:
        text = spec.script
    else:
        text = (REVIEW_SCRIPTS / f"{spec.script}.jsonl").read_text(encoding="utf-8")
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            data = json.loads(stripped, parse_float=Decimal)
            yield int(Decimal(data.pop("t_min")) * MS_PER_MIN) + ORIGIN_MS, data


class _DeferredClose:
    """The writer, with the closing record held until the decision's other events are in.

    Some engine versions emit `session_closed` before the `prompt_shown`/`state_changed` of the
    same decision; holding the close to the end of the decision keeps every event and keeps
    `session_closed` the log's last record either way.
    """

    def __init__(self, writer: AuditWriter) -> None:
        self.writer = writer
        self.closing: tuple[Any, datetime | None, float | None] | None = None

    def append(self, event: Any, *, now: datetime | None = None, mono: float | None = None) -> Any:
        return self.writer.append(event, now=now, mono=mono)

    def retry(self) -> None:
        self.writer.retry()

    def close(
        self, event: Any = None, *, now: datetime | None = None, mono: float | None = None
    ) -> Any:
        self.closing = (event, now, mono)
        return None

    @property
    def healthy(self) -> bool:
        return self.writer.healthy

    def finish(self) -> None:
        if self.closing is not None:
            event, now, mono = self.closing
            self.closing = None
            self.writer.close(event, now=now, mono=mono)


class _Driver:
    """Feeds script inputs, ticks and perfect-pump outcomes through the controller."""

    def __init__(self, controller: InfusionController, sink: _DeferredClose, start: datetime):
        self.controller = controller
        self.session = controller.session
        self.sink = sink
        self.start = start
        self.auto_accept = False
        self.now_ms = ORIGIN_MS

    def at(self, t_ms: int) -> Instant:
        return Instant(wall_utc=self.start + timedelta(milliseconds=t_ms - ORIGIN_MS), mono_ms=t_ms)

    @property
    def ended(self) -> bool:
        return self.sink.writer.closed

    def feed(self, event: InputEvent) -> None:
        if self.ended:
            return
        applied = self.controller.feed(event)
        self.sink.finish()
        now = event.at
        for command in applied.commands:
            if command.kind is PumpCommandKind.READ_STATUS:
                rate = self.session.rate_ml_per_h
                self.feed(PumpStatusRead(at=now, running=rate > 0, rate_ml_per_h=rate))
            else:
                self.feed(
                    PumpOutcome(
                        at=now,
                        command_id=command.command_id,
                        outcome="confirmed",
                        reported_rate_ml_per_h=command.rate_ml_per_h,
                    )
                )
        prompt = self.session.prompt
        if (
            self.auto_accept
            and not self.ended
            and prompt is not None
            and prompt.accept
            and (prompt.kind is not PromptKind.START or now.mono_ms >= ORIGIN_MS)
        ):
            self.feed(NurseDecided(at=now, choice=Choice.ACCEPT))

    def advance(self, until_ms: int, inclusive: bool) -> None:
        for _ in range(10_000):
            due = sorted(
                t
                for t in [*self.session.upcoming_ms(), ORIGIN_MS]
                if self.now_ms < t and (t <= until_ms if inclusive else t < until_ms)
            )
            if not due or self.ended:
                break
            self.now_ms = due[0]
            self.feed(Tick(at=self.at(due[0])))
        self.now_ms = max(self.now_ms, until_ms)

    def run(self, t_ms: int, data: dict[str, Any]) -> None:
        self.advance(t_ms, inclusive=False)
        now = self.at(t_ms)
        if "vitals" in data:
            raw = {k: str(v) for k, v in data["vitals"].items()}
            self.feed(VitalsEntered(at=now, raw=raw))
        elif "symptoms" in data:
            self.feed(
                SymptomsEntered(
                    at=now, symptoms=tuple(data["symptoms"]), other=data.get("other", "")
                )
            )
        elif "decision" in data and data["decision"] == "accept":
            self.feed(NurseDecided(at=now, choice=Choice.ACCEPT))
        elif "decision" in data:
            code, _, rest = str(data["reason"]).partition(":")
            note = " ".join(p for p in (rest.strip(), data.get("note", "")) if p)
            reason = OverrideReason(code.strip())
            self.feed(NurseDecided(at=now, choice=Choice.OVERRIDE, reason=reason, note=note))
        elif "lot" in data:
            self.feed(LotRecorded(at=now, lot=data["lot"]))
        else:
            self.feed(StopRequested(at=now, reason=data["stop"]))

    def finish(self) -> None:
        limit = self.now_ms + 48 * 60 * MS_PER_MIN
        while self.session.state not in (SessionState.CLOSED, SessionState.ABORTED):
            due = [t for t in self.session.upcoming_ms() if self.now_ms < t <= limit]
            if not due or self.ended:
                break
            self.advance(due[0], inclusive=True)


def make_plan(spec: LogSpec) -> Plan:
    """The plan the spec's patient gets."""
    request = PlanRequest(
        product_id=spec.product_id,
        indication_id=spec.indication_id,
        weight_kg=Decimal(spec.weight_kg),
        dose_g_per_kg=Decimal(spec.dose_g_per_kg),
        first_infusion=spec.first_infusion,
    )
    return build_plan(request, library().product(spec.product_id))


def build_log(
    data_dir: str | os.PathLike[str],
    spec: LogSpec,
    *,
    key_file: str | os.PathLike[str] | None = None,
    sync: bool = False,
) -> Path:
    """Record one scripted session into `<data_dir>/<session_id>.jsonl` and return the path."""
    plan = make_plan(spec)
    lines = list(script_lines(spec))
    start = datetime.fromisoformat(spec.start_utc).astimezone(UTC)
    open_ms = min(lines[0][0], ORIGIN_MS) if lines else ORIGIN_MS
    opened_wall = start + timedelta(milliseconds=open_ms - ORIGIN_MS)
    writer = AuditWriter.create(
        spec.session_id,
        station_id=spec.station_id,
        nurse_id=spec.nurse_id,
        data_dir=data_dir,
        key_file=key_file,
        sync_each_record=sync,
        clock=ManualClock(opened_wall, open_ms),
    )
    sink = _DeferredClose(writer)
    controller = InfusionController(InfusionSession(plan, policy(), spec.session_id), sink)
    driver = _Driver(controller, sink, start)
    driver.now_ms = open_ms
    opened = driver.at(open_ms)
    setup = InfusionSetup(
        nurse_id=spec.nurse_id,
        patient_id_1=spec.patient_ids[0],
        patient_id_2=spec.patient_ids[1],
        lot=spec.lot,
        plan_request=plan.request,
        last_infusion=None,
        last_product_id=None,
        first_infusion_reasons=("treatment-naive (no previous infusion)",)
        if spec.first_infusion
        else (),
        risk_factors=(),
        raw={"patient_id_1": spec.patient_ids[0], "lot": spec.lot},
    )
    driver.feed(
        SessionOpened(
            at=opened, session_id=spec.session_id, plan=plan, policy=policy(), setup=setup
        )
    )
    driver.feed(ChecklistAnswered(at=opened, answers=tuple(all_confirmed())))
    auto = spec.auto_accept
    driver.auto_accept = SCRIPT_AUTO_ACCEPT.get(spec.script, False) if auto is None else auto
    for t_ms, data in lines:
        if spec.until_min is not None and t_ms > ORIGIN_MS + spec.until_min * MS_PER_MIN:
            break
        driver.run(t_ms, data)
    if spec.until_min is None:
        driver.finish()
    if not writer.closed:
        writer.release()
    return Path(data_dir) / f"{spec.session_id}.jsonl"
