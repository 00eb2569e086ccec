"""Boxed-warning and warnings-section events are first-class symptoms (issue 13, item 3).

Thrombosis: stop, call the prescriber, never restart in the session. Haemolysis and aseptic
meningitis: stop, call the prescriber. Breathing distress with low SpO2 and no skin signs (TRALI,
circulatory overload): stop, never restart. Each rule cites the IVIG label.
"""

from __future__ import annotations

import pytest

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.assess import Observation, assess, fired_rules
from titrator.domain.decisions import OverrideReason, SessionState
from titrator.domain.events import InputRefused
from titrator.domain.policy import Action, Severity
from titrator.domain.vitals import SYMPTOM_LABELS, Symptom, parse_symptoms, parse_vitals

S = Symptom
THROMBOSIS = ["chest_pain", "limb_swelling", "unilateral_weakness", "speech_difficulty"]
THROMBOSIS += ["sudden_vision_loss"]
HAEMOLYSIS = ["dark_urine", "jaundice"]
IDS = [*THROMBOSIS, *HAEMOLYSIS, "severe_headache", "photophobia", "respiratory_distress"]


def observe(symptoms: list[str], **changes: str) -> Observation:
    return Observation(
        reading=parse_vitals({**NORMAL, **changes}),
        baseline=parse_vitals(NORMAL),
        symptoms=parse_symptoms(symptoms),
    )


def test_the_symptom_ids_are_exactly_these_names_and_have_nurse_words() -> None:
    assert parse_symptoms(IDS) == frozenset(Symptom(i) for i in IDS)
    for name in IDS:
        label = SYMPTOM_LABELS[Symptom(name)]
        assert "_" not in label
        assert len(label) <= 40


@pytest.mark.parametrize("symptom", THROMBOSIS)
def test_thrombosis_signs_stop_and_never_restart(symptom: str) -> None:
    rec = assess(POLICY, observe([symptom]))
    assert "BW-THROMBOSIS" in rec.rule_ids
    assert rec.action.rank >= Action.STOP.rank
    assert POLICY.rule("BW-THROMBOSIS").never_restart
    assert "never restart" in POLICY.rule("BW-THROMBOSIS").description
    assert "Do not restart this infusion in this session." in rec.reason
    assert "prescriber" in rec.reason


@pytest.mark.parametrize("symptom", HAEMOLYSIS)
def test_haemolysis_signs_stop_and_call_the_prescriber(symptom: str) -> None:
    rec = assess(POLICY, observe([symptom]))
    assert rec.rule_ids == ("BW-HAEMOLYSIS",)
    assert rec.action is Action.STOP
    assert rec.severity is Severity.MODERATE
    assert "notify the prescriber" in rec.reason


@pytest.mark.parametrize(
    "symptoms", [["severe_headache", "stiff_neck"], ["photophobia", "stiff_neck"]]
)
def test_aseptic_meningitis_signs_with_a_stiff_neck(symptoms: list[str]) -> None:
    rec = assess(POLICY, observe(symptoms))
    assert "BW-ASEPTIC-MENINGITIS" in rec.rule_ids
    assert rec.action is Action.STOP


@pytest.mark.parametrize("symptom", ["severe_headache", "photophobia", "stiff_neck"])
def test_one_meningeal_sign_alone_still_stops(symptom: str) -> None:
    rec = assess(POLICY, observe([symptom]))
    assert "BW-ASEPTIC-MENINGITIS" not in rec.rule_ids
    assert rec.action is Action.STOP


def test_breathing_distress_with_low_spo2_and_no_skin_signs_is_trali_or_overload() -> None:
    rec = assess(POLICY, observe(["respiratory_distress"], spo2_pct="91"))
    assert "BW-TRALI-TACO" in rec.rule_ids
    assert rec.action.rank >= Action.STOP.rank
    assert "BW-TRALI-TACO" not in assess(POLICY, observe(["respiratory_distress"])).rule_ids


def test_with_skin_signs_the_same_picture_is_anaphylaxis_not_trali() -> None:
    rec = assess(POLICY, observe(["respiratory_distress", "urticaria"], spo2_pct="91"))
    assert "BW-TRALI-TACO" not in rec.rule_ids
    assert "ANAPH-SKIN-PLUS" in rec.rule_ids
    assert rec.action is Action.EMERGENCY_STOP


@pytest.mark.parametrize(
    "rule_id", ["BW-THROMBOSIS", "BW-HAEMOLYSIS", "BW-ASEPTIC-MENINGITIS", "BW-TRALI-TACO"]
)
def test_each_boxed_warning_rule_cites_the_label(rule_id: str) -> None:
    rule = POLICY.rule(rule_id)
    assert "LABEL-IGIV" in rule.sources
    assert not rule.site_setting
    assert "boxed warning" in POLICY.sources["LABEL-IGIV"]


@pytest.mark.parametrize("symptom", list(Symptom))
def test_no_listed_symptom_is_silent(symptom: Symptom) -> None:
    assert fired_rules(POLICY, observe([symptom.value])), f"{symptom} fires no rule"


def test_thrombosis_stop_cannot_be_lifted_by_a_prescribers_order() -> None:
    d = Driver()
    d.start()
    decision = d.feed(d.session.record_symptoms(["unilateral_weakness"], at(20)))
    prompt = decision.prompt
    assert prompt is not None
    assert not prompt.override
    refused = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(20.5), "Dr A"))
    assert [e.hard_limit for e in refused.events if isinstance(e, InputRefused)] == [True]
    d.accept(21)
    assert d.session.state is SessionState.STOPPED
    assert d.session.never_restart
    refused = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(40), "Dr A"))
    assert [e.hard_limit for e in refused.events if isinstance(e, InputRefused)] == [True]
    assert d.session.rate_ml_per_h == 0


def test_haemolysis_stop_may_be_restarted_on_a_prescribers_order() -> None:
    d = Driver()
    d.start()
    d.feed(d.session.record_symptoms(["dark_urine"], at(20)))
    d.accept(21)
    assert d.session.state is SessionState.STOPPED
    assert not d.session.never_restart
