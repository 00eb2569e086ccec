"""Anaphylaxis by the published clinical criteria, not by vital signs alone (issue 13, item 1).

NIAID/FAAN 2006 criteria 1 and 2: skin or mucosal involvement (urticaria, angioedema, flushing
with itch) with respiratory compromise, reduced blood pressure or its signs, or persistent GI
symptoms. WAO 2020 criterion 2: bronchospasm or laryngeal involvement (or hypotension) even
without skin signs. Every one is `emergency_stop`, a hard limit no override lifts in the session.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.assess import Observation, assess
from titrator.domain.decisions import OverrideReason, PromptKind
from titrator.domain.events import InputRefused, RateChanged
from titrator.domain.policy import Action, Severity
from titrator.domain.vitals import Symptom, VitalsReading, parse_vitals

S = Symptom
SKIN: list[frozenset[Symptom]] = [
    frozenset({S.URTICARIA}),
    frozenset({S.ANGIOEDEMA}),
    frozenset({S.FLUSHING, S.RASH}),  # flushing with itch (rash/pruritus)
]
SECOND_SYSTEM: list[tuple[frozenset[Symptom], dict[str, str]]] = [
    (frozenset({S.WHEEZE}), {}),
    (frozenset({S.STRIDOR}), {}),
    (frozenset({S.DYSPNOEA}), {}),
    (frozenset({S.RESPIRATORY_DISTRESS}), {}),
    (frozenset(), {"spo2_pct": "92"}),  # hypoxaemia
    (frozenset(), {"sbp_mmhg": "89", "dbp_mmhg": "55"}),  # SBP < 90
    (frozenset(), {"sbp_mmhg": "85", "dbp_mmhg": "55"}),  # fall of more than 30 % from 122
    (frozenset({S.DIZZINESS}), {"sbp_mmhg": "100", "dbp_mmhg": "60"}),  # dizziness, SBP fall
    (frozenset({S.COLLAPSE}), {}),
    (frozenset({S.VOMITING}), {}),  # persistent GI symptoms
    (frozenset({S.ABDOMINAL_PAIN}), {}),
]


def reading(**changes: str) -> VitalsReading:
    return parse_vitals({**NORMAL, **changes})


def observe(symptoms: frozenset[Symptom], **changes: str) -> Observation:
    return Observation(reading=reading(**changes), baseline=reading(), symptoms=symptoms)


def test_urticaria_with_wheeze_is_anaphylaxis_not_moderate() -> None:
    rec = assess(POLICY, observe(frozenset({S.URTICARIA, S.WHEEZE})))
    assert rec.action is Action.EMERGENCY_STOP
    assert rec.severity is Severity.SEVERE
    assert "ANAPH-SKIN-PLUS" in rec.rule_ids


@pytest.mark.parametrize("skin", SKIN, ids=lambda s: "+".join(sorted(s)))
@pytest.mark.parametrize("second", SECOND_SYSTEM, ids=lambda p: "+".join(sorted(p[0])) or str(p[1]))
def test_skin_with_a_second_system_is_an_emergency_stop(
    skin: frozenset[Symptom], second: tuple[frozenset[Symptom], dict[str, str]]
) -> None:
    symptoms, vitals = second
    rec = assess(POLICY, observe(skin | symptoms, **vitals))
    assert rec.action is Action.EMERGENCY_STOP
    assert "ANAPH-SKIN-PLUS" in rec.rule_ids


@pytest.mark.parametrize("airway", [S.WHEEZE, S.STRIDOR])
def test_bronchospasm_or_laryngeal_involvement_alone_is_an_emergency_stop(airway: Symptom) -> None:
    rec = assess(POLICY, observe(frozenset({airway})))
    assert rec.action is Action.EMERGENCY_STOP
    assert "ANAPH-AIRWAY" in rec.rule_ids


@pytest.mark.parametrize(
    "changes", [{"sbp_mmhg": "89", "dbp_mmhg": "55"}, {"sbp_mmhg": "85", "dbp_mmhg": "55"}]
)
def test_hypotension_alone_is_an_emergency_stop(changes: dict[str, str]) -> None:
    rec = assess(POLICY, observe(frozenset(), **changes))
    assert rec.action is Action.EMERGENCY_STOP


@pytest.mark.parametrize(
    "symptoms",
    [
        frozenset({S.URTICARIA}),  # skin only: Brown grade 1
        frozenset({S.URTICARIA, S.NAUSEA}),  # nausea is not a persistent GI symptom
        frozenset({S.FLUSHING, S.VOMITING}),  # flushing without itch is not skin involvement
        frozenset({S.DIZZINESS, S.RASH}),  # dizziness without a pressure fall
    ],
    ids=lambda s: "+".join(sorted(s)),
)
def test_short_of_the_criteria_is_not_called_anaphylaxis(symptoms: frozenset[Symptom]) -> None:
    rec = assess(POLICY, observe(symptoms))
    assert "ANAPH-SKIN-PLUS" not in rec.rule_ids
    assert rec.action is not Action.EMERGENCY_STOP


def test_every_anaphylaxis_rule_cites_the_published_criteria() -> None:
    anaph = [rule for rule in POLICY.rules if rule.id.startswith("ANAPH-")]
    assert {rule.id for rule in anaph} == {"ANAPH-SKIN-PLUS", "ANAPH-AIRWAY"}
    for rule in anaph:
        assert {"WAO2020", "RCUK2021"} <= set(rule.sources)
        assert rule.action is Action.EMERGENCY_STOP
        assert rule.never_restart
    assert "NIAID2006" in POLICY.rule("ANAPH-SKIN-PLUS").sources
    assert "sampson" in POLICY.sources["NIAID2006"].lower()


def test_after_urticaria_and_wheeze_a_prescribers_order_cannot_restart() -> None:
    d = Driver()
    d.start()
    d.feed(d.session.record_symptoms(["urticaria", "wheeze"], at(20)))
    prompt = d.session.prompt
    assert prompt is not None
    assert prompt.kind is PromptKind.REACTION
    assert prompt.recommendation is not None
    assert prompt.recommendation.action is Action.EMERGENCY_STOP
    assert not prompt.override
    d.accept(21)
    assert d.session.rate_ml_per_h == 0
    assert d.session.never_restart
    refused = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(30), "Dr A"))
    assert d.session.rate_ml_per_h == 0
    records = [e for e in refused.events if isinstance(e, InputRefused)]
    assert len(records) == 1
    assert records[0].hard_limit
    assert "prescriber's order included" in records[0].reason
    assert not [e for e in refused.events if isinstance(e, RateChanged)]
    assert refused.rate_ml_per_h == Decimal(0)
