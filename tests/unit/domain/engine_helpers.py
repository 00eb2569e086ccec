"""Shared builders for the session-engine tests: hand-made plans, instants, a started session."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import Instant
from titrator.domain.decisions import Decision
from titrator.domain.perfect_pump import PerfectPump
from titrator.domain.plan_model import CapKind, Plan, PlanRequest, PlanStep, RateCap
from titrator.domain.policy import Policy
from titrator.domain.session.engine import InfusionSession
from titrator.domain.units import Concentration
from titrator.files.policy import load_policy

POLICY: Policy = load_policy().policy
T0 = Instant(wall_utc=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), mono_ms=50_000_000)
NORMAL = {
    "temp_c": "36.8",
    "hr_bpm": "76",
    "sbp_mmhg": "122",
    "dbp_mmhg": "78",
    "rr_bpm": "16",
    "spo2_pct": "98",
}


def at(minutes: float | int | Decimal) -> Instant:
    """The instant `minutes` after T0 on both clocks."""
    return T0.after_ms(int(Decimal(str(minutes)) * 60_000))


def make_plan(
    rates: tuple[str, ...] = ("35", "70", "140", "280"),
    dwell_min: str = "30",
    total_volume_ml: str = "350",
    max_rate_ml_per_h: str | None = None,
    first_infusion: bool = False,
) -> Plan:
    """A 70 kg, 10 % plan with the given pump rates (mL/h) and equal dwells."""
    weight = Decimal(70)
    conc = Concentration(Decimal(100))
    steps = []
    start = Decimal(0)
    for number, text in enumerate(rates, start=1):
        rate = Decimal(text)
        steps.append(
            PlanStep(
                number=number,
                rate_ml_per_h=rate,
                rate_mg_per_kg_min=rate * conc.mg_per_ml / (weight * 60),
                rate_ml_per_kg_min=rate / (weight * 60),
                start_min=start,
                duration_min=Decimal(dwell_min),
                min_dwell_min=Decimal(dwell_min),
                volume_ml=rate * Decimal(dwell_min) / 60,
            )
        )
        start += Decimal(dwell_min)
    max_rate = Decimal(max_rate_ml_per_h) if max_rate_ml_per_h else Decimal(rates[-1])
    return Plan(
        request=PlanRequest(
            product_id="test-10",
            indication_id="pi",
            weight_kg=weight,
            dose_g_per_kg=Decimal("0.5"),
            first_infusion=first_infusion,
        ),
        product_id="test-10",
        product_name="Test IVIG 10%",
        indication_id="pi",
        indication_name="Primary immunodeficiency",
        library_version="test",
        ladder_source="label",
        concentration=conc,
        dosing_weight_kg=weight,
        total_dose_g=Decimal(35),
        total_volume_ml=Decimal(total_volume_ml),
        caps=(RateCap(kind=CapKind.LABEL_MAX, rate_ml_per_h=max_rate, description="label max"),),
        max_rate_ml_per_h=max_rate,
        steps=tuple(steps),
        estimated_duration_min=Decimal(120),
    )


class Driver:
    """Drives the engine itself (no shell, no audit log) through the simple paths.

    The test says when each input happens; the perfect pump answers every command of the
    decision at once. The shell's `titrator.shell.headless.Runner` is the driver one level up
    (controller, audit log, simulated time); the domain tests do not import the shell.
    """

    def __init__(self, plan: Plan | None = None, policy: Policy | None = None) -> None:
        self.session = InfusionSession(plan or make_plan(), policy or POLICY, "test-session")
        self.pump = PerfectPump()
        self.log: list[Decision] = []

    def feed(self, decision: Decision, confirm: bool = True) -> Decision:
        """Log `decision` and, with `confirm`, feed the pump's reply to each of its commands."""
        self.log.append(decision)
        if confirm:
            for command in decision.commands:
                reply = self.pump.reply(command, decision.events[0].at)
                self.log.append(self.session.handle(reply))
        return decision

    def to_baseline(self, t: float = -20) -> Decision:
        self.feed(self.session.open(at(t - 5)))
        return self.feed(self.session.answer_checklist(all_confirmed(), at(t - 4)))

    def start(self, t: float = 0, vitals_t: float = -10) -> Decision:
        self.to_baseline(vitals_t)
        self.feed(self.session.record_vitals(NORMAL, at(vitals_t)))
        self.feed(self.session.record_symptoms([], at(vitals_t)))
        return self.feed(self.session.accept(at(t)))

    def vitals(self, t: float, **changes: str) -> Decision:
        return self.feed(self.session.record_vitals({**NORMAL, **changes}, at(t)))

    def tick(self, t: float) -> Decision:
        return self.feed(self.session.tick(at(t)))

    def accept(self, t: float) -> Decision:
        return self.feed(self.session.accept(at(t)))
