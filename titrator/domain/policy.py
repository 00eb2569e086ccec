"""The reaction policy: monitoring schedule, reaction rules and restart rules, as data.

A policy file (TOML, see `protocols/policy/default.toml`) is validated into these frozen models.
Each rule has an id, a condition (a symptom, an absolute threshold, a change from baseline, or
all of several), a severity, an action and the sources it comes from. Rules for which no IVIG
source gives a number are marked `site_setting = true`: the shipped value is a clearly marked
site default that each site must review.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from titrator.domain.model import Frozen
from titrator.domain.vitals import Symptom, VitalField


class Severity(StrEnum):
    """Reaction severity, in increasing order."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        """0 for mild, 1 for moderate, 2 for severe."""
        return list(Severity).index(self)


class Action(StrEnum):
    """What a recommendation asks for, in increasing order of caution."""

    CONTINUE = "continue"
    HOLD = "hold"
    SLOW = "slow"
    PAUSE = "pause"
    STOP = "stop"
    EMERGENCY_STOP = "emergency_stop"

    @property
    def rank(self) -> int:
        """Position in the order above (continue is 0)."""
        return list(Action).index(self)


Minutes = Annotated[Decimal, Field(gt=0, le=24 * 60)]
Op = Literal[">=", ">", "<=", "<"]


class SymptomCondition(Frozen):
    """Fires when any of the listed checklist symptoms is present and new since baseline."""

    type: Literal["symptom"]
    any_of: tuple[Symptom, ...] = Field(min_length=1)


class OtherSymptomCondition(Frozen):
    """Fires when the nurse recorded a symptom in free text (not on the checklist) and graded it.

    Free text is never judged before the nurse grades it: until then no `other_symptom` rule
    fires and the engine holds the rate and asks for a grade (`SYM-OTHER-UNGRADED`, see
    `titrator.domain.assess`). `severity` picks the grade the rule is for; without it the rule
    fires for any grade.
    """

    type: Literal["other_symptom"]
    severity: Severity | None = None


class AbsoluteCondition(Frozen):
    """Fires when a vital sign compares with a fixed value (e.g. temp_c >= 38)."""

    type: Literal["absolute"]
    field: VitalField
    op: Op
    value: Decimal


class ChangeCondition(Frozen):
    """Fires when a vital sign has risen or fallen from baseline by an amount or a percentage.

    `op` compares the size of the change with `by` (">=" for "a rise of 1 °C or more", ">" for
    "a fall of more than 30 %").
    """

    type: Literal["change"]
    field: VitalField
    direction: Literal["rise", "fall"]
    op: Literal[">=", ">"]
    by: Decimal = Field(gt=0)
    unit: Literal["absolute", "percent"]


class AllCondition(Frozen):
    """Fires when every listed condition fires."""

    type: Literal["all"]
    conditions: tuple[Condition, ...] = Field(min_length=2)


class AnyCondition(Frozen):
    """Fires when at least one listed condition fires (e.g. 'respiratory OR circulatory')."""

    type: Literal["any"]
    conditions: tuple[Condition, ...] = Field(min_length=2)


class NotCondition(Frozen):
    """Fires when its condition does not (e.g. 'no skin signs')."""

    type: Literal["not"]
    condition: Condition


Condition = Annotated[
    SymptomCondition
    | OtherSymptomCondition
    | AbsoluteCondition
    | ChangeCondition
    | AllCondition
    | AnyCondition
    | NotCondition,
    Field(discriminator="type"),
]


class Rule(Frozen):
    """One reaction rule."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,39}$")
    """Stable id, quoted in every recommendation and audit event."""
    description: str = Field(min_length=3)
    """What the rule means, in plain language (shown to the nurse)."""
    condition: Condition
    severity: Severity
    action: Action
    sources: tuple[str, ...] = ()
    """Source tags (keys of the policy's `sources` table)."""
    site_setting: bool = False
    """True when no IVIG source gives this number: a site default that each site must review."""
    alternative: str | None = None
    """A documented, less cautious option some sources take instead."""
    never_restart: bool = False
    """When it fires, the infusion is never restarted in this session and its stop cannot be
    overridden (a hard limit, like every `emergency_stop` and every severe rule)."""

    @model_validator(mode="after")
    def _sourced_or_site(self) -> Rule:
        if not self.sources and not self.site_setting:
            raise ValueError("a rule needs sources, or site_setting = true")
        if self.action is Action.CONTINUE:
            raise ValueError("a reaction rule cannot recommend 'continue'")
        if self.never_restart and self.action.rank < Action.STOP.rank:
            raise ValueError("a never_restart rule must stop the infusion (stop or emergency_stop)")
        return self


class Monitoring(Frozen):
    """When vital signs are due. All times in minutes, measured on the monotonic clock."""

    baseline_max_age_min: Minutes
    """Baseline vitals may be at most this old when the infusion starts."""
    first_check_after_start_min: Minutes
    """The first set after starting (and after a lot change that restarts the schedule)."""
    titration_interval_min: Minutes
    """Interval between sets while the rate is still being stepped up."""
    steady_interval_min: Minutes
    """Interval between sets at the final rate."""
    after_reaction_interval_min: Minutes
    """Interval between sets while a reaction is open or after a restart."""
    increase_max_age_min: Minutes
    """An increase needs a vitals set no older than this."""
    increase_grace_min: Annotated[Decimal, Field(ge=0, le=60)]
    """A set up to this much older may still allow an increase, with an override reason."""
    at_end: bool
    """A set is due when the dose volume has been given."""
    post_observation_min: Minutes
    """Routine observation after the infusion."""
    post_observation_high_risk_min: Minutes
    """Observation after a first infusion, a product switch or a gap over 8 weeks."""
    at_observation_end: bool
    """A set is due at the end of the observation period."""
    required_vitals: tuple[VitalField, ...] = Field(min_length=1)
    """Fields every vitals set must contain."""


class Restart(Frozen):
    """How the rate is lowered after a reaction, and what happens after a pause."""

    pause_min: Minutes
    """How long a pause lasts before a resume is considered."""
    after_pause: Literal["finish_at_last_tolerated", "may_reescalate"]
    """Whether the ramp may climb again after a pause (always needs the nurse's reason)."""
    slow_to: Literal["last_tolerated", "fraction"]
    """Slow (and resume) to the last tolerated rate, or to a fraction of the current rate."""
    slow_fraction: Annotated[Decimal, Field(gt=0, lt=1)]
    """The fraction used when slow_to is 'fraction', or when no lower rate was tolerated yet."""
    recurrence_rule_id: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,39}$")
    """Rule id quoted when a reaction recurs after a restart (action: stop, one grade up)."""
    unresolved_rule_id: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,39}$")
    """Rule id quoted when symptoms persist at the end of a pause (action: stop)."""
    sources: tuple[str, ...] = ()


class LotChange(Frozen):
    """What recording a new lot or bag does."""

    restart_ramp: bool
    """Recommend going back to step 1 of the ramp."""
    restart_vitals_schedule: bool
    """Restart the vitals schedule as if the infusion had just started."""
    sources: tuple[str, ...] = ()


class AdrenalineDose(Frozen):
    """The weight-based IM adrenaline (epinephrine) dose of the anaphylaxis steps."""

    drug: str = Field(min_length=1)
    """The drug and strength as the nurse draws it up (e.g. 'adrenaline 1 mg/mL (1:1000)')."""
    route: str = Field(min_length=1)
    """Where it is given (e.g. 'IM, anterolateral thigh')."""
    mg_per_kg: Decimal = Field(gt=0, le=1)
    """Dose per kg of actual body weight."""
    adult_max_mg: Decimal = Field(gt=0, le=5)
    """The single dose is never more than this (the adult dose)."""
    mg_per_ml: Decimal = Field(gt=0)
    """Strength of the solution, to show the volume to draw up."""
    repeat_after_min: Minutes
    """Repeat the dose after this long if there is no improvement."""
    sources: tuple[str, ...] = Field(min_length=1)


class Anaphylaxis(Frozen):
    """The site's anaphylaxis steps, shown on the run screen after an emergency stop."""

    steps: tuple[str, ...] = Field(min_length=1)
    """What to do, in order (the adrenaline line is computed for the patient and added)."""
    adrenaline: AdrenalineDose
    sources: tuple[str, ...] = Field(min_length=1)


class ReactionObservation(Frozen):
    """The least post-infusion observation after a reaction (longer than the routine one)."""

    after_moderate_min: Minutes
    """After any moderate (or worse) reaction in the session."""
    after_emergency_stop_min: Minutes
    """After an emergency stop (anaphylaxis or another severe reaction)."""
    sources: tuple[str, ...] = Field(min_length=1)
    site_setting: bool = False
    """True where a number is the site's choice rather than a published figure."""


class DelayedReaction(Frozen):
    """One delayed reaction the patient and carers watch for after leaving."""

    name: str = Field(min_length=1)
    when: str = Field(min_length=1)
    """When it usually appears, in words (e.g. 'within hours to 2 days')."""
    watch_for: str = Field(min_length=1)
    """The signs, in plain words."""
    sources: tuple[str, ...] = Field(min_length=1)


class Discharge(Frozen):
    """The hand-over after the infusion: what to watch for, and whom to call."""

    watch: tuple[DelayedReaction, ...] = Field(min_length=1)
    call: str = Field(min_length=1)
    """Whom to call and when (the site replaces this with its own numbers)."""
    sources: tuple[str, ...] = ()


class Policy(Frozen):
    """A complete reaction policy."""

    schema_version: Literal[1]
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: str = Field(min_length=1)
    """Bumped whenever any rule or number changes (recorded in every session)."""
    title: str
    monitoring: Monitoring
    restart: Restart
    lot_change: LotChange
    rules: tuple[Rule, ...] = Field(min_length=1)
    sources: dict[str, str] = Field(default_factory=dict)
    """Source tag to citation (title and address)."""
    anaphylaxis: Anaphylaxis | None = None
    """The emergency steps shown after an emergency stop (None: none configured)."""
    observation_after_reaction: ReactionObservation | None = None
    """Longer observation after a moderate reaction or an emergency stop."""
    discharge: Discharge | None = None
    """Delayed reactions to watch for after leaving, and whom to call."""

    @model_validator(mode="after")
    def _check_care_sources(self) -> Policy:
        cited: list[str] = []
        if self.anaphylaxis is not None:
            cited += [*self.anaphylaxis.sources, *self.anaphylaxis.adrenaline.sources]
        if self.observation_after_reaction is not None:
            cited += self.observation_after_reaction.sources
        if self.discharge is not None:
            cited += self.discharge.sources
            cited += [tag for item in self.discharge.watch for tag in item.sources]
        unknown = sorted({tag for tag in cited if tag not in self.sources})
        if unknown:
            raise ValueError(f"source tags not in [sources]: {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _check_ids_and_sources(self) -> Policy:
        ids = [rule.id for rule in self.rules]
        ids += [self.restart.recurrence_rule_id, self.restart.unresolved_rule_id]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(dupes)}")
        cited = [tag for rule in self.rules for tag in rule.sources]
        cited += [*self.restart.sources, *self.lot_change.sources]
        unknown = sorted({tag for tag in cited if tag not in self.sources})
        if unknown:
            raise ValueError(f"source tags not in [sources]: {', '.join(unknown)}")
        return self

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id.

        Raises:
            KeyError: if there is none.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
