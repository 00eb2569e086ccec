"""Scripted trainees for headless runs: one who does everything right, one who does not.

A trainee looks at the bedside (`Bedside`: the prompt, the alarms, the monitor, the patient's
complaints, new cues) and returns the inputs it gives now, as engine input events. The perfect
trainee also reads the answer key (the patient's symptom ids) to tick the checklist as a
competent nurse would from the complaints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from simulator.patient import Happening
from simulator.scenario import LotChangeEvent, Scenario
from titrator.domain.clock import MS_PER_MIN, Instant
from titrator.domain.decisions import AlarmCode, Choice, OverrideReason, PromptKind, SessionState
from titrator.domain.events import (
    InputEvent,
    LotRecorded,
    NurseDecided,
    StopRequested,
    SymptomsEntered,
    VitalsEntered,
)
from titrator.domain.session.decision import Decision

_ACCEPT_AT_ONCE = frozenset(
    {
        PromptKind.START,
        PromptKind.STEP_UP,
        PromptKind.REACTION,
        PromptKind.RESUME,
        PromptKind.LOT_CHANGE,
        PromptKind.STOPPED,
        PromptKind.CLOSE,
    }
)
_PUMP_ALARMS = frozenset({AlarmCode.PUMP_RATE_MISMATCH, AlarmCode.PUMP_LINK_LOST})


@dataclass(frozen=True)
class Bedside:
    """What a trainee can see now.

    Attributes:
        now: the current instant.
        decision: the engine's latest decision (prompt, state, alarms, rate).
        monitor: the simulated monitor's vital signs, as typed.
        complaints: what the patient says.
        symptom_ids: the answer key: the checklist ids of the patient's symptoms.
        new: scripted happenings since the last look (cues: a new bag, a pump fault).
        scenario: the scenario (for the new bag's lot number).
    """

    now: Instant
    decision: Decision
    monitor: dict[str, str]
    complaints: list[str]
    symptom_ids: list[str]
    new: list[Happening]
    scenario: Scenario


class Trainee(Protocol):
    """A scripted trainee."""

    name: str

    def act(self, bedside: Bedside) -> list[InputEvent]:
        """The inputs given now (empty: nothing to do now)."""
        ...

    def next_ms(self) -> int | None:
        """When this trainee means to do something next, if it is waiting to."""
        ...


def _accept(now: Instant, prompt_id: int) -> NurseDecided:
    return NurseDecided(at=now, choice=Choice.ACCEPT, prompt_id=prompt_id)


@dataclass
class PerfectTrainee:
    """Follows every recommendation at once and tells every symptom.

    It also records every new lot; when the pump alarms it stops the infusion if titrator still
    thinks it is running, and once the cause is found restarts it with a reason (equipment).
    """

    name: str = "perfect"
    _told: tuple[str, ...] = ()
    _answered: set[int] = field(default_factory=set)
    _stop_for_pump: bool = False
    _restart_after_fault: bool = False

    def next_ms(self) -> int | None:
        """Never waits."""
        return None

    def act(self, bedside: Bedside) -> list[InputEvent]:
        """Cues first, then the patient's symptoms, then the prompt."""
        now, decision = bedside.now, bedside.decision
        state = decision.state
        if state in (SessionState.CLOSED, SessionState.ABORTED):
            return []
        out: list[InputEvent] = []
        for happening in bedside.new:
            if happening.kind == "lot_change":
                event = bedside.scenario.event(happening.event_id)
                assert isinstance(event, LotChangeEvent)
                out.append(LotRecorded(at=now, lot=event.lot))
            elif happening.kind == "pump_fault":
                self._stop_for_pump = True
                self._restart_after_fault = True
        alarmed = bool(_PUMP_ALARMS & set(decision.alarms))
        if (self._stop_for_pump or alarmed) and decision.rate_ml_per_h > 0:
            self._stop_for_pump = False
            out.append(StopRequested(at=now, reason="pump alarm: infusion stopped, line checked"))
        if out:
            return out
        told = tuple(sorted(bedside.symptom_ids))
        before_start = state in (SessionState.PRE_CHECKS, SessionState.BASELINE)
        if not before_start and told != self._told:
            self._told = told
            return [
                SymptomsEntered(at=now, symptoms=told),
                VitalsEntered(at=now, raw=bedside.monitor),
            ]
        prompt = decision.prompt
        if prompt is None or prompt.prompt_id in self._answered:
            return []
        if prompt.kind is PromptKind.STOPPED and self._restart_after_fault and prompt.override:
            self._restart_after_fault = False
            self._answered.add(prompt.prompt_id)
            return [
                NurseDecided(
                    at=now,
                    choice=Choice.OVERRIDE,
                    prompt_id=prompt.prompt_id,
                    reason=OverrideReason.EQUIPMENT,
                    note="pump alarm: cause found and cleared",
                )
            ]
        if prompt.kind is PromptKind.BASELINE_VITALS:
            self._answered.add(prompt.prompt_id)
            return [
                VitalsEntered(at=now, raw=bedside.monitor),
                SymptomsEntered(at=now, symptoms=told),
            ]
        if prompt.kind is PromptKind.VITALS_DUE:
            self._answered.add(prompt.prompt_id)
            return [VitalsEntered(at=now, raw=bedside.monitor)]
        if prompt.kind in _ACCEPT_AT_ONCE and prompt.accept:
            self._answered.add(prompt.prompt_id)
            return [_accept(now, prompt.prompt_id)]
        return []


@dataclass
class CarelessTrainee:
    """Ignores complaints, cues and pump alarms, and takes vital signs 20 min late.

    It overrides reaction recommendations (and tries even when they cannot be overridden) and
    clears reactions early.
    """

    name: str = "careless"
    vitals_delay_min: int = 20
    accept_delay_min: int = 10
    _tried: set[int] = field(default_factory=set)
    _answered: set[int] = field(default_factory=set)
    _seen_ms: dict[int, int] = field(default_factory=dict)
    _wake_ms: int | None = None

    def next_ms(self) -> int | None:
        """When a delayed vitals set or acceptance is due."""
        return self._wake_ms

    def _later(self, prompt_id: int, now_ms: int, delay_min: int) -> bool:
        """True once `delay_min` has passed since the prompt was first seen."""
        first = self._seen_ms.setdefault(prompt_id, now_ms)
        due = first + delay_min * MS_PER_MIN
        if now_ms >= due:
            return True
        self._wake_ms = (
            due if self._wake_ms is None or self._wake_ms <= now_ms else min(self._wake_ms, due)
        )
        return False

    def act(self, bedside: Bedside) -> list[InputEvent]:
        """React to the prompt only, carelessly."""
        now, decision = bedside.now, bedside.decision
        if self._wake_ms is not None and self._wake_ms <= now.mono_ms:
            self._wake_ms = None
        prompt = decision.prompt
        if decision.state in (SessionState.CLOSED, SessionState.ABORTED) or prompt is None:
            return []
        pid = prompt.prompt_id
        if pid in self._answered:
            return []
        kind = prompt.kind
        if kind is PromptKind.BASELINE_VITALS:
            self._answered.add(pid)
            return [
                VitalsEntered(at=now, raw=bedside.monitor),
                SymptomsEntered(at=now, symptoms=()),
            ]
        if kind is PromptKind.VITALS_DUE:
            if self._later(pid, now.mono_ms, self.vitals_delay_min):
                self._answered.add(pid)
                return [VitalsEntered(at=now, raw=bedside.monitor)]
            return []
        if kind in (PromptKind.REACTION, PromptKind.HOLDING) and pid not in self._tried:
            self._tried.add(pid)
            reason = (
                OverrideReason.CLINICAL_JUDGEMENT
                if kind is PromptKind.REACTION
                else OverrideReason.SYMPTOMS_RESOLVED
            )
            return [
                NurseDecided(
                    at=now,
                    choice=Choice.OVERRIDE,
                    reason=reason,
                    note="patient looks fine",
                    prompt_id=pid,
                )
            ]
        if kind is PromptKind.REACTION and prompt.accept:
            if self._later(pid, now.mono_ms, self.accept_delay_min):
                self._answered.add(pid)
                return [_accept(now, pid)]
            return []
        if kind in _ACCEPT_AT_ONCE and kind is not PromptKind.LOT_CHANGE and prompt.accept:
            self._answered.add(pid)
            return [_accept(now, pid)]
        return []


TRAINEES = {"perfect": PerfectTrainee, "careless": CarelessTrainee}
"""The scripted trainees by name (`titrator train --headless NAME`)."""
