"""The run screen: what the pump should be doing now, and what the nurse should do next.

A view over the engine's latest `Decision`: the rate large and unmistakable (mL/h, with
mg/kg/min and mL/kg/min), step k of n, countdowns to the next step and the next vitals, the pump
link and pump state as words, volume given and remaining, alarms with a priority marker, the
NEXT instruction (always on screen) and the recent events. Keys the current prompt does not allow
are greyed out (`check_action`); every key leads to an input the engine decides on
(`titrator.tui.screens.run_actions`). While the pump link is lost, the NEXT panel says what to do
and c asks the pump worker to reconnect.

The screen sees the app only through `RunHost` (and the pump through `PumpPanel`): it never
imports the app, which imports it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Protocol, runtime_checkable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Footer, Header, RichLog, Static

from titrator.domain.clock import Instant
from titrator.domain.decisions import AlarmCode, Choice, PromptKind, SessionState
from titrator.domain.emergency import emergency_steps
from titrator.domain.plan_format import course_line
from titrator.domain.session.decision import Decision
from titrator.domain.units import (
    ml_per_h_to_mg_per_kg_min,
    ml_per_h_to_ml_per_kg_min,
    plain,
    show_mg_per_kg_min,
    show_ml_per_h,
    show_ml_per_kg_min,
    volume_split,
)
from titrator.tui.screens.marks import MarkedScreen
from titrator.tui.screens.run_actions import Infusion, NurseActions
from titrator.tui.screens.words import ACTION_WORDS, alarm_words, state_words
from titrator.tui.training_cues import bedside_text

ALARM_TEXT = {
    AlarmCode.AUDIT_FAILING: "AUDIT LOG CANNOT BE WRITTEN — no rate increase until it recovers",
    AlarmCode.PUMP_UNCERTAIN: "PUMP STATE UNCERTAIN — reading the pump; only STOP is allowed",
    AlarmCode.PUMP_LINK_LOST: "PUMP LINK LOST — check the pump and the cable; STOP at the pump",
    AlarmCode.PUMP_RATE_MISMATCH: "PUMP RATE DIFFERS FROM THE PLAN — check the pump",
    AlarmCode.VOLUME_DISCREPANCY: "VOLUME DIFFERS FROM THE PUMP — check the pump",
}


def countdown(ms: int | None, now_ms: int) -> str:
    """'12:05' (mm:ss) until a deadline, 'now' when due, '—' when none."""
    if ms is None:
        return "—"
    left = (ms - now_ms) // 1000
    if left <= 0:
        return "now"
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class PumpPanel(Protocol):
    """The pump as the run screen shows it, and the nurse's reconnect key."""

    def pump_text(self) -> str:
        """The pump line: kind, link and state as words and marks."""
        ...

    def reconnect_hint(self) -> str:
        """What to do about a lost link ('' when the link is not lost)."""
        ...

    def reconnect_refusal(self) -> str | None:
        """Why a reconnect is not on offer now; None when it is."""
        ...

    def request_reconnect(self) -> None:
        """Queue one reconnect attempt, or record and show why not."""
        ...


@runtime_checkable
class RunHost(Infusion, Protocol):
    """What the run screen needs of the app: the infusion (`Infusion`) and the pump."""

    @property
    def pump_link(self) -> PumpPanel:
        """The pump line and the reconnect."""
        ...

    def audit_notice(self) -> str:
        """While the audit log cannot be written: where the records are, and paper ('' else)."""
        ...


class RunScreen(MarkedScreen[None]):
    """The infusion in progress."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="run-accept"),
        Binding("o", "override", "Override", id="run-override"),
        Binding("v", "vitals", "Vitals", id="run-vitals"),
        Binding("s", "symptoms", "Symptoms", id="run-symptoms"),
        Binding("p", "pause", "Pause", id="run-pause"),
        Binding("l", "lot", "New lot", id="run-lot"),
        # Not in the footer: at 80 columns it would push F9 STOP off the screen. The NEXT panel
        # names the key whenever the pump link is lost.
        Binding("c", "reconnect", "Reconnect pump", id="run-reconnect", show=False),
        # Not in the footer either (F9 must stay visible): the NEXT panel names m after an
        # emergency stop, and the nurse guide documents it.
        Binding("m", "medication", "Medicine given", id="run-medication", show=False),
    ]

    def __init__(self, host: RunHost | None = None) -> None:
        """Show the infusion of `host` (by default the app this screen is pushed on)."""
        super().__init__()
        self._host = host
        self._shown: dict[str, str] = {}
        self._allowed: tuple[bool | None, ...] = ()
        self.nurse = NurseActions(self, lambda: self.host)
        """What the nurse's keys do."""

    @property
    def host(self) -> RunHost:
        """The app, seen through `RunHost`."""
        if self._host is None:
            app = self.app
            if not isinstance(app, RunHost):
                raise TypeError(f"{type(app).__name__} cannot host the run screen")
            self._host = app
        return self._host

    def compose(self) -> ComposeResult:
        """The status panels, the NEXT line and the event log."""
        yield Header()
        with Horizontal(id="rate-row"):
            yield Digits("0", id="rate-digits")
            with Vertical(id="rate-side"):
                yield Static("mL/h", id="rate-unit")
                yield Static("", id="rate-weight")
                yield Static("", id="step")
        yield Static("", id="timers")
        yield Static("", id="pump-line")
        yield Static("", id="volume")
        yield Static("", id="alarms")
        yield Static("", id="bedside")  # training: the patient's words and the monitor
        yield Static("", id="next")
        yield RichLog(id="events", max_lines=200, wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Draw the current state at once."""
        self.sub_title = "infusion"
        self.call_after_refresh(self.refresh_view)

    # -- drawing -------------------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Redraw from the latest decision and the clock (only what changed)."""
        host = self.host
        decision = host.decision
        # Not yet mounted: its widgets may not be composed yet (a pump result or a tick can
        # arrive first on a busy machine); `on_mount` draws it. `display` is False while the
        # screen is being pruned (the app shutting down): its widgets may already be gone.
        if decision is None or not self.is_mounted or not self.is_attached or not self.display:
            return
        now = host.now()
        plan = host.plan
        rate = decision.rate_ml_per_h
        digits = self.query_one("#rate-digits", Digits)
        if digits.value != plain(rate, 1):
            digits.update(plain(rate, 1))
        if plan is not None:
            weight, conc = plan.dosing_weight_kg, plan.concentration
            self._show(
                "#rate-weight",
                f"{show_mg_per_kg_min(ml_per_h_to_mg_per_kg_min(rate, weight, conc))}\n"
                f"{show_ml_per_kg_min(ml_per_h_to_ml_per_kg_min(rate, weight))}",
            )
            step = f"step {decision.step} of {len(plan.steps)}" if decision.step else "not started"
            self._show("#step", f"{step} · {state_words(decision.state).upper()}")
            given, planned, remaining = volume_split(decision.volume_ml, plan.total_volume_ml)
            volume = f"Volume given {given} of {planned} · remaining {remaining}"
            course = course_line(plan)  # day K of N and the course dose given before
            self._show("#volume", f"{volume}\n{course}" if course else volume)
        self._show("#timers", self._timers_text(decision, now))
        self._show("#pump-line", host.pump_link.pump_text())
        alarms = self.query_one("#alarms", Static)
        lines = [f"!! ALARM: {ALARM_TEXT[c]}" for c in decision.alarms]
        paper = host.audit_notice()  # the log failing: the spool, and paper documentation
        self._show("#alarms", "\n".join([*lines, paper] if paper else lines))
        alarms.display = bool(lines or paper)
        hooks = host.services.training_hooks
        if hooks is not None:
            self.query_one("#bedside", Static).display = True
            self._show("#bedside", bedside_text(hooks))
        hint = host.pump_link.reconnect_hint()  # a lost pump link: what to do, and the key
        next_text = self._next_text(decision)
        emergency = self._emergency_text()
        if emergency:
            next_text = f"{next_text}\n{emergency}"
        if self._show("#next", f"{hint}\n{next_text}" if hint else next_text):
            # The panel may have grown: keep the newest events in view once it is laid out.
            self.call_after_refresh(self._newest_events)
        allowed = tuple(
            self.check_action(name, ()) for name in ("accept", "override", "vitals", "symptoms")
        )
        if allowed != self._allowed:  # the footer is rebuilt only when a key's state changes
            self._allowed = allowed
            self.refresh_bindings()

    def _show(self, selector: str, text: str) -> bool:
        """Update one Static, only if its text changed (a redraw every tick costs CPU)."""
        if self._shown.get(selector) == text:
            return False
        self._shown[selector] = text
        self.query_one(selector, Static).update(text)
        return True

    def _newest_events(self) -> None:
        if self.is_mounted and self.is_attached:
            self.query_one("#events", RichLog).scroll_end(animate=False, immediate=True)

    @staticmethod
    def _timers_text(decision: Decision, now: Instant) -> str:
        due = decision.due
        prompt = decision.prompt
        vitals_due_now = decision.state is SessionState.VITALS_DUE or (
            prompt is not None and prompt.kind is PromptKind.VITALS_DUE
        )
        vitals = "now" if vitals_due_now else countdown(due.vitals_ms, now.mono_ms)
        parts = [
            f"Next step ≥ {countdown(due.step_up_ms, now.mono_ms)}",
            f"Vitals due {vitals}",
        ]
        if due.pause_end_ms is not None:
            parts.append(f"Pause ends {countdown(due.pause_end_ms, now.mono_ms)}")
        if due.volume_complete_ms is not None:
            parts.append(
                f"Dose done at this rate in {countdown(due.volume_complete_ms, now.mono_ms)}"
            )
        if due.observation_end_ms is not None:
            parts.append(f"Observation ends {countdown(due.observation_end_ms, now.mono_ms)}")
        return " · ".join(parts)

    @staticmethod
    def _next_text(decision: Decision) -> str:
        prompt = decision.prompt
        if prompt is None:
            return "NEXT: follow the pump and the patient."
        lines = [f"NEXT ▶ {prompt.title}: {prompt.text}"]
        rec = prompt.recommendation
        if rec is not None and rec.rule_ids:
            lines.append(f"Recommendation: {ACTION_WORDS[rec.action]} ({', '.join(rec.rule_ids)})")
        keys = []
        if prompt.accept:
            keys.append("a = accept")
        if prompt.override:
            keys.append("o = override with a reason")
        if keys:
            lines.append("Keys: " + ", ".join(keys))
        if decision.refusal:
            lines.append(f"✗ Refused: {decision.refusal}")
        return "\n".join(lines)

    def _emergency_text(self) -> str:
        """After an emergency stop: the site's anaphylaxis steps with this patient's dose."""
        controller = self.host.controller
        plan = self.host.plan
        if controller is None or plan is None or not controller.session.emergency_stopped:
            return ""
        anaphylaxis = controller.session.policy.anaphylaxis
        if anaphylaxis is None:
            return "EMERGENCY: no anaphylaxis steps in the policy file: follow the local protocol."
        lines = emergency_steps(anaphylaxis, plan.request.weight_kg)
        return "\n".join((*lines, "m = record a medicine given (drug, dose, route, time, by)"))

    def log_line(self, text: str) -> None:
        """Add one line to the recent events."""
        self.query_one("#events", RichLog).write(text)

    def log_events(self, decision: Decision, now: Instant) -> None:
        """Add a line for each of a decision's events worth showing, stamped with local time."""
        clock_text = now.wall_utc.astimezone().strftime("%H:%M:%S")
        for event in decision.events:
            line = describe_event(event)
            if line:
                self.log_line(f"{clock_text} {line}")

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what the current prompt does not allow (never silently ignore a key)."""
        decision = self.host.decision
        prompt = decision.prompt if decision else None
        if action == "accept":
            return True if prompt is not None and prompt.accept else None
        if action == "override":
            return True if prompt is not None and prompt.override else None
        ended = decision is not None and decision.state in (
            SessionState.CLOSED,
            SessionState.ABORTED,
        )
        if action in ("vitals", "symptoms", "lot", "medication"):
            return None if ended else True
        if action == "pause":
            running = decision is not None and decision.rate_ml_per_h > 0
            return True if running and not ended else None
        if action == "reconnect":
            return self.host.pump_link.reconnect_refusal() is None
        return True

    def on_key(self, event: events.Key) -> None:
        """A greyed-out accept or override still goes to the engine, which refuses and records it.

        Textual does not run a disabled binding's action; without this the key would be ignored
        in silence (and an attempt to override a hard limit would leave no trace).
        """
        if event.key == "c" and not self.check_action("reconnect", ()):
            event.stop()
            self.host.pump_link.request_reconnect()  # refused, the reason on screen and in the log
            return
        choice = {"a": Choice.ACCEPT, "o": Choice.OVERRIDE}.get(event.key)
        if choice is None or self.check_action(choice.value, ()):
            return
        event.stop()
        self.nurse.refused_key(choice)

    def action_accept(self) -> None:
        """Accept the prompt (a rate change is confirmed OLD -> NEW first)."""
        self.nurse.accept()

    def action_override(self) -> None:
        """Override the prompt with a reason."""
        self.nurse.override()

    def action_vitals(self) -> None:
        """Record a vitals set."""
        self.nurse.vitals()

    def action_symptoms(self) -> None:
        """Record the symptoms present now (a reaction can be recorded at any time)."""
        self.nurse.symptoms()

    def action_pause(self) -> None:
        """Pause the infusion for a reason that is not a reaction."""
        self.nurse.pause()

    def action_lot(self) -> None:
        """Record a new lot or bag."""
        self.nurse.lot()

    def action_medication(self) -> None:
        """Record a medicine given (never needed before STOP)."""
        self.nurse.medication()

    def action_reconnect(self) -> None:
        """Ask the pump worker to reconnect after a lost link (never on this thread)."""
        self.host.pump_link.request_reconnect()

    @property
    def prompt_kind(self) -> PromptKind | None:
        """The kind of the prompt on screen (for tests)."""
        decision = self.host.decision
        return decision.prompt.kind if decision and decision.prompt else None


def describe_event(event: object) -> str:
    """One human line for an audit event worth showing in the recent events, or ''."""
    kind = getattr(event, "kind", "")
    if kind == "state_changed":
        return f"state → {state_words(str(getattr(event, 'to_state', '')))}"
    if kind == "rate_changed":
        return f"rate → {show_ml_per_h(getattr(event, 'to_ml_per_h', Decimal(0)))}"
    if kind == "input_refused":
        return f"✗ refused: {getattr(event, 'reason', '')}"
    if kind == "reaction_opened":
        return "!! reaction recorded"
    if kind == "override_recorded":
        return "override recorded"
    if kind == "vitals_accepted":
        return "vitals recorded"
    if kind == "alarm_raised":
        return f"!! alarm: {alarm_words(str(getattr(event, 'code', '')))}"
    if kind == "stop_requested":
        return "STOP pressed"
    return ""
