"""The simulated patient: vital signs on a monitor, complaints in words, reactions that respond.

`SimulatedPatient` follows a `Scenario` on the simulator's own clock and reads the pump model's
current rate in-process. Nothing about titrator is known here: the patient sees only what a
real patient would, the pump running or not and how fast.

* Before the pump first runs the patient shows the baseline. The infusion "starts" the first
  time the pump is seen infusing (or when told `on_step(1)`); scripted times count from then.
* Vital signs are the baseline, plus the scenario's drift per hour since the start, plus the
  changes of every active reaction scaled by how far it has settled.
* A reaction starts at its scripted time (or step). If the pump runs slower than at onset (or
  is stopped, for `settles_with = "stop"`), it settles over `settle_min` and then ends. If the
  pump keeps running at the onset rate for `escalate_after_min`, or runs faster than at onset,
  it escalates: the escalation's symptoms and changes are added, and from then on it settles
  only with the pump stopped.
* Pump faults (occlusion, communications loss, power reset) are made to happen in the pump
  model at their time; a lot change becomes a cue for the trainee.

`update()` must be called whenever the pump's rate may have changed (after every command) and
as time passes; between calls the rate is taken as constant. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from simulator.faults import FaultKind
from simulator.model import PumpModel
from simulator.scenario import (
    VITAL_FIELDS,
    LotChangeEvent,
    PumpFaultEvent,
    ReactionEvent,
    Scenario,
)
from simulator.server import happen_in

Clock = Callable[[], float]
"""Seconds on the simulator's physics clock (the pump model's clock)."""

FAULTS: Final = {
    "occlusion": FaultKind.STALL,
    "comms_loss": FaultKind.COMMS_TIMEOUT,
    "power_reset": FaultKind.POWER_RESET,
}
"""Scenario pump events and the simulator events that play them."""

_S_PER_MIN: Final = Decimal(60)
_S_PER_H: Final = Decimal(3600)


@dataclass(frozen=True)
class Happening:
    """Something the scenario made happen (recorded in the training log, used by the debrief).

    Attributes:
        event_id: the scenario event ("start" for the start of the infusion).
        kind: "started", "onset", "escalated", "settled", "pump_fault" or "lot_change".
        at_s: simulator clock seconds.
        text: what the trainee notices (a complaint, the pump's alarm, a cue).
    """

    event_id: str
    kind: str
    at_s: float
    text: str

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {"event_id": self.event_id, "kind": self.kind, "at_s": self.at_s, "text": self.text}


@dataclass
class _Reaction:
    event: ReactionEvent
    onset_s: float
    onset_rate: Decimal
    escalated: bool = False
    relief_s: float = 0.0
    ignored_s: float = 0.0
    settled: bool = False

    def settle_s(self) -> float:
        if self.escalated and self.event.escalation is not None:
            return float(self.event.escalation.settle_min * _S_PER_MIN)
        return float(self.event.settle_min * _S_PER_MIN)

    def relieved_by(self, rate: Decimal) -> bool:
        needs_stop = self.escalated or self.event.settles_with == "stop"
        return rate == 0 if needs_stop else rate < self.onset_rate

    def intensity(self) -> Decimal:
        """1 at full strength, falling linearly to 0 as it settles."""
        settle = self.settle_s()
        left = max(0.0, settle - self.relief_s) / settle
        return Decimal(repr(left))

    def symptoms(self) -> list[str]:
        found = list(self.event.symptoms)
        if self.escalated and self.event.escalation is not None:
            found += [s for s in self.event.escalation.symptoms if s not in found]
        return found

    def complaint(self) -> str | None:
        if self.escalated and self.event.escalation is not None:
            return self.event.escalation.complaint
        return self.event.complaint


@dataclass
class _Clocked:
    """Scripted events not yet due, with their due time once it is known."""

    waiting: list[ReactionEvent | PumpFaultEvent | LotChangeEvent] = field(default_factory=list)
    due_s: dict[str, float] = field(default_factory=dict)


class SimulatedPatient:
    """A patient following a scenario, reading the pump model's rate.

    Args:
        scenario: the scenario.
        pump: the simulator's pump model (its rate is read; faults are played on it).
        clock: the simulator's physics clock (seconds), the same the pump model runs on.
    """

    def __init__(self, scenario: Scenario, pump: PumpModel, clock: Clock) -> None:
        self.scenario = scenario
        self._pump = pump
        self._clock = clock
        self._lock = threading.RLock()
        self._last_s = clock()
        self._rate = Decimal(0)
        self._started_s: float | None = None
        self._step = 0
        self._plan = _Clocked(waiting=list(scenario.events))
        self._reactions: list[_Reaction] = []
        self._happened: list[Happening] = []
        self._cues: list[str] = []

    # -- what the trainee can see -----------------------------------------------------------

    def monitor(self) -> dict[str, str]:
        """The monitor's current vital signs, as the trainee would type them.

        Temperature with one decimal, the others whole numbers.
        """
        with self._lock:
            self.update()
            values = self._vitals()
        shown = {}
        for name in VITAL_FIELDS:
            places = Decimal("0.1") if name == "temp_c" else Decimal(1)
            shown[name] = str(values[name].quantize(places, rounding=ROUND_HALF_UP))
        return shown

    def complaints(self) -> list[str]:
        """What the patient says now (one sentence per active reaction), empty when well."""
        with self._lock:
            self.update()
            said = [r.complaint() for r in self._active()]
        return [text for text in said if text]

    def symptom_ids(self) -> list[str]:
        """The checklist ids of the current symptoms (the answer key: not shown to trainees)."""
        with self._lock:
            self.update()
            found: list[str] = []
            for reaction in self._active():
                found += [s for s in reaction.symptoms() if s not in found]
            return found

    def take_cues(self) -> list[str]:
        """Bedside cues not yet shown (a new bag, the pump alarming); each is returned once."""
        with self._lock:
            cues, self._cues = self._cues, []
            return cues

    def happenings(self) -> list[Happening]:
        """Everything the scenario has made happen so far, in order."""
        with self._lock:
            return list(self._happened)

    @property
    def started(self) -> bool:
        """Whether the infusion has started (the pump has been seen infusing)."""
        with self._lock:
            return self._started_s is not None

    # -- what drives the patient ------------------------------------------------------------

    def on_step(self, step: int) -> list[Happening]:
        """Told by the app: the infusion is now at plan step `step` (schedules at_step events)."""
        with self._lock:
            new = self.update()
            if step >= 1 and self._started_s is None:
                new += self._start(self._clock())
            if step > self._step:
                self._step = step
                now_s = self._clock()
                for event in self._plan.waiting:
                    if event.at_step is not None and event.at_step <= step:
                        due = now_s + float(event.after_min * _S_PER_MIN)
                        self._plan.due_s.setdefault(event.id, due)
                new += self._fire_due(now_s)
            return new

    def update(self) -> list[Happening]:
        """Advance to the clock's now: run reaction courses, fire due events. Returns new ones."""
        with self._lock:
            now_s = self._clock()
            new: list[Happening] = []
            while True:
                stop_at = self._next_change_s()
                upto = now_s if stop_at is None else min(now_s, stop_at)
                self._advance(upto, new)
                if upto >= now_s:
                    break
            self._rate = self._pump_rate()
            if self._started_s is None and self._rate > 0:
                new += self._start(now_s)
            new += self._fire_due(now_s)
            self._check_increase(now_s, new)
            return new

    def next_change_s(self) -> float | None:
        """The next clock time at which the patient changes by itself (for headless runners)."""
        with self._lock:
            return self._next_change_s()

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """The control channel's `patient` op: {"op": "patient"[, "step": N]}.

        Returns the monitor, the complaints, pending cues and what has happened, so an app in
        another process can show them (register with `ControlServer.register("patient", ...)`).
        """
        unknown = set(request) - {"step"}
        if unknown:
            raise ValueError(f"unknown patient fields: {sorted(unknown)}")
        if "step" in request:
            step = request["step"]
            if not isinstance(step, int) or isinstance(step, bool) or step < 0:
                raise ValueError("step must be a whole number")
            self.on_step(step)
        return {
            "monitor": self.monitor(),
            "complaints": self.complaints(),
            "cues": self.take_cues(),
            "happenings": [h.as_json() for h in self.happenings()],
        }

    # -- internals (lock held) ----------------------------------------------------------------

    def _pump_rate(self) -> Decimal:
        snapshot = self._pump.snapshot()
        return Decimal(snapshot["rate_ml_per_h"]) if snapshot["prompt"] == "I" else Decimal(0)

    def _active(self) -> list[_Reaction]:
        return [r for r in self._reactions if not r.settled]

    def _start(self, now_s: float) -> list[Happening]:
        self._started_s = now_s
        for event in self._plan.waiting:
            if event.at_min is not None:
                self._plan.due_s[event.id] = now_s + float(event.at_min * _S_PER_MIN)
        return [self._note("start", "started", now_s, "The infusion has started.")]

    def _note(self, event_id: str, kind: str, at_s: float, text: str) -> Happening:
        happening = Happening(event_id, kind, at_s, text)
        self._happened.append(happening)
        return happening

    def _next_change_s(self) -> float | None:
        times = list(self._plan.due_s.values())
        for reaction in self._active():
            if reaction.relieved_by(self._rate):
                times.append(self._last_s + reaction.settle_s() - reaction.relief_s)
            elif not reaction.escalated and reaction.event.escalate_after_min is not None:
                limit = float(reaction.event.escalate_after_min * _S_PER_MIN)
                times.append(self._last_s + limit - reaction.ignored_s)
        return min(times) if times else None

    def _advance(self, upto_s: float, new: list[Happening]) -> None:
        """Run every active reaction from the last update to `upto_s` at the held rate."""
        dt = max(0.0, upto_s - self._last_s)
        self._last_s = max(self._last_s, upto_s)
        if dt <= 0:
            self._fire_due(upto_s, new)
            return
        for reaction in self._active():
            if reaction.relieved_by(self._rate):
                reaction.relief_s += dt
                if reaction.relief_s >= reaction.settle_s() - 1e-6:
                    reaction.settled = True
                    new.append(self._note(reaction.event.id, "settled", upto_s, "Feels better."))
            else:
                reaction.ignored_s += dt
                limit = reaction.event.escalate_after_min
                if (
                    not reaction.escalated
                    and limit is not None
                    and reaction.ignored_s >= float(limit * _S_PER_MIN) - 1e-6
                ):
                    self._escalate(reaction, upto_s, new)
        self._fire_due(upto_s, new)

    def _escalate(self, reaction: _Reaction, at_s: float, new: list[Happening]) -> None:
        if reaction.escalated or reaction.event.escalation is None:
            return
        reaction.escalated = True
        reaction.relief_s = 0.0
        new.append(
            self._note(reaction.event.id, "escalated", at_s, reaction.complaint() or "Worse.")
        )

    def _check_increase(self, now_s: float, new: list[Happening]) -> None:
        """Running faster than at onset during a reaction escalates it at once."""
        for reaction in self._active():
            if self._rate > reaction.onset_rate:
                self._escalate(reaction, now_s, new)

    def _fire_due(self, now_s: float, new: list[Happening] | None = None) -> list[Happening]:
        fired: list[Happening] = [] if new is None else new
        start = len(fired)
        for event in list(self._plan.waiting):
            due = self._plan.due_s.get(event.id)
            if due is None or due > now_s + 1e-9:
                continue
            self._plan.waiting.remove(event)
            del self._plan.due_s[event.id]
            fired.append(self._fire(event, due))
        return fired[start:]

    def _fire(
        self, event: ReactionEvent | PumpFaultEvent | LotChangeEvent, at_s: float
    ) -> Happening:
        if isinstance(event, ReactionEvent):
            self._reactions.append(_Reaction(event, at_s, self._rate))
            text = event.complaint or "(no complaint: a change on the monitor)"
            return self._note(event.id, "onset", at_s, text)
        if isinstance(event, PumpFaultEvent):
            happen_in(self._pump, FAULTS[event.kind])
            self._rate = self._pump_rate()
            self._cues.append(event.cue)
            return self._note(event.id, "pump_fault", at_s, event.cue)
        self._cues.append(event.cue)
        return self._note(event.id, "lot_change", at_s, event.cue)

    def _vitals(self) -> dict[str, Decimal]:
        baseline = self.scenario.vitals.baseline
        values = {name: Decimal(getattr(baseline, name)) for name in VITAL_FIELDS}
        if self._started_s is not None:
            hours = Decimal(repr(max(0.0, self._last_s - self._started_s))) / _S_PER_H
            for name, per_h in self.scenario.vitals.drift_per_h.items():
                values[name] += per_h * hours
        for reaction in self._active():
            weight = reaction.intensity()
            for name, delta in reaction.event.vitals.items():
                values[name] += delta * weight
            if reaction.escalated and reaction.event.escalation is not None:
                for name, delta in reaction.event.escalation.vitals.items():
                    values[name] += delta * weight
        return values
