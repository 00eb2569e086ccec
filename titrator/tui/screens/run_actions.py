"""What the nurse does on the run screen: accept, override, vitals, symptoms, pause, lot, medicine.

`NurseActions` belongs to the run screen: each action opens its dialog or feeds its input to the
engine through the app's narrow `Infusion` interface, and the engine decides. A rate change the
nurse accepts is first confirmed OLD -> NEW on `RateConfirmModal`. STOP is not here: it is the
app's priority key (F9), live on every screen and inside every dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, Protocol

from textual.screen import Screen

from titrator.domain.decisions import Choice, OverrideReason
from titrator.domain.emergency import MedicationInputError, adrenaline_prefill, parse_medication
from titrator.domain.events import (
    InputEvent,
    LotRecorded,
    NurseDecided,
    PauseRequested,
    SymptomsEntered,
    VitalsEntered,
)
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Severity
from titrator.domain.rate_change import describe_change
from titrator.domain.session.decision import Decision
from titrator.domain.units import show_ml_per_h
from titrator.tui.dialogs.lot import LotModal
from titrator.tui.dialogs.medication import MedicationModal
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.dialogs.reasons import OverrideModal, ReasonModal
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.engine_feed import EngineFeed
from titrator.tui.services import AppServices
from titrator.tui.training_cues import bedside_text


class Infusion(EngineFeed, Protocol):
    """What the nurse's actions need of the app: the session, its services and the engine feed."""

    @property
    def services(self) -> AppServices:
        """The injected services (clock, pump kind, key clock, training hooks)."""
        ...

    @property
    def plan(self) -> Plan | None:
        """The plan of the open session."""
        ...

    @property
    def decision(self) -> Decision | None:
        """The engine's latest decision (None before a session opens)."""
        ...

    def submit(self, event: InputEvent) -> str | None:
        """Feed an input from a dialog; the engine's refusal reason, or None if accepted."""
        ...


class NurseActions:
    """The run screen's actions.

    Args:
        screen: the run screen (its dialogs are pushed and its notices shown from it).
        infusion: the app, seen through `Infusion` (looked up when an action runs).
    """

    def __init__(self, screen: Screen[Any], infusion: Callable[[], Infusion]) -> None:
        self._screen = screen
        self._infusion = infusion

    def accept(self) -> None:
        """Accept the prompt; a rate change is confirmed OLD -> NEW (both units, x-factor) first."""
        infusion = self._infusion()
        decision, plan = infusion.decision, infusion.plan
        if decision is None or decision.prompt is None or plan is None:
            return
        prompt = decision.prompt
        accept = NurseDecided(at=infusion.now(), choice=Choice.ACCEPT, prompt_id=prompt.prompt_id)
        proposed = prompt.proposed_rate_ml_per_h
        if proposed is None or proposed == decision.rate_ml_per_h:
            infusion.feed(accept)
            return
        change = describe_change(
            decision.rate_ml_per_h, proposed, plan.dosing_weight_kg, plan.concentration
        )
        heading = f"{prompt.title} — {plan.product_name}, {plan.dosing_weight_kg} kg"
        services = infusion.services
        instruction = (
            f"Set the pump to {show_ml_per_h(proposed)} after confirming."
            if services.pump_kind == "manual"
            else f"titrator will set the pump to {show_ml_per_h(proposed)} and read it back."
        )

        def done(confirmed: bool | None) -> None:
            if confirmed:
                infusion.feed(accept.model_copy(update={"at": infusion.now()}))

        self._screen.app.push_screen(
            RateConfirmModal(change, heading, instruction, monotonic=services.key_monotonic),
            done,
        )

    def refused_key(self, choice: Choice) -> None:
        """A greyed-out accept or override key: the engine refuses it (and records it); say why."""
        infusion = self._infusion()
        if infusion.controller is None or infusion.decision is None:
            return
        prompt = infusion.decision.prompt
        refusal = infusion.submit(
            NurseDecided(
                at=infusion.now(), choice=choice, prompt_id=prompt.prompt_id if prompt else None
            )
        )
        if refusal is not None:
            self._screen.notify(f"Not allowed: {refusal}", severity="warning")

    def override(self) -> None:
        """Override the prompt with a reason from the fixed list."""
        infusion = self._infusion()
        decision = infusion.decision
        if decision is None or decision.prompt is None:
            return
        prompt_id = decision.prompt.prompt_id

        def submit(fields: dict[str, str]) -> str | None:
            return infusion.submit(
                NurseDecided(
                    at=infusion.now(),
                    choice=Choice.OVERRIDE,
                    prompt_id=prompt_id,
                    reason=OverrideReason(fields["reason"]),
                    note=fields["note"],
                )
            )

        self._screen.app.push_screen(OverrideModal(submit, decision.prompt.title))

    def vitals(self) -> None:
        """The vitals dialog (in training, with the simulated monitor's reading above it)."""
        infusion = self._infusion()
        title = "Vital signs"
        hooks = infusion.services.training_hooks
        if hooks is not None:
            title = f"{bedside_text(hooks)}\nVital signs"

        def submit(raw: dict[str, str]) -> str | None:
            return infusion.submit(VitalsEntered(at=infusion.now(), raw=raw))

        self._screen.app.push_screen(VitalsModal(submit, title))

    def symptoms(self) -> None:
        """The symptom checklist dialog (pre-ticked with what is recorded now)."""
        infusion = self._infusion()
        assert infusion.controller is not None
        session = infusion.controller.session

        def submit(fields: dict[str, str]) -> str | None:
            ids = tuple(item for item in fields["symptoms"].split(",") if item)
            grade = fields.get("other_severity", "")
            return infusion.submit(
                SymptomsEntered(
                    at=infusion.now(),
                    symptoms=ids,
                    other=fields["other"],
                    other_severity=Severity(grade) if grade else None,
                )
            )

        present = frozenset(s.value for s in session.symptoms)
        self._screen.app.push_screen(
            SymptomsModal(submit, present, session.symptoms_other, session.symptoms_other_severity)
        )

    def pause(self) -> None:
        """The pause dialog: a reason, then the pump is paused (resume is offered at once)."""
        infusion = self._infusion()
        self._screen.app.push_screen(
            ReasonModal(
                "Pause the infusion (not for a reaction: record symptoms for that)",
                "Reason",
                lambda text: infusion.submit(PauseRequested(at=infusion.now(), reason=text)),
            )
        )

    def lot(self) -> None:
        """The lot-change dialog."""
        infusion = self._infusion()
        self._screen.app.push_screen(
            LotModal(
                lambda fields: infusion.submit(LotRecorded(at=infusion.now(), lot=fields["lot"]))
            )
        )

    def medication(self) -> None:
        """The medication dialog: one medicine given, recorded as its own audit event.

        After an emergency stop it is pre-filled with this patient's adrenaline dose (the drug,
        dose, unit and route; the time and who gave it are always typed). Never needed first:
        STOP (F9) works inside it.
        """
        infusion = self._infusion()
        if infusion.controller is None:
            return
        session = infusion.controller.session
        plan = infusion.plan
        prefill: dict[str, str] = {}
        anaphylaxis = session.policy.anaphylaxis
        if session.emergency_stopped and anaphylaxis is not None and plan is not None:
            prefill = adrenaline_prefill(anaphylaxis, plan.request.weight_kg)

        def submit(fields: dict[str, str]) -> str | None:
            now = infusion.now()
            try:
                event = parse_medication(fields, now, now.wall_utc.astimezone().tzinfo or UTC)
            except MedicationInputError as error:
                return str(error)
            return infusion.submit(event)

        self._screen.app.push_screen(MedicationModal(submit, prefill))
