"""Free text is never silently "mild" (issue 13, item 4).

A symptom typed as free text ("other") makes the nurse choose a severity (or tick the listed
symptom) before the engine decides on it; until then the rate is held and no increase is offered.
"""

from __future__ import annotations

import pytest

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.assess import UNGRADED_RULE, Observation, assess
from titrator.domain.decisions import PromptKind, PumpCommandKind, SessionState
from titrator.domain.events import InputRefused, SymptomsEntered
from titrator.domain.policy import Action, Severity
from titrator.domain.vitals import Symptom, parse_vitals
from titrator.shell.script import ScriptError, parse_line

WEAKNESS = "new left arm weakness and slurred speech"
URINE = "dark red urine"


def observe(other: str, grade: Severity | None = None, **kw: frozenset[Symptom]) -> Observation:
    return Observation(
        reading=parse_vitals(NORMAL),
        baseline=parse_vitals(NORMAL),
        other_symptoms=other,
        other_severity=grade,
        symptoms=kw.get("symptoms", frozenset()),
    )


@pytest.mark.parametrize("text", [WEAKNESS, URINE])
def test_ungraded_free_text_is_not_judged_mild_the_engine_asks(text: str) -> None:
    rec = assess(POLICY, observe(text))
    assert rec.rule_ids == (UNGRADED_RULE,)
    assert rec.action is Action.HOLD
    assert rec.severity is None  # unknown until the nurse says
    assert "SYM-OTHER" not in rec.rule_ids
    assert "mild" not in rec.reason.split("Choose")[0]
    assert "Choose its severity (mild, moderate or severe)" in rec.reason
    assert text in rec.reason


@pytest.mark.parametrize(
    ("grade", "rule", "action"),
    [
        (Severity.MILD, "SYM-OTHER", Action.PAUSE),
        (Severity.MODERATE, "SYM-OTHER-MODERATE", Action.STOP),
        (Severity.SEVERE, "SYM-OTHER-SEVERE", Action.EMERGENCY_STOP),
    ],
)
def test_once_graded_the_policy_decides(grade: Severity, rule: str, action: Action) -> None:
    rec = assess(POLICY, observe(URINE, grade))
    assert rec.rule_ids == (rule,)
    assert rec.action is action
    assert rec.severity is grade


def test_listed_symptoms_are_still_decided_while_the_free_text_waits() -> None:
    rec = assess(POLICY, observe(URINE, symptoms=frozenset({Symptom.DARK_URINE})))
    assert rec.rule_ids == ("BW-HAEMOLYSIS", UNGRADED_RULE)
    assert rec.action is Action.STOP


def test_in_the_engine_free_text_holds_blocks_increases_and_never_pauses_and_resumes() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    decision = d.feed(d.session.record_symptoms([], at(20), other=WEAKNESS))
    assert not [c for c in decision.commands if c.kind is PumpCommandKind.PAUSE]
    assert d.session.rate_ml_per_h > 0  # held, not paused (nothing was decided)
    prompt = d.session.prompt
    assert prompt is not None
    assert prompt.kind is PromptKind.REACTION
    assert prompt.recommendation is not None
    assert prompt.recommendation.action is Action.HOLD
    d.accept(21)
    assert d.session.state is SessionState.HOLDING
    held = d.session.rate_ml_per_h
    for minute in (36, 51, 66):  # fresh vitals and long past the dwell: still no increase
        d.vitals(minute)
        d.tick(minute + 1)
        assert d.session.prompt is not None
        assert d.session.prompt.kind is not PromptKind.STEP_UP
    assert d.session.rate_ml_per_h == held
    graded = d.feed(d.session.record_symptoms([], at(70), WEAKNESS, Severity.SEVERE))
    assert graded.recommendation is not None
    assert graded.recommendation.action is Action.EMERGENCY_STOP
    assert d.session.never_restart
    d.accept(71)
    assert d.session.rate_ml_per_h == 0


def test_dark_red_urine_graded_moderate_stops() -> None:
    d = Driver()
    d.start()
    d.feed(d.session.record_symptoms([], at(20), other=URINE))
    d.feed(d.session.record_symptoms([], at(22), URINE, Severity.MODERATE))
    d.accept(23)
    assert d.session.state is SessionState.STOPPED


def test_a_grade_without_free_text_is_refused_naming_the_field() -> None:
    d = Driver()
    d.start()
    decision = d.feed(d.session.record_symptoms([], at(20), "", Severity.MILD))
    refused = [e for e in decision.events if isinstance(e, InputRefused)]
    assert len(refused) == 1
    assert refused[0].field == "other_severity"
    assert refused[0].raw == "mild"
    recorded = [e for e in decision.events if isinstance(e, SymptomsEntered)]
    assert recorded[0].other_severity is Severity.MILD  # the input itself is kept


def test_the_grade_is_recorded_in_the_audit_event() -> None:
    event = SymptomsEntered(at=at(1), symptoms=(), other=URINE, other_severity=Severity.MODERATE)
    assert '"other_severity":"moderate"' in event.model_dump_json()


def test_script_severity_line_and_symptoms_severity_key() -> None:
    line = parse_line(3, '{"t_min": 39, "severity": "moderate"}', POLICY, None)
    assert line.data["severity"] == "moderate"
    text = '{"t_min": 40, "symptoms": [], "other": "dark red urine", "severity": "severe"}'
    assert parse_line(4, text, POLICY, None).data["severity"] == "severe"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"t_min": 39, "severity": "bad"}', "line 5: severity: must be one of mild, moderate"),
        ('{"t_min": 39, "symptoms": [], "severity": "mild"}', "line 5: severity: grades the"),
    ],
)
def test_script_severity_errors_name_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_line(5, text, POLICY, None)
    assert str(info.value).startswith(message)
