"""Issue 13 item 5: observation follows what happened, and is closed early only with a reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.support.clinical import POLICY
from tests.support.plans import at, make_plan
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.decisions import OverrideReason, PromptKind
from titrator.domain.decisions import SessionState as S
from titrator.domain.events import InputRefused, OverrideRecorded, VitalsDue
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import PlanRequest
from titrator.domain.session.decision import Decision
from titrator.files.library import load_product_file


def _running() -> Driver:
    d = Driver(make_plan(rates=("35", "70"), total_volume_ml="350"))
    d.start()
    return d


def _refusal(decision: Decision) -> InputRefused:
    return next(e for e in decision.events if isinstance(e, InputRefused))


def test_the_policy_cites_its_observation_after_a_reaction() -> None:
    after = POLICY.observation_after_reaction
    assert after is not None
    assert (after.after_moderate_min, after.after_emergency_stop_min) == (Decimal(60), Decimal(120))
    assert "RCUK2021" in after.sources
    assert all(tag in POLICY.sources for tag in after.sources)


def test_after_an_emergency_stop_observation_lasts_at_least_120_min() -> None:
    d = _running()
    r = d.vitals(20, spo2_pct="90")
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.REACTION
    d.accept(21)  # stop
    r = d.accept(22)  # stopped: begin observation
    assert r.state is S.OBSERVATION
    assert r.due.observation_end_ms == at(22 + 120).mono_ms
    assert r.prompt is not None
    assert "at least 120 min, after an emergency stop" in r.prompt.text


def test_after_a_moderate_reaction_observation_lasts_at_least_60_min() -> None:
    d = _running()
    r = d.vitals(20, temp_c="39.2")
    assert r.recommendation is not None
    assert r.recommendation.severity is not None
    assert r.recommendation.severity.value == "moderate"
    d.accept(21)
    r = d.accept(22)
    assert r.state is S.OBSERVATION
    assert r.due.observation_end_ms == at(22 + 60).mono_ms


def test_observation_after_a_reaction_asks_for_vitals_every_15_min_not_only_at_its_end() -> None:
    d = _running()
    d.vitals(20, spo2_pct="90")
    d.accept(21)  # emergency stop
    r = d.accept(22)  # begin observation
    assert r.state is S.OBSERVATION
    interval = POLICY.monitoring.after_reaction_interval_min
    assert r.due.vitals_ms == at(20 + int(interval)).mono_ms
    r = d.vitals(35)
    assert r.due.vitals_ms == at(35 + int(interval)).mono_ms
    r = d.tick(35 + int(interval))
    due = [e for e in r.events if isinstance(e, VitalsDue)]
    assert [e.reason for e in due] == [f"every {interval} min while observing after a reaction"]


def test_a_quiet_observation_asks_only_for_the_set_at_its_end() -> None:
    d = Driver(make_plan(rates=("60",), total_volume_ml="30"))
    d.start()
    d.vitals(15)
    d.tick(30)
    r = d.vitals(32)
    assert r.state is S.OBSERVATION
    assert r.due.vitals_ms is None


def test_a_reaction_during_observation_lengthens_it() -> None:
    d = Driver(make_plan(rates=("60",), total_volume_ml="30"))
    d.start()
    d.vitals(15)
    d.tick(30)
    r = d.vitals(32)
    assert r.due.observation_end_ms == at(50).mono_ms  # routine: 20 min after the end
    r = d.vitals(40, sbp_mmhg="80")
    assert r.due.observation_end_ms == at(40 + 120).mono_ms


def test_closing_before_the_observation_ends_needs_a_recorded_reason() -> None:
    d = _running()
    d.vitals(20, spo2_pct="90")
    d.accept(21)
    d.accept(22)
    s = d.session
    r = d.accept(30)
    assert r.state is S.OBSERVATION
    assert _refusal(r)
    r = d.feed(s.override(OverrideReason.OTHER, at(31), ""))
    assert r.state is S.OBSERVATION
    assert _refusal(r).field == "note"
    r = d.feed(s.override(OverrideReason.OTHER, at(32), "transferred to the emergency department"))
    assert r.state is S.CLOSED
    recorded = [e for e in r.events if isinstance(e, OverrideRecorded)]
    assert recorded
    assert recorded[0].limit == "session closed before the observation ended"
    assert recorded[0].note == "transferred to the emergency department"


def _first_infusion_plan(product_file: Path) -> Decimal | None:
    product = load_product_file(product_file)
    plan = build_plan(
        PlanRequest(
            product_id=product.id,
            indication_id="pi",
            weight_kg=Decimal(70),
            dose_g_per_kg=Decimal("0.4"),
            first_infusion=True,
        ),
        product,
    )
    d = Driver(plan)
    d.start()
    d.session.stop("nurse", at(5))
    r = d.accept(6)
    assert r.state is S.OBSERVATION
    end = r.due.observation_end_ms
    assert end is not None
    return Decimal(end - at(6).mono_ms) / 60_000


def test_a_site_product_copy_with_90_min_first_infusion_observation_is_honoured(
    tmp_path: Path,
) -> None:
    shipped = Path("protocols/products/privigen.toml")
    assert _first_infusion_plan(shipped) == 60
    text = shipped.read_text(encoding="utf-8")
    marker = "step_interval_min = 30\nobservation_min = 60\n"
    assert marker in text
    site = tmp_path / "privigen.toml"
    site.write_text(text.replace(marker, "step_interval_min = 30\nobservation_min = 90\n", 1))
    assert _first_infusion_plan(site) == 90
