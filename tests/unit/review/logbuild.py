"""Building realistic audit logs for the review tests and the benchmark.

A script in the `titrator simulate` format (docs/admin/simulate.md: one JSON object per line with
`t_min` and one input) is played by the headless runner (`titrator.shell.headless.Runner`, as
`titrator simulate --audit-dir` plays it) into a real `AuditWriter`, exactly as the app records a
session: every input goes through the controller, the pump is perfect (every command confirmed
at once), and the engine's `session_closed` closes the log. With `auto_accept` every acceptable
prompt is accepted. Unlike `simulate`, the session opens with a setup (nurse, patient
identifiers, lot), as in the app.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support import clinical
from tests.support import paths as support_paths
from titrator.audit.writer import AuditWriter
from titrator.domain.clock import MS_PER_MIN, Clock, Instant
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.domain.policy import Policy
from titrator.domain.session.engine import InfusionSession
from titrator.domain.setup import InfusionSetup
from titrator.files.library import Library
from titrator.shell.controller import InfusionController
from titrator.shell.headless import Runner
from titrator.shell.opening import Opening
from titrator.shell.script import ORIGIN_MONO_MS, ScriptLine, parse_script

REVIEW_SCRIPTS = support_paths.DATA / "review"
"""Scripts made for the review tests: completed, fever, anaphylaxis, override, stopped."""
ORIGIN_MS = ORIGIN_MONO_MS
"""Monotonic reading at t_min = 0."""
SCRIPT_AUTO_ACCEPT = {"completed": True, "fever": True}
"""Scripts written for auto-accept (the others accept explicitly)."""


def policy() -> Policy:
    """The shipped reaction policy (loaded once per process)."""
    return clinical.POLICY


def library() -> Library:
    """The shipped product library (loaded once per process)."""
    return clinical.library()


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
    training: bool = False
    """Record it as a demo or training session (`session_opened.training`)."""
    order_id: str | None = None
    """The order number typed at setup (None: none entered)."""
    early_records: tuple[dict[str, Any], ...] = ()
    """Records the app writes beside the engine's (a `pump_wire` trace), right after the log
    opens, as the app records the pump's start-up exchange."""


def _parsed(spec: LogSpec) -> Iterator[ScriptLine]:
    """The script's lines, validated as `titrator simulate` validates them."""
    if "\n" in spec.script:
        text = spec.script
    else:
        text = (REVIEW_SCRIPTS / f"{spec.script}.jsonl").read_text(encoding="utf-8")
    return parse_script(io.StringIO(text), policy())


def script_lines(spec: LogSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """(monotonic ms, input) for every line of the script."""
    for line in _parsed(spec):
        yield line.t_ms, {key: value for key, value in line.data.items() if key != "t_min"}


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


def _setup(spec: LogSpec, plan: Plan) -> InfusionSetup:
    """The setup form as the spec's nurse filled it in."""
    return InfusionSetup(
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
        order_id=spec.order_id,
    )


def build_log(
    data_dir: str | os.PathLike[str],
    spec: LogSpec,
    *,
    key_file: str | os.PathLike[str] | None = None,
    sync: bool = False,
) -> Path:
    """Record one scripted session into `<data_dir>/<session_id>.jsonl` and return the path."""
    plan = make_plan(spec)
    controller = InfusionController(InfusionSession(plan, policy(), spec.session_id), None)
    start = Instant(
        wall_utc=datetime.fromisoformat(spec.start_utc).astimezone(UTC), mono_ms=ORIGIN_MS
    )
    auto = spec.auto_accept
    if auto is None:
        auto = SCRIPT_AUTO_ACCEPT.get(spec.script, False)
    runner = Runner(controller, start, auto_accept=auto)
    writers: list[AuditWriter] = []

    def open_log(clock: Clock) -> AuditWriter:
        writer = AuditWriter.create(
            spec.session_id,
            station_id=spec.station_id,
            nurse_id=spec.nurse_id,
            data_dir=data_dir,
            key_file=key_file,
            sync_each_record=sync,
            clock=clock,
        )
        writers.append(writer)
        for record in spec.early_records:
            writer.append(dict(record))
        return writer

    lines: Iterator[ScriptLine] = _parsed(spec)
    if spec.until_min is not None:
        until_ms = ORIGIN_MS + spec.until_min * MS_PER_MIN
        lines = itertools.takewhile(lambda line: line.t_ms <= until_ms, lines)
    runner.run(
        lines,
        Opening(setup=_setup(spec, plan), training=spec.training),
        open_log,
        run_on=spec.until_min is None,
    )
    for writer in writers:
        if not writer.closed:
            writer.release()
    return Path(data_dir) / f"{spec.session_id}.jsonl"
