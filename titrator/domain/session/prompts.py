"""What the nurse is shown: prompts derived from the session state, and the gates behind them.

`derive_prompt` is a pure function of the state and `now`; the session records a new
`prompt_shown` event only when the result differs from the prompt already on screen.
"""

from __future__ import annotations

from decimal import Decimal

from titrator.domain.assess import Observation, Recommendation, assess, fired_rules
from titrator.domain.checklist import ITEMS as CHECKLIST_ITEMS
from titrator.domain.clock import minutes_to_ms
from titrator.domain.decisions import Prompt, PromptKind, SessionState
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Action
from titrator.domain.session.schedule import observation_why, step_up_candidate, vitals_fresh
from titrator.domain.session.state import RUNNING_MODES, SessionData
from titrator.domain.units import (
    ml_per_h_to_mg_per_kg_min,
    ml_per_h_to_ml_per_kg_min,
    show_mg_per_kg_min,
    show_ml_per_h,
    show_ml_per_kg_min,
)

STEP_UP_RULE = "STEP-UP"
RESUME_RULE = "RESUME"
LOT_RULE = "LOT-RESTART"
START_RULE = "START"


def rate_text(plan: Plan, rate: Decimal) -> str:
    """A pump rate with its weight-based equivalents: '42 mL/h (0.5 mg/kg/min, ...)'."""
    weight, conc = plan.dosing_weight_kg, plan.concentration
    mg = show_mg_per_kg_min(ml_per_h_to_mg_per_kg_min(rate, weight, conc))
    ml = show_ml_per_kg_min(ml_per_h_to_ml_per_kg_min(rate, weight))
    return f"{show_ml_per_h(rate)} ({mg}, {ml})"


def _prompt(kind: PromptKind, title: str, text: str, **extra: object) -> Prompt:
    accept = bool(extra.pop("accept", False))
    override = bool(extra.pop("override", False))
    return Prompt.model_validate(
        {"prompt_id": 0, "kind": kind, "title": title, "text": text}
        | {"accept": accept, "override": override}
        | extra
    )


def baseline_findings(data: SessionData) -> Recommendation | None:
    """Rules that fire on the baseline itself (a reason to start only on an override)."""
    obs = Observation(
        reading=data.baseline,
        baseline=None,
        symptoms=data.baseline_symptoms,
        other_symptoms=data.baseline_other,
        other_severity=data.baseline_other_severity,
    )
    if not fired_rules(data.policy, obs):
        return None
    return assess(data.policy, obs)


def start_problems(data: SessionData, now_ms: int) -> list[str]:
    """Hard reasons the infusion cannot start now."""
    problems = []
    if data.baseline_ms is None:
        problems.append("no baseline vitals recorded")
    else:
        max_age = data.policy.monitoring.baseline_max_age_min
        if now_ms - data.baseline_ms > minutes_to_ms(max_age):
            problems.append(f"baseline vitals are older than {max_age} min: take a new set")
    findings = baseline_findings(data)
    if findings is not None and findings.action is Action.EMERGENCY_STOP:
        problems.append("baseline findings are severe: do not start")
    return problems + data.increase_blockers()


def step_up_blockers(data: SessionData, now_ms: int, grace_ms: int = 0) -> list[str]:
    """Why the next increase cannot be offered now (empty when it can)."""
    if not step_up_candidate(data):
        return ["no increase is possible in this state"]
    blockers = []
    dwell_end = data.dwell_end_ms()
    if dwell_end is None or now_ms < dwell_end:
        blockers.append("the minimum time at this rate has not passed")
    if not vitals_fresh(data, now_ms, grace_ms):
        blockers.append("no recent enough vitals set")
    if data.has_new_symptoms():
        blockers.append("symptoms are present")
    return blockers + data.increase_blockers()


def resume_blockers(data: SessionData, now_ms: int) -> list[str]:
    """Why a paused infusion cannot be offered a resume now."""
    blockers = []
    if not data.pause_expired:
        blockers.append("the pause has not ended")
    if data.never_restart:
        blockers.append("a severe or recurrent reaction: never restart")
    if not vitals_fresh(data, now_ms):
        blockers.append("no recent enough vitals set")
    if assess(data.policy, data.observation()).action is not Action.CONTINUE:
        blockers.append("symptoms or vital signs still meet a reaction rule")
    return blockers + data.increase_blockers()


def _running_prompt(data: SessionData, now_ms: int) -> Prompt:
    step = data.current_step()
    total = len(data.steps)
    where = f"Step {data.step} of {total} at {rate_text(data.plan, data.rate)}."
    if not step_up_blockers(data, now_ms):
        target = data.next_step()
        assert target is not None
        due = (
            f"Back to the planned rate of step {target.number}"  # below its rate, on that step
            if target.number == data.step
            else f"Step {target.number} is due"
        )
        text = (
            f"{due}: increase from {show_ml_per_h(data.rate)} to "
            f"{rate_text(data.plan, target.rate_ml_per_h)}."
        )
        rec = Recommendation(
            action=Action.CONTINUE,
            rule_ids=(STEP_UP_RULE,),
            reason=text,
            target_rate_ml_per_h=target.rate_ml_per_h,
        )
        return _prompt(
            PromptKind.STEP_UP,
            "Increase the rate",
            text,
            recommendation=rec,
            proposed_rate_ml_per_h=target.rate_ml_per_h,
            accept=True,
            override=True,
        )
    if data.vitals_due_reason is not None:
        grace = minutes_to_ms(data.policy.monitoring.increase_grace_min)
        can_override = not step_up_blockers(data, now_ms, grace)
        extra = " An increase may proceed on an override with a reason." if can_override else ""
        return _prompt(
            PromptKind.VITALS_DUE,
            "Vital signs due",
            f"Take a full set of vital signs ({data.vitals_due_reason}). {where}{extra}",
            override=can_override,
        )
    if data.reaction_open:
        finish = data.had_pause and data.policy.restart.after_pause == "finish_at_last_tolerated"
        policy_note = (
            " Policy: finish at the last tolerated rate; clear only on a prescriber's order."
            if finish
            else " When the reaction has resolved, clear it with a reason to continue the ramp."
        )
        return _prompt(
            PromptKind.HOLDING,
            "Reaction: no increase",
            f"{where} A reaction is open: the rate will not be increased.{policy_note}",
            override=not data.never_restart,
        )
    assert step is not None
    cap = " The plan's maximum rate is reached." if data.next_step() is None else ""
    return _prompt(PromptKind.INFO, "Infusing", f"{where}{cap}")


def _paused_prompt(data: SessionData, now_ms: int) -> Prompt:
    blockers = resume_blockers(data, now_ms)
    if not blockers and data.resume_rate is not None:
        resume = rate_text(data.plan, data.resume_rate)
        text = (
            f"Paused by the nurse: resume at {resume} when ready."
            if data.nurse_pause
            else f"The pause is over and the reaction has settled: resume at {resume}."
        )
        rec = Recommendation(
            action=Action.CONTINUE,
            rule_ids=(RESUME_RULE,),
            reason=text,
            target_rate_ml_per_h=data.resume_rate,
        )
        return _prompt(
            PromptKind.RESUME,
            "Resume" if data.nurse_pause else "Resume at a lower rate",
            text,
            recommendation=rec,
            proposed_rate_ml_per_h=data.resume_rate,
            accept=True,
        )
    if data.vitals_due_reason is not None:
        return _prompt(
            PromptKind.VITALS_DUE,
            "Vital signs due",
            f"Paused. Take a full set of vital signs ({data.vitals_due_reason}).",
        )
    return _prompt(PromptKind.INFO, "Paused", "Not ready to resume: " + "; ".join(blockers) + ".")


def derive_prompt(data: SessionData, now_ms: int) -> Prompt | None:
    """The prompt the state calls for now (prompt_id 0; the session numbers it)."""
    mode = data.mode
    if data.sticky is not None:
        return data.sticky
    if data.starting_to is not None:
        return _prompt(
            PromptKind.INFO,
            "Starting: waiting for the pump",
            f"Start the pump at {rate_text(data.plan, data.rate)} and confirm it on the pump: "
            "the infusion and its step timer begin when the pump confirms the start.",
        )
    if mode is SessionState.SETUP:
        return None
    if mode is SessionState.PRE_CHECKS:
        checks = "; ".join(item.label for item in CHECKLIST_ITEMS)
        return _prompt(
            PromptKind.CHECKLIST,
            "Pre-infusion checks",
            f"Confirm each item, or mark it not done with a reason: {checks}.",
            accept=False,
        )
    if mode is SessionState.BASELINE:
        return _start_prompt(data, now_ms)
    if mode in RUNNING_MODES:
        return _running_prompt(data, now_ms)
    if mode is SessionState.PAUSED:
        return _paused_prompt(data, now_ms)
    if mode is SessionState.STOPPED:
        restart = ""
        if not data.never_restart:
            rate = data.resume_rate if data.resume_rate is not None else data.steps[0].rate_ml_per_h
            restart = f" Override with a reason to restart at {rate_text(data.plan, rate)}."
        note = f"{data.stop_note} " if data.stop_note else ""
        return _prompt(
            PromptKind.STOPPED,
            "Infusion stopped",
            f"{note}The infusion is stopped. Accept to begin post-infusion observation.{restart}",
            accept=True,
            override=not data.never_restart,
        )
    if mode is SessionState.COMPLETE or data.vitals_due_reason is not None:
        return _prompt(
            PromptKind.VITALS_DUE,
            "Vital signs due",
            f"Take a full set of vital signs ({data.vitals_due_reason}).",
        )
    if mode is SessionState.OBSERVATION:
        assert data.obs_until_ms is not None
        if now_ms < data.obs_until_ms:
            return _prompt(
                PromptKind.INFO,
                "Observation",
                f"Post-infusion observation: {observation_why(data)}. To close the session "
                "before it ends, override with a reason.",
                override=True,
            )
        return _prompt(
            PromptKind.CLOSE, "Observation complete", "Accept to close the session.", accept=True
        )
    return _prompt(PromptKind.INFO, "Session ended", f"The session is {mode.value}.")


def _start_prompt(data: SessionData, now_ms: int) -> Prompt:
    if data.baseline is None:
        return _prompt(
            PromptKind.BASELINE_VITALS,
            "Baseline vital signs",
            "Record a full set of baseline vital signs and the symptom checklist.",
        )
    first = data.steps[0]
    problems = start_problems(data, now_ms)
    findings = baseline_findings(data)
    text = f"Start step 1 of {len(data.steps)} at {rate_text(data.plan, first.rate_ml_per_h)}."
    if problems:
        text = "Cannot start: " + "; ".join(problems) + "."
    elif findings is not None:
        text += f" Baseline findings: {findings.reason} Start only with an override reason."
    rec = Recommendation(
        action=Action.CONTINUE if findings is None else findings.action,
        rule_ids=(START_RULE,) if findings is None else findings.rule_ids,
        reason=text,
        target_rate_ml_per_h=first.rate_ml_per_h,
    )
    return _prompt(
        PromptKind.START,
        "Start the infusion",
        text,
        recommendation=rec,
        proposed_rate_ml_per_h=first.rate_ml_per_h,
        accept=not problems and findings is None,
        override=not problems and findings is not None,
    )
