"""What the nurse does on the run screen: accept, override, vitals, symptoms, pause, lot, STOP.

Each action opens its dialog or feeds its input to the engine; the engine decides. A rate change
the nurse accepts is first confirmed OLD -> NEW on `RateConfirmModal`; STOP voids a rate change
on screen and supersedes an unanswered manual-pump instruction.
"""

from __future__ import annotations

import contextlib

from titrator.domain.decisions import Choice, OverrideReason
from titrator.domain.events import (
    InputEvent,
    LotRecorded,
    NurseDecided,
    PauseRequested,
    StopRequested,
    SymptomsEntered,
    VitalsEntered,
)
from titrator.domain.plan_model import Plan
from titrator.domain.rate_change import describe_change
from titrator.domain.units import show_ml_per_h
from titrator.pump.manual import ManualPump
from titrator.tui.dialogs.lot import LotModal
from titrator.tui.dialogs.manual_pump import ManualPumpModal
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.dialogs.reasons import OverrideModal, ReasonModal
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.pump_bridge import PumpBridge


class NurseActions(PumpBridge):
    """The run screen's actions (the app supplies the plan, the engine and the pump)."""

    plan: Plan | None

    def submit(self, event: InputEvent) -> str | None:
        """Feed an input from a dialog; the engine's refusal reason, or None if accepted."""
        return self.feed(event).refusal

    def accept_prompt(self) -> None:
        """Accept the prompt; a rate change is confirmed OLD -> NEW (both units, x-factor) first."""
        decision, plan = self.decision, self.plan
        if decision is None or decision.prompt is None or plan is None:
            return
        prompt = decision.prompt
        accept = NurseDecided(at=self.now(), choice=Choice.ACCEPT, prompt_id=prompt.prompt_id)
        proposed = prompt.proposed_rate_ml_per_h
        if proposed is None or proposed == decision.rate_ml_per_h:
            self.feed(accept)
            return
        change = describe_change(
            decision.rate_ml_per_h, proposed, plan.dosing_weight_kg, plan.concentration
        )
        heading = f"{prompt.title} — {plan.product_name}, {plan.dosing_weight_kg} kg"
        instruction = (
            f"Set the pump to {show_ml_per_h(proposed)} after confirming."
            if self.services.pump_kind == "manual"
            else f"titrator will set the pump to {show_ml_per_h(proposed)} and read it back."
        )

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.feed(accept.model_copy(update={"at": self.now()}))

        self.push_screen(
            RateConfirmModal(change, heading, instruction, monotonic=self.services.key_monotonic),
            done,
        )

    def refused_key(self, choice: Choice) -> None:
        """A greyed-out accept or override key: the engine refuses it (and records it); say why."""
        if self.controller is None or self.decision is None:
            return
        prompt = self.decision.prompt
        refusal = self.submit(
            NurseDecided(
                at=self.now(), choice=choice, prompt_id=prompt.prompt_id if prompt else None
            )
        )
        if refusal is not None:
            self.notify(f"Not allowed: {refusal}", severity="warning")

    def override_prompt(self) -> None:
        """Override the prompt with a reason from the fixed list."""
        decision = self.decision
        if decision is None or decision.prompt is None:
            return
        prompt_id = decision.prompt.prompt_id

        def submit(fields: dict[str, str]) -> str | None:
            return self.submit(
                NurseDecided(
                    at=self.now(),
                    choice=Choice.OVERRIDE,
                    prompt_id=prompt_id,
                    reason=OverrideReason(fields["reason"]),
                    note=fields["note"],
                )
            )

        self.push_screen(OverrideModal(submit, decision.prompt.title))

    def open_vitals(self) -> None:
        """The vitals dialog (in training, with the simulated monitor's reading above it)."""
        title = "Vital signs"
        hooks = self.services.training_hooks
        if hooks is not None:
            shown = "  ".join(f"{k} {v}" for k, v in hooks.monitor().items())
            said = " ".join(hooks.complaints()) or "nothing"
            title = f"Patient monitor (TRAINING): {shown}\nThe patient says: {said}\nVital signs"
        self.push_screen(
            VitalsModal(lambda raw: self.submit(VitalsEntered(at=self.now(), raw=raw)), title)
        )

    def open_symptoms(self) -> None:
        """The symptom checklist dialog (pre-ticked with what is recorded now)."""
        assert self.controller is not None
        session = self.controller.session

        def submit(fields: dict[str, str]) -> str | None:
            ids = tuple(item for item in fields["symptoms"].split(",") if item)
            return self.submit(SymptomsEntered(at=self.now(), symptoms=ids, other=fields["other"]))

        present = frozenset(s.value for s in session.symptoms)
        self.push_screen(SymptomsModal(submit, present, session.symptoms_other))

    def open_pause(self) -> None:
        """The pause dialog: a reason, then the pump is paused (resume is offered at once)."""
        self.push_screen(
            ReasonModal(
                "Pause the infusion (not for a reaction: record symptoms for that)",
                "Reason",
                lambda text: self.submit(PauseRequested(at=self.now(), reason=text)),
            )
        )

    def open_lot(self) -> None:
        """The lot-change dialog."""
        self.push_screen(
            LotModal(lambda fields: self.submit(LotRecorded(at=self.now(), lot=fields["lot"])))
        )

    def action_stop(self) -> None:
        """STOP: accepted in every state, recorded; before a session there is nothing to stop."""
        if self.controller is None:
            self.notify("No infusion has started: nothing to stop.", severity="warning")
            return
        if isinstance(self.screen, RateConfirmModal):
            self.screen.dismiss(False)  # a rate change on screen is void once STOP is pressed
        self._supersede_manual_instruction()
        self.feed(StopRequested(at=self.now(), reason="STOP key (F9)"))
        self.notify("STOP recorded: the pump is being stopped.", severity="error")

    def _supersede_manual_instruction(self) -> None:
        """Manual pump: STOP must not wait behind an instruction the nurse has not answered.

        The pending instruction is declined (its command is reported as not done) and its
        dialog closed, so the worker goes straight on to the stop instruction.
        """
        pump = self.pump
        if not isinstance(pump, ManualPump) or pump.pending is None:
            return
        nurse = self.setup.nurse_id if self.setup else "nurse"
        # KeyError: answered or timed out meanwhile, so nothing is blocking the stop.
        with contextlib.suppress(KeyError):
            pump.decline(pump.pending.id, nurse=nurse, reason="superseded by STOP")
        if isinstance(self.screen, ManualPumpModal):
            self.screen.dismiss(None)  # its instruction is no longer pending: nothing to answer
