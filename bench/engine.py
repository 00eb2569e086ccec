"""Benchmark of the session engine: simulated 6-hour infusions, vitals every 15 minutes.

Prints, separately, the engine's inputs per second (every call fed to the session: opening,
vitals, ticks, accepts, pump outcomes) and audit events per second (what those calls recorded),
and, as a baseline interleaved with it round by round, only validating and dumping the same
audit events (JSON round trip through the pydantic TypeAdapter). One warm-up round first; then
`--rounds` paired rounds, min / median / max of each figure, and the ratio of engine time to
serialisation time per round: how much the engine's logic costs on top of the unavoidable
serialisation of what it records.

Usage: .venv/bin/python -m bench.engine [--sessions N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from bench.paired import paired, report
from titrator.domain.clock import Instant
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AuditEvent, PumpOutcome
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.domain.policy import Policy
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


def per_second(count: int, seconds: list[float]) -> str:
    """min / median / max of `count` per each of `seconds`, as whole numbers."""
    rates = sorted(count / s for s in seconds)
    return f"{rates[0]:,.0f} / {statistics.median(rates):,.0f} / {rates[-1]:,.0f}"


def run_sessions(plan: Plan, policy: Policy, sessions: int) -> tuple[int, list[AuditEvent]]:
    """Run `sessions` sessions; returns (inputs fed, events recorded)."""
    total_inputs = 0
    recorded: list[AuditEvent] = []
    for index in range(sessions):
        inputs, events = one_session(InfusionSession(plan, policy, f"bench-{index}"))
        total_inputs += inputs
        recorded.extend(events)
    return total_inputs, recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="sessions per round")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (at least 5)")
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

    # Warm-up (imports, pydantic's lazy validators, caches), and the events the baseline
    # serialises: the same ones every round records (the sessions are deterministic).
    run_sessions(plan, policy, 1)
    inputs, recorded = run_sessions(plan, policy, args.sessions)
    for event in recorded[:50]:
        AUDIT_EVENT_ADAPTER.validate_json(AUDIT_EVENT_ADAPTER.dump_json(event))

    def engine() -> float:
        started = time.perf_counter()
        got_inputs, got_events = run_sessions(plan, policy, args.sessions)
        elapsed = time.perf_counter() - started
        assert (got_inputs, len(got_events)) == (inputs, len(recorded))
        return elapsed

    def baseline() -> float:
        started = time.perf_counter()
        for event in recorded:
            AUDIT_EVENT_ADAPTER.validate_json(AUDIT_EVENT_ADAPTER.dump_json(event))
        return time.perf_counter() - started

    base_s, engine_s, ratio = paired(baseline, engine, args.rounds)
    print(
        f"plan: {plan.product_name} {plan.indication_id}, {plan.total_volume_ml} mL, "
        f"{len(plan.steps)} steps; {args.sessions} sessions of 6 h per round, vitals every "
        f"15 min: {inputs} inputs, {len(recorded)} audit events per round; {args.rounds} rounds"
    )
    print(f"engine inputs/s        min/median/max: {per_second(inputs, engine_s)}")
    print(f"engine audit events/s  min/median/max: {per_second(len(recorded), engine_s)}")
    print(f"baseline JSON events/s min/median/max: {per_second(len(recorded), base_s)}")
    report(
        "time per round, s (baseline JSON round trip, candidate engine)",
        "s",
        base_s,
        engine_s,
        ratio,
    )


if __name__ == "__main__":
    main()
