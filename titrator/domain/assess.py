"""Assessment: the latest reading, the baseline and the symptoms, judged against the policy.

`assess` returns a `Recommendation`: the most cautious action of every rule that fired, the ids of
those rules, the inputs used and a plain-language reason (the same text the nurse sees and the
audit log records). Nothing here knows about rates or time; the session adds the target rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from titrator.domain.policy import (
    AbsoluteCondition,
    Action,
    AnyCondition,
    ChangeCondition,
    Condition,
    NotCondition,
    OtherSymptomCondition,
    Policy,
    Rule,
    Severity,
    SymptomCondition,
)
from titrator.domain.units import plain
from titrator.domain.vitals import FIELD_SPECS, SYMPTOM_LABELS, Symptom, VitalsReading

UNGRADED_RULE = "SYM-OTHER-UNGRADED"
"""The engine's rule id while a free-text symptom waits for the nurse's grade (issue 13)."""
NEVER_RESTART_TEXT = "Do not restart this infusion in this session."
"""Added to the reason when a rule that forbids any restart fired (`Rule.never_restart`)."""


class Recommendation(BaseModel):
    """What titrator recommends, why, and from which inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    severity: Severity | None = None
    """The highest severity among the rules that fired (None when none fired)."""
    rule_ids: tuple[str, ...]
    """Every rule that fired (or the engine rule behind a step recommendation)."""
    reason: str
    """Plain-language reason: exactly what the nurse is shown."""
    inputs: dict[str, str] = {}
    """The values the recommendation was made from, as text."""
    target_rate_ml_per_h: Decimal | None = None
    """The rate proposed, for hold/slow/step recommendations."""
    pause_min: Decimal | None = None
    """How long to pause, for pause recommendations."""


@dataclass(frozen=True)
class Observation:
    """Everything an assessment looks at.

    Attributes:
        reading: the latest accepted vitals (None before any).
        baseline: the baseline vitals (None before start).
        symptoms: checklist symptoms present now.
        baseline_symptoms: symptoms already present at baseline (not counted as new).
        other_symptoms: free-text symptoms recorded now ('' for none).
        restarted_after_reaction: the infusion was resumed after a reaction pause or stop.
        other_severity: the nurse's grade of the free-text symptoms (None: not graded yet).
    """

    reading: VitalsReading | None
    baseline: VitalsReading | None
    symptoms: frozenset[Symptom] = frozenset()
    baseline_symptoms: frozenset[Symptom] = frozenset()
    other_symptoms: str = ""
    restarted_after_reaction: bool = False
    other_severity: Severity | None = None
    new_symptoms: frozenset[Symptom] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "new_symptoms", self.symptoms - self.baseline_symptoms)


_OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}
_OP_WORDS = {">=": "at or above", ">": "above", "<=": "at or below", "<": "below"}


def _absolute(cond: AbsoluteCondition, obs: Observation) -> str | None:
    value = obs.reading.get(cond.field) if obs.reading else None
    if value is None or not _OPS[cond.op](value, cond.value):
        return None
    spec = FIELD_SPECS[cond.field]
    return f"{spec.label} {plain(value)} {spec.unit} is {_OP_WORDS[cond.op]} {plain(cond.value)}"


def _change(cond: ChangeCondition, obs: Observation) -> str | None:
    value = obs.reading.get(cond.field) if obs.reading else None
    base = obs.baseline.get(cond.field) if obs.baseline else None
    if value is None or base is None:
        return None
    delta = value - base if cond.direction == "rise" else base - value
    size = delta * 100 / base if cond.unit == "percent" else delta
    if delta <= 0 or not _OPS[cond.op](size, cond.by):
        return None
    spec = FIELD_SPECS[cond.field]
    unit = "%" if cond.unit == "percent" else spec.unit
    verb = "risen" if cond.direction == "rise" else "fallen"
    shown = plain(size, 1) if cond.unit == "percent" else plain(size)
    return (
        f"{spec.label} {verb} by {shown} {unit} from baseline {plain(base)} {spec.unit} "
        f"(now {plain(value)})"
    )


def evaluate(condition: Condition, obs: Observation) -> str | None:
    """Whether a condition holds; if so, a short description of what was found."""
    if isinstance(condition, SymptomCondition):
        found = sorted(s for s in condition.any_of if s in obs.new_symptoms)
        return ", ".join(SYMPTOM_LABELS[s] for s in found) if found else None
    if isinstance(condition, OtherSymptomCondition):
        text = obs.other_symptoms.strip()
        grade = obs.other_severity
        if not text or grade is None:  # never judged before the nurse grades it
            return None
        if condition.severity is not None and condition.severity is not grade:
            return None
        return f"other symptom graded {grade}: {text}"
    if isinstance(condition, AbsoluteCondition):
        return _absolute(condition, obs)
    if isinstance(condition, ChangeCondition):
        return _change(condition, obs)
    if isinstance(condition, NotCondition):
        return None if evaluate(condition.condition, obs) is not None else _absent(condition)
    details = [evaluate(sub, obs) for sub in condition.conditions]
    if isinstance(condition, AnyCondition):
        hits = [d for d in details if d]
        return " or ".join(hits) if hits else None
    return " and ".join(d for d in details if d) if all(details) else None


def _absent(condition: NotCondition) -> str:
    """How an absent finding reads: 'no urticaria, flushing' for a symptom list."""
    inner = condition.condition
    if isinstance(inner, SymptomCondition):
        return "no " + ", ".join(SYMPTOM_LABELS[s] for s in inner.any_of)
    return "not " + inner.type


def ungraded(obs: Observation) -> bool:
    """Free-text symptoms are recorded and the nurse has not graded them yet."""
    return bool(obs.other_symptoms.strip()) and obs.other_severity is None


def fired_rules(policy: Policy, obs: Observation) -> list[tuple[Rule, str]]:
    """Every rule of the policy that fires, with what was found, in policy order."""
    fired = []
    for rule in policy.rules:
        detail = evaluate(rule.condition, obs)
        if detail is not None:
            fired.append((rule, detail))
    return fired


def action_text(action: Action, policy: Policy) -> str:
    """The instruction shown for an action."""
    texts = {
        Action.CONTINUE: "Continue.",
        Action.HOLD: "Hold the current rate; do not increase.",
        Action.SLOW: "Slow the infusion and inform the medical team.",
        Action.PAUSE: (
            f"Pause the infusion for {plain(policy.restart.pause_min)} min, keep the IV access, "
            "repeat observations and inform the medical team; resume lower only if the "
            "symptoms resolve."
        ),
        Action.STOP: (
            "Stop the infusion, keep the IV access and notify the prescriber; do not restart "
            "without medical review."
        ),
        Action.EMERGENCY_STOP: (
            "STOP the infusion now and do not restart. Call the emergency team and follow the "
            "anaphylaxis protocol."
        ),
    }
    return texts[action]


def _inputs(obs: Observation) -> dict[str, str]:
    out: dict[str, str] = {}
    if obs.reading:
        out.update({f.value: text for f, text in obs.reading.raw.items()})
    if obs.baseline:
        out.update({f"baseline.{f.value}": text for f, text in obs.baseline.raw.items()})
    out["symptoms"] = ",".join(sorted(obs.symptoms))
    if obs.other_symptoms.strip():
        out["other_symptoms"] = obs.other_symptoms.strip()
        out["other_severity"] = obs.other_severity or "not graded"
    return out


def _bump(severity: Severity) -> Severity:
    return list(Severity)[min(severity.rank + 1, len(Severity) - 1)]


def assess(policy: Policy, obs: Observation) -> Recommendation:
    """Judge an observation against the policy.

    Args:
        policy: the reaction policy.
        obs: the reading, baseline and symptoms.

    Returns:
        'continue' when no rule fires; otherwise the most cautious action of the rules that
        fired. A reaction after a restart is stopped and graded one step more severe.
    """
    fired = fired_rules(policy, obs)
    if ungraded(obs):
        return _ask_grade(policy, obs, fired)
    if not fired:
        return Recommendation(
            action=Action.CONTINUE,
            rule_ids=(),
            reason="No reaction rule fired.",
            inputs=_inputs(obs),
        )
    action = max((rule.action for rule, _ in fired), key=lambda a: a.rank)
    severity = max((rule.severity for rule, _ in fired), key=lambda s: s.rank)
    rule_ids = [rule.id for rule, _ in fired]
    findings = [f"{rule.id}: {detail} ({rule.severity})" for rule, detail in fired]
    if obs.restarted_after_reaction:
        rule_ids.append(policy.restart.recurrence_rule_id)
        findings.append(f"{policy.restart.recurrence_rule_id}: reaction after a restart")
        severity = _bump(severity)
        if action.rank < Action.STOP.rank:
            action = Action.STOP
    reason = "; ".join(findings) + ". " + action_text(action, policy)
    if any(rule.never_restart for rule, _ in fired) and action is not Action.EMERGENCY_STOP:
        reason += " " + NEVER_RESTART_TEXT
    return Recommendation(
        action=action,
        severity=severity,
        rule_ids=tuple(rule_ids),
        reason=reason,
        inputs=_inputs(obs),
        pause_min=policy.restart.pause_min if action is Action.PAUSE else None,
    )


def _ask_grade(policy: Policy, obs: Observation, fired: list[tuple[Rule, str]]) -> Recommendation:
    """Free text not yet graded: no decision on it; hold (or what the other rules say) and ask.

    The rules that fired on the listed symptoms and the vital signs still decide their part; the
    free text only holds the rate (no increase) until the nurse chooses a severity for it, or
    ticks the listed symptom it describes.
    """
    ask = (
        f"{UNGRADED_RULE}: other symptom not graded yet: {obs.other_symptoms.strip()}. "
        "Choose its severity (mild, moderate or severe) or tick the listed symptom it "
        "describes; no increase until then"
    )
    if not fired:
        return Recommendation(
            action=Action.HOLD,
            rule_ids=(UNGRADED_RULE,),
            reason=ask + ". " + action_text(Action.HOLD, policy),
            inputs=_inputs(obs),
        )
    graded = assess(policy, replace(obs, other_symptoms=""))
    return graded.model_copy(
        update={
            "rule_ids": (*graded.rule_ids, UNGRADED_RULE),
            "reason": f"{ask}. {graded.reason}",
            "inputs": _inputs(obs),
        }
    )
