"""Benchmark of the session engine: simulated 6-hour infusions, vitals every 15 minutes.

Prints the engine's throughput in input events per second and, as a baseline measured in the
same run, the throughput of only validating and dumping the same audit events (JSON round trip
through the pydantic TypeAdapter). The ratio says how much the engine's logic costs on top of
the unavoidable serialisation of what it records.

Usage: .venv/bin/python bench/engine.py [--sessions N]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from decimal import Decimal

from titrator.domain.clock import Instant
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AuditEvent, PumpOutcome
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import PlanRequest
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession
from titrator.files.library import load_library
from titrator.files.policy import load_policy

VITALS = {
    "temp_c": "36.9",
    "hr_bpm": "78",
    "sbp_mmhg": "120",
    "dbp_mmhg": "76",
    "rr_bpm": "16",
    "spo2_pct": "98",
}
START = Instant(wall_utc=datetime(2026, 1, 5, 8, tzinfo=UTC), mono_ms=86_400_000)


def one_session(session: InfusionSession) -> tuple[int, list[AuditEvent]]:
    """Run one 6-hour session; returns (inputs fed, events recorded)."""
    inputs = 0
    events: list[AuditEvent] = []

    def feed(decision: Decision, now: Instant) -> None:
        nonlocal inputs
        inputs += 1
        events.extend(decision.events)
        for command in decision.commands:
            outcome = PumpOutcome(
                at=now,
                command_id=command.command_id,
                outcome="confirmed",
                reported_rate_ml_per_h=command.rate_ml_per_h,
            )
            feed(session.handle(outcome), now)
        prompt = session.prompt
        if prompt is not None and prompt.accept and prompt.kind.value != "start":
            feed(session.accept(now), now)

    t0 = START.after_ms(-15 * 60_000)
    feed(session.open(t0), t0)
    feed(session.record_vitals(VITALS, t0), t0)
    feed(session.accept(START), START)
    for minute in range(0, 6 * 60 + 1):
        now = START.after_ms(minute * 60_000)
        feed(session.tick(now), now)
        if minute % 15 == 0:
            feed(session.record_vitals(VITALS, now), now)
    return inputs, events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    policy = load_policy().policy
    product = load_library().product("privigen")
    request = PlanRequest(
        product_id="privigen",
        indication_id="cidp",
        weight_kg=Decimal(70),
        dose_g_per_kg=Decimal(1),
    )
    plan = build_plan(request, product)

    started = time.perf_counter()
    total_inputs = 0
    recorded: list[AuditEvent] = []
    for index in range(args.sessions):
        inputs, events = one_session(InfusionSession(plan, policy, f"bench-{index}"))
        total_inputs += inputs
        recorded.extend(events)
    engine_s = time.perf_counter() - started

    started = time.perf_counter()
    for event in recorded:
        AUDIT_EVENT_ADAPTER.validate_json(AUDIT_EVENT_ADAPTER.dump_json(event))
    baseline_s = time.perf_counter() - started

    engine_rate = total_inputs / engine_s
    baseline_rate = len(recorded) / baseline_s
    print(
        f"plan: {plan.product_name} {plan.indication_id}, {plan.total_volume_ml} mL, "
        f"{len(plan.steps)} steps; {args.sessions} sessions of 6 h, vitals every 15 min"
    )
    print(
        f"engine:   {total_inputs} inputs ({len(recorded)} events recorded) in {engine_s:.3f} s "
        f"= {engine_rate:,.0f} inputs/s"
    )
    print(
        f"baseline: JSON round trip of the same {len(recorded)} events in {baseline_s:.3f} s "
        f"= {baseline_rate:,.0f} events/s"
    )
    print(f"ratio: engine time / baseline time = {engine_s / baseline_s:.2f}")


if __name__ == "__main__":
    main()
