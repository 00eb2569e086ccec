"""The training scenario file's schema: vocabularies and the frozen pydantic models.

A scenario (`Scenario`) is a simulated patient, the infusion order, the patient's vital signs
over time, scripted events (reactions, pump faults, lot changes) and the responses the policy
expects (see docs/trainer/scenarios.md). Every model is frozen and rejects unknown keys; each checks
its own fields. Reading a file, cross-references between fields and error reporting are in
`simulator.scenario`, which re-exports every name here. The symptom and risk-factor vocabularies are
checked against the engine's by a test (the simulator imports nothing from titrator).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SYMPTOM_IDS: Final = frozenset(
    {
        "headache",
        "flushing",
        "chills",
        "myalgia",
        "back_pain",
        "nausea",
        "vomiting",
        "rash",
        "urticaria",
        "chest_tightness",
        "dyspnoea",
        "wheeze",
        "dizziness",
        "angioedema",
        "stridor",
        "collapse",
        "stiff_neck",
        "reduced_urine_output",
        "abdominal_pain",
        "respiratory_distress",
        "chest_pain",
        "limb_swelling",
        "unilateral_weakness",
        "speech_difficulty",
        "sudden_vision_loss",
        "dark_urine",
        "jaundice",
        "severe_headache",
        "photophobia",
    }
)
"""The symptom checklist ids (the engine's `Symptom` values; a test keeps them equal)."""

RISK_FACTORS: Final = frozenset(
    {
        "renal_insufficiency",
        "diabetes",
        "age_over_65",
        "volume_depletion",
        "sepsis",
        "paraproteinaemia",
        "nephrotoxic_drugs",
        "thrombosis_history",
        "hypercoagulable",
        "immobilisation",
        "hyperviscosity",
        "central_catheter",
        "estrogens",
        "cardiovascular",
    }
)
"""Renal and thrombosis risk factors (the engine's `RiskFactor` values; a test keeps them equal)."""

VITAL_FIELDS: Final = ("temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_bpm", "spo2_pct")
"""The vital signs the simulated monitor shows, in display order."""

REACTION_ACTIONS: Final = frozenset({"hold", "slow", "pause", "stop", "emergency_stop"})
"""Expected responses that answer a reaction recommendation."""

Action = Literal[
    "record_vitals",
    "vitals_on_schedule",
    "record_symptoms",
    "hold",
    "slow",
    "pause",
    "stop",
    "emergency_stop",
    "resume",
    "restart",
    "record_lot",
    "accept_lot_restart",
    "reach_step",
    "complete",
]
"""What a trainee is expected to do (see docs/trainer/scenarios.md for how each is recognised)."""

_ID = r"^[a-z0-9][a-z0-9-]{0,47}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _known(values: tuple[str, ...], vocabulary: frozenset[str], what: str) -> tuple[str, ...]:
    unknown = [v for v in values if v not in vocabulary]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; known: {', '.join(sorted(vocabulary))}")
    return values


def _symptoms(values: tuple[str, ...]) -> tuple[str, ...]:
    return _known(values, SYMPTOM_IDS, "symptom")


class VitalsChange(_Model):
    """Some vital signs, each optional: a change (event deltas, drift per hour)."""

    temp_c: Decimal | None = None
    hr_bpm: Decimal | None = None
    sbp_mmhg: Decimal | None = None
    dbp_mmhg: Decimal | None = None
    rr_bpm: Decimal | None = None
    spo2_pct: Decimal | None = None

    def items(self) -> list[tuple[str, Decimal]]:
        """The fields that are set, in display order."""
        values = [(name, getattr(self, name)) for name in VITAL_FIELDS]
        return [(name, value) for name, value in values if value is not None]


class Vitals(_Model):
    """A full set of vital signs (the patient's baseline)."""

    temp_c: Decimal = Field(ge=34, le=42)
    hr_bpm: Decimal = Field(ge=30, le=200)
    sbp_mmhg: Decimal = Field(ge=60, le=250)
    dbp_mmhg: Decimal = Field(ge=30, le=150)
    rr_bpm: Decimal = Field(ge=6, le=50)
    spo2_pct: Decimal = Field(ge=70, le=100)

    @model_validator(mode="after")
    def _pressures(self) -> Vitals:
        if self.sbp_mmhg <= self.dbp_mmhg:
            raise ValueError("sbp_mmhg must be above dbp_mmhg")
        return self


class VitalsCourse(_Model):
    """The patient's vital signs over time when nothing happens."""

    baseline: Vitals
    drift_per_h: VitalsChange = VitalsChange()
    """Change per hour after the infusion starts (e.g. a slow rise in temperature)."""


class Patient(_Model):
    """The simulated patient, as the setup screen is pre-filled."""

    name: str = Field(min_length=1, max_length=60)
    patient_id_1: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
    patient_id_2: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
    """Second identifier: the date of birth, YYYY-MM-DD."""
    age_years: int = Field(ge=0, le=110)
    sex: Literal["female", "male"] | None = None
    weight_kg: Decimal = Field(ge=2, le=300)
    height_cm: Decimal | None = Field(default=None, ge=40, le=250)
    history: str = Field(min_length=1)
    """Diagnosis and relevant history, shown to the trainee before the start."""
    first_infusion: bool
    """Treatment-naive, switching product, or more than 8 weeks since the last infusion."""
    last_infusion_weeks_ago: int | None = Field(default=None, ge=0, le=520)
    """None when never treated."""
    last_product_id: str | None = None
    """The product of the last infusion (None when never treated)."""
    risk_factors: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _history(self) -> Patient:
        never = self.last_infusion_weeks_ago is None
        if never != (self.last_product_id is None):
            raise ValueError(
                "give both last_infusion_weeks_ago and last_product_id, or neither (never treated)"
            )
        if never and not self.first_infusion:
            raise ValueError("a never-treated patient is a first infusion (first_infusion = true)")
        return self

    @field_validator("risk_factors")
    @classmethod
    def _risks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _known(values, RISK_FACTORS, "risk factor")


class Infusion(_Model):
    """The order: product, indication, dose and the first bag's lot."""

    product_id: str = Field(min_length=1)
    indication_id: str = Field(min_length=1)
    dose_g_per_kg: Decimal = Field(gt=0, le=3)
    lot: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")


class _Timed(_Model):
    """When a scripted event happens: minutes after the start, or after reaching a step."""

    id: str = Field(pattern=_ID)
    at_min: Decimal | None = Field(default=None, ge=0)
    """Minutes after the infusion started (the pump first ran)."""
    at_step: int | None = Field(default=None, ge=1)
    """When the infusion reaches this plan step ..."""
    after_min: Decimal = Field(default=Decimal(0), ge=0)
    """... plus this many minutes."""

    @model_validator(mode="after")
    def _one_time(self) -> _Timed:
        if (self.at_min is None) == (self.at_step is None):
            raise ValueError("give exactly one of at_min and at_step")
        if self.at_min is not None and self.after_min:
            raise ValueError("after_min goes with at_step (at_min is already a time)")
        return self


class Escalation(_Model):
    """What an ignored reaction becomes (added to the reaction's own signs)."""

    symptoms: tuple[str, ...] = ()
    complaint: str = Field(min_length=1)
    vitals: VitalsChange = VitalsChange()
    settle_min: Decimal = Field(default=Decimal(30), gt=0)
    """Once escalated, the reaction settles only with the infusion stopped, over this long."""

    _check_symptoms = field_validator("symptoms")(_symptoms)


class ReactionEvent(_Timed):
    """Symptoms and/or vital-sign changes that respond to what the trainee does."""

    kind: Literal["reaction"]
    symptoms: tuple[str, ...] = ()
    complaint: str | None = None
    """What the patient says (None: a silent change, seen only on the monitor)."""
    vitals: VitalsChange = VitalsChange()
    settles_with: Literal["slow", "stop"] = "slow"
    """slow: any rate below the rate at onset (or a pause or stop) settles it; stop: only a
    stopped pump does."""
    settle_min: Decimal = Field(default=Decimal(20), gt=0)
    escalate_after_min: Decimal | None = Field(default=None, gt=0)
    """Minutes of running at the onset rate (or faster) before it escalates; None: never."""
    escalation: Escalation | None = None

    _check_symptoms = field_validator("symptoms")(_symptoms)

    @model_validator(mode="after")
    def _reaction(self) -> ReactionEvent:
        if not self.symptoms and not self.vitals.items():
            raise ValueError("a reaction needs symptoms or vitals")
        if self.symptoms and self.complaint is None:
            raise ValueError("symptoms need a complaint (the patient's words)")
        if (self.escalate_after_min is None) != (self.escalation is None):
            raise ValueError("escalate_after_min and escalation go together")
        return self


class PumpFaultEvent(_Timed):
    """Something goes wrong with the pump: it stops and raises an alarm."""

    kind: Literal["occlusion", "comms_loss", "power_reset"]
    cue: str = Field(min_length=1)
    """What the trainee notices at the bedside (the pump's display, its beeping)."""


class LotChangeEvent(_Timed):
    """A new bag or vial is hung: its lot must be recorded."""

    kind: Literal["lot_change"]
    lot: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
    cue: str = Field(min_length=1)


Event = Annotated[ReactionEvent | PumpFaultEvent | LotChangeEvent, Field(discriminator="kind")]


class Expectation(_Model):
    """A response the policy expects, judged in the debrief."""

    id: str = Field(pattern=_ID)
    action: Action
    what: str = Field(min_length=1)
    """The expected response in plain words (shown in the debrief)."""
    after: str = "start"
    """What starts the clock: "open" (session opened), "start" (pump first ran), or an event id."""
    from_min: Decimal = Field(default=Decimal(0), ge=0)
    """The window opens this long after `after` ..."""
    within_min: Decimal = Field(gt=0)
    """... and closes this long after it opens (later is late; never is missed)."""
    rule_ids: tuple[str, ...] = ()
    """Reaction actions: rule ids the accepted recommendation must cite."""
    symptoms: tuple[str, ...] = ()
    """record_symptoms: ids that must be ticked."""
    step: int | None = Field(default=None, ge=1)
    """reach_step: the step to reach."""
    reason: str | None = None
    """restart: the override reason expected (e.g. "equipment")."""
    slower_than: str | None = None
    """complete, resume: a reaction's event id; from its onset on, the rate must stay below the
    rate it began at (finish at the slower rate)."""
    points: int = Field(default=10, ge=1, le=100)

    _check_symptoms = field_validator("symptoms")(_symptoms)

    @model_validator(mode="after")
    def _fits_action(self) -> Expectation:
        if self.rule_ids and self.action not in REACTION_ACTIONS:
            raise ValueError("rule_ids go with a reaction action (hold, slow, pause, stop, ...)")
        if self.symptoms and self.action != "record_symptoms":
            raise ValueError("symptoms go with action 'record_symptoms'")
        if (self.step is not None) != (self.action == "reach_step"):
            raise ValueError("step goes with action 'reach_step' (and it needs one)")
        if self.reason is not None and self.action != "restart":
            raise ValueError("reason goes with action 'restart'")
        if self.slower_than is not None and self.action not in ("complete", "resume"):
            raise ValueError("slower_than goes with action 'complete' or 'resume'")
        return self


class Scenario(_Model):
    """One training scenario file."""

    schema_version: Literal[1]
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=80)
    teaches: str = Field(min_length=1)
    """What the scenario teaches (listed by `titrator train --list`)."""
    briefing: str = Field(min_length=1)
    """What the trainee is told before the start."""
    patient: Patient
    infusion: Infusion
    vitals: VitalsCourse
    events: tuple[Event, ...] = ()
    expect: tuple[Expectation, ...] = Field(min_length=1)

    def event(self, event_id: str) -> ReactionEvent | PumpFaultEvent | LotChangeEvent:
        """The scripted event with this id."""
        for event in self.events:
            if event.id == event_id:
                return event
        raise KeyError(event_id)
