"""Driving the app in tests: wait on conditions (never sleep), walk the screens, move the clock.

The app ticks on a real one-second timer; with a `ManualClock` those ticks change nothing until
the clock moves, so `advance()` moves the clock and calls `app.tick()` itself, then waits for the
pump worker to finish the commands that followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual import events
from textual.keys import _character_to_key
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select, SelectionList, Static

from tests.support.app import NORMAL_VITALS, Built
from titrator.audit.reader import read_audit
from titrator.domain.checklist import ITEMS, ItemAnswer, ItemStatus
from titrator.domain.decisions import Choice, PromptKind, SessionState
from titrator.domain.events import (
    AUDIT_EVENT_ADAPTER,
    AUDIT_KINDS,
    AuditEvent,
    NurseDecided,
    SymptomsEntered,
    VitalsEntered,
)
from titrator.domain.session.decision import Decision
from titrator.shell.clocks import ManualClock
from titrator.tui.app import TitratorApp
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.checklist import ChecklistRow, ChecklistScreen
from titrator.tui.screens.preinfusion import PreInfusionScreen
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen

TIMEOUT_S = 10.0
"""Generous: the box running the tests is loaded."""


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT_S
) -> None:
    """Let the app run until `predicate()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause()


class Notices:
    """What the app told the nurse: pass as `run_test(message_hook=...)` to collect its notices.

    The hook sees every message the app handles (also the pump worker's); this keeps the text of
    each `Notify`, in order.
    """

    def __init__(self) -> None:
        self.shown: list[str] = []

    def __call__(self, message: Message) -> None:
        """Keep the text of a notice."""
        if isinstance(message, Notify):
            self.shown.append(message.notification.message)

    def said(self, text: str) -> bool:
        """Whether any notice so far contains `text`."""
        return any(text in shown for shown in self.shown)


def the_app(pilot: Pilot[Any]) -> TitratorApp:
    """The pilot's app, typed."""
    app = pilot.app
    assert isinstance(app, TitratorApp)
    return app


def decision(app: TitratorApp) -> Decision:
    """The engine's latest decision (there must be one)."""
    assert app.decision is not None
    return app.decision


def prompt_kind(app: TitratorApp) -> PromptKind | None:
    """The kind of the prompt the engine shows now."""
    d = app.decision
    return d.prompt.kind if d is not None and d.prompt is not None else None


async def on_screen(pilot: Pilot[Any], kind: type[Screen[Any]]) -> None:
    """Wait until the active screen is a `kind`."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no pump command is queued or awaiting its outcome, and messages are handled."""
    app = the_app(pilot)

    def idle() -> bool:
        controller = app.controller
        busy = controller is not None and controller.session.awaiting_command is not None
        return not busy and app.pump_worker.queued == 0

    await wait_for(pilot, idle, "the pump commands to finish")
    await pilot.pause()


async def advance(
    pilot: Pilot[Any], built: Built, *, minutes: float = 0, seconds: float = 0
) -> None:
    """Move the manual clock, run one tick at the new time, and let the pump catch up."""
    built.clock.advance(minutes=minutes, seconds=seconds)
    the_app(pilot).tick()
    await settle(pilot)


async def advance_clock(pilot: Pilot[Any], *, minutes: float = 0, seconds: float = 0) -> None:
    """`advance` for an app whose `Built` is not at hand (its clock must be a ManualClock)."""
    clock = the_app(pilot).services.clock
    assert isinstance(clock, ManualClock)
    clock.advance(minutes=minutes, seconds=seconds)
    the_app(pilot).tick()
    await settle(pilot)


# -- walking the screens before the run ----------------------------------------------------------


async def finish_setup(pilot: Pilot[Any]) -> None:
    """Submit the (pre-filled) setup with F2."""
    await on_screen(pilot, SetupScreen)
    await pilot.press("f2")
    await on_screen(pilot, ChecklistScreen)


async def finish_checklist(pilot: Pilot[Any], *, typed: bool = True) -> None:
    """Confirm every checklist item (y on each, or set directly when not `typed`), then F2."""
    await on_screen(pilot, ChecklistScreen)
    rows = list(pilot.app.screen.query(ChecklistRow))
    if typed:
        await pilot.press(*["y"] * len(rows))
    else:
        for row in rows:
            row.action_confirm()
    await pilot.press("f2")
    await finish_preinfusion(pilot, typed=typed)


async def finish_preinfusion(pilot: Pilot[Any], *, typed: bool = True) -> None:
    """Document a lot expiring in a year and a normal IgA, no premedication, then F2.

    Typed: the expiry typed, Tab, and the IgA status chosen with the keys (Enter opens the
    list on its blank prompt; 'normal' is two down); otherwise the values are set directly.
    """
    await on_screen(pilot, PreInfusionScreen)
    screen = pilot.app.screen
    expiry = (the_app(pilot).services.today() + timedelta(days=365)).isoformat()
    if typed:
        await pilot.press(*expiry, "tab", "enter", "down", "down", "enter")
    else:
        screen.query_one("#lot_expiry", Input).value = expiry
        screen.query_one("#iga_status", Select).value = "normal"
    await pilot.pause()
    await pilot.press("f2")
    await on_screen(pilot, PlanPreviewScreen)


async def to_run_screen(pilot: Pilot[Any], *, typed: bool = False) -> None:
    """Setup, checklist and plan preview, to the run screen with the session open."""
    await finish_setup(pilot)
    await finish_checklist(pilot, typed=typed)
    await pilot.press("f2")
    app = the_app(pilot)
    await on_screen(pilot, RunScreen)
    await wait_for(
        pilot,
        lambda: app.decision is not None and app.decision.state is SessionState.BASELINE,
        "the session to open at baseline",
    )
    await settle(pilot)


async def open_session(pilot: Pilot[Any]) -> None:
    """The fast way to the run screen, for tests about what follows: the pre-filled setup and a
    fully confirmed checklist are handed to the app as its screens would (no screen walk)."""
    app = the_app(pilot)
    await on_screen(pilot, SetupScreen)
    setup_screen = app.screen
    assert isinstance(setup_screen, SetupScreen)
    setup_screen.action_next()
    await on_screen(pilot, ChecklistScreen)
    app.pop_screen()
    app.checklist = tuple(
        ItemAnswer(item_id=item.id, status=ItemStatus.CONFIRMED) for item in ITEMS
    )
    app.start_session()
    await on_screen(pilot, RunScreen)
    await settle(pilot)
    assert decision(app).state is SessionState.BASELINE


async def quick_start(pilot: Pilot[Any]) -> None:
    """`open_session`, then normal baseline vitals, no symptoms and the start, fed directly."""
    await open_session(pilot)
    app = the_app(pilot)
    assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
    assert app.submit(SymptomsEntered(at=app.now(), symptoms=())) is None
    prompt = decision(app).prompt
    assert prompt is not None
    assert prompt.kind is PromptKind.START
    app.feed(NurseDecided(at=app.now(), choice=Choice.ACCEPT, prompt_id=prompt.prompt_id))
    await settle(pilot)
    assert decision(app).state is SessionState.RUNNING


async def to_step_up(pilot: Pilot[Any], built: Built) -> None:
    """`quick_start`, then the first dwell with fresh vitals: the step-up is offered."""
    await quick_start(pilot)
    await advance(pilot, built, minutes=15)
    await record_vitals(pilot)
    await advance(pilot, built, minutes=15)
    assert prompt_kind(the_app(pilot)) is PromptKind.STEP_UP


# -- dialogs -------------------------------------------------------------------------------------


async def fill_vitals(
    pilot: Pilot[Any], values: Mapping[str, str] = NORMAL_VITALS, *, typed: bool = False
) -> VitalsModal:
    """Open the vitals dialog (v) and fill it: key by key when `typed`, else set each box."""
    if not isinstance(pilot.app.screen, VitalsModal):
        await pilot.press("v")
        await on_screen(pilot, VitalsModal)
    modal = pilot.app.screen
    assert isinstance(modal, VitalsModal)
    for field_id, text in values.items():
        box = modal.query_one(f"#{field_id}", Input)
        if typed:
            box.focus()
            box.value = ""
            await pilot.press(*text)
        else:
            box.value = text
    await pilot.pause()
    return modal


async def record_vitals(
    pilot: Pilot[Any], values: Mapping[str, str] = NORMAL_VITALS, *, typed: bool = False
) -> None:
    """Record a vitals set the engine accepts (the dialog closes)."""
    await fill_vitals(pilot, values, typed=typed)
    await pilot.press("f2")
    await wait_for(
        pilot, lambda: not isinstance(pilot.app.screen, VitalsModal), "the vitals dialog to close"
    )
    await settle(pilot)


def burst(pilot: Pilot[Any], text: str) -> None:
    """Queue one key per character of `text` (a Tab as the tab key), all before any is handled.

    Keys as they arrive from a fast nurse, a barcode scanner, or while the app was busy: Pilot's
    `press` lets the app settle between keys and never shows what a burst does.
    """
    for char in text:
        key = "tab" if char == "\t" else _character_to_key(char)
        pilot.app.post_message(events.Key(key, char))


def queue_keys(pilot: Pilot[Any], *keys: str) -> None:
    """Queue named keys (`f2`, `down`, `space`, `enter`...) behind any queued so far, unhandled."""
    for key in keys:
        pilot.app.post_message(events.Key(key, " " if key == "space" else None))


async def open_symptoms(pilot: Pilot[Any]) -> SelectionList[str]:
    """Press s on the run screen; the symptom dialog's tick list, once it has the focus."""
    await pilot.press("s")
    await on_screen(pilot, SymptomsModal)
    checklist: SelectionList[str] = pilot.app.screen.query_one("#symptom-list", SelectionList)
    await wait_for(pilot, lambda: checklist.has_focus, "the tick list to have the focus")
    return checklist


async def record_symptoms(pilot: Pilot[Any], symptoms: Iterable[str] = (), other: str = "") -> None:
    """Open the symptom checklist (s), tick exactly `symptoms`, type `other`, record (F2)."""
    await pilot.press("s")
    await on_screen(pilot, SymptomsModal)
    modal = pilot.app.screen
    checklist: SelectionList[str] = modal.query_one("#symptom-list", SelectionList)
    checklist.deselect_all()
    for symptom in symptoms:
        checklist.select(symptom)
    modal.query_one("#other", Input).value = other
    await pilot.press("f2")
    await wait_for(
        pilot,
        lambda: not isinstance(pilot.app.screen, SymptomsModal),
        "the symptom dialog to close",
    )
    await settle(pilot)


async def accept(pilot: Pilot[Any]) -> None:
    """Press a; confirm a rate change (Enter, then C when it asks for a second key)."""
    await pilot.press("a")
    await pilot.pause()
    screen = pilot.app.screen
    if isinstance(screen, RateConfirmModal):
        await pilot.press("enter")
        if screen.change.needs_second_key:
            await pilot.press("c")
        await wait_for(
            pilot,
            lambda: not isinstance(pilot.app.screen, RateConfirmModal),
            "the rate confirmation to close",
        )
    await settle(pilot)


async def start_infusion(pilot: Pilot[Any]) -> None:
    """From the baseline: vitals, no symptoms, accept the start (a, Enter, C)."""
    await record_vitals(pilot)
    await record_symptoms(pilot)
    app = the_app(pilot)
    assert prompt_kind(app) is PromptKind.START, decision(app).prompt
    await accept(pilot)
    assert decision(app).state is SessionState.RUNNING


# -- the audit log -------------------------------------------------------------------------------


def log_events(path: Path) -> list[AuditEvent]:
    """Every engine event in a session log, in order (the app's `pump_wire` trace is skipped)."""
    return [
        entry.event
        for entry in read_audit(path, AUDIT_EVENT_ADAPTER, AUDIT_KINDS)
        if entry.event is not None
    ]


def kinds(events: Iterable[AuditEvent]) -> list[str]:
    """The kinds of `events`, in order."""
    return [event.kind for event in events]


def screen_text(pilot: Pilot[Any]) -> str:
    """The plain text of the active screen as rendered now (one line per terminal row)."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


def static_text(screen: Screen[Any], selector: str) -> str:
    """The text of one `Static` on `screen`."""
    return str(screen.query_one(selector, Static).content)
