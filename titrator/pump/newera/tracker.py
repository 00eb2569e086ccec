"""What the New Era driver knows about its pump and link, kept from the pump's replies.

Part of the New Era driver (`titrator.pump.newera.driver`). The exchange hands every reply (and
every alarm packet that arrived unasked) to the tracker, which turns it into the pump's state,
alarms and VTBI completion, keeps the link state, and reports each change through the event hook.
The driver's status snapshots are taken from it.

Not thread-safe on its own: the driver holds its lock around every use, and so does the poller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Final

from titrator.pump.base import (
    AlarmEvent,
    AlarmKind,
    EventHook,
    EventKind,
    LinkGuard,
    PumpEvent,
    PumpLinkState,
    PumpState,
    PumpStatus,
)
from titrator.pump.newera.codec import Reply
from titrator.pump.newera.replies import ALARM_KIND, PROMPT_STATE

RUNNING: Final = (PumpState.INFUSING, PumpState.WITHDRAWING, PumpState.PURGING)
"""The pump states in which the pump delivers (or withdraws)."""


class StateTracker:
    """The pump's state, rate, VTBI and alarms as last reported, and the link state.

    Args:
        on_event: receives link changes, alarms, comms faults and VTBI completion.
        clock: the monotonic clock stamped on alarms and snapshots.

    Attributes:
        rate_ml_per_h: the rate last read back from the pump; None if unknown.
        vtbi_ml: the volume to be infused last read back (0: continuous); None if unknown.
    """

    def __init__(self, on_event: EventHook | None, clock: Callable[[], float]) -> None:
        self.rate_ml_per_h: Decimal | None = None
        self.vtbi_ml: Decimal | None = None
        self._on_event, self._clock = on_event, clock
        self._guard = LinkGuard()
        self._pump_state = PumpState.UNKNOWN
        self._vtbi_complete = False
        self._alarms: list[AlarmEvent] = []
        self._news = 0
        self._standing_alarm: AlarmKind | None = None
        """The alarm reported and not yet cleared (no normal prompt since)."""
        self._op_alarm: AlarmKind | None = None
        self._stopping = False

    @property
    def link_state(self) -> PumpLinkState:
        """The current link state."""
        return self._guard.state

    @property
    def unlinked(self) -> bool:
        """True when the link is DISCONNECTED or LOST: no exchange is expected to work."""
        return self._guard.state in (PumpLinkState.LOST, PumpLinkState.DISCONNECTED)

    @property
    def pump_state(self) -> PumpState:
        """What the pump last reported doing."""
        return self._pump_state

    @property
    def running(self) -> bool:
        """True when the pump last reported delivering (or withdrawing)."""
        return self._pump_state in RUNNING

    @property
    def alarm(self) -> AlarmKind | None:
        """The alarm seen during the current operation, if any."""
        return self._op_alarm

    @property
    def news(self) -> int:
        """How many alarm and VTBI-end events have been reported so far."""
        return self._news

    def require(self, operation: str) -> None:
        """Raise if the link state does not allow `operation` (see `LinkGuard.require`)."""
        self._guard.require(operation)

    def begin_operation(self) -> None:
        """Start an operation: forget the alarm the previous one saw."""
        self._op_alarm = None

    def forget_vtbi_complete(self) -> None:
        """The pump was started again: its VTBI end is over."""
        self._vtbi_complete = False

    @contextmanager
    def stopping(self) -> Iterator[None]:
        """While the driver stops the pump, its going from infusing to stopped is no VTBI end."""
        self._stopping = True
        try:
            yield
        finally:
            self._stopping = False

    def take_alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms seen since the previous call."""
        out, self._alarms = tuple(self._alarms), []
        return out

    def snapshot(self) -> PumpStatus:
        """The pump's status as last read."""
        return PumpStatus(
            pump_state=self._pump_state,
            link_state=self._guard.state,
            rate_ml_per_h=self.rate_ml_per_h,
            vtbi_ml=self.vtbi_ml,
            alarm=self._op_alarm,
            vtbi_complete=self._vtbi_complete,
            monotonic_s=self._clock(),
        )

    def emit(self, kind: EventKind, detail: str, alarm: AlarmKind | None = None) -> None:
        """Report an event, with the status snapshot of this moment."""
        if self._on_event is not None:
            self._on_event(PumpEvent(kind, self.snapshot(), detail, alarm))

    # -- the link ---------------------------------------------------------------------------

    def set_link(self, state: PumpLinkState, detail: str) -> None:
        """Move the link to `state` (see `LinkGuard.move`), reporting a change."""
        if self._guard.move(state):
            self.emit(EventKind.LINK_CHANGED, f"link {state}: {detail}")

    def lose(self, detail: str) -> None:
        """The link is LOST: the pump's state and rate are unknown."""
        self._pump_state, self.rate_ml_per_h = PumpState.UNKNOWN, None
        self.set_link(PumpLinkState.LOST, detail)

    def disconnected(self) -> None:
        """The port was closed: DISCONNECTED, the pump's state unknown (nothing is reported)."""
        self._guard.state = PumpLinkState.DISCONNECTED
        self._pump_state = PumpState.UNKNOWN

    def still_lost(self) -> None:
        """A reconnect after loss heard no pump: LOST again, as before it (nothing is reported)."""
        self._guard.state = PumpLinkState.LOST

    # -- what the pump says -----------------------------------------------------------------

    def note_alarm(self, kind: AlarmKind, solicited: bool) -> None:
        """Record an alarm and put the pump in ALARM (every New Era alarm stops it).

        The state changes before anyone is told, so the event itself says the pump is not
        infusing. The same alarm seen again before the pump has shown a normal prompt (the
        Safe-mode packet, then the acknowledging reply) is the same alarm and is reported once.

        Args:
            kind: the alarm.
            solicited: False when the pump sent it unasked (a Safe-mode alarm packet).
        """
        self._op_alarm = kind
        self._pump_state = PumpState.ALARM
        if kind is AlarmKind.POWER_RESET:
            self.rate_ml_per_h = None  # a rate set while running is not kept over a power cut
        if self._standing_alarm is kind:
            return
        self._standing_alarm = kind
        self._alarms.append(AlarmEvent(kind, self._clock(), solicited))
        self._news += 1
        self.emit(EventKind.ALARM, f"pump alarm: {kind}", kind)

    def absorb(self, reply: Reply) -> None:
        """Take in the status a reply to a command reports: an alarm, or what the pump does."""
        if reply.alarm is not None:
            self.note_alarm(ALARM_KIND[reply.alarm], solicited=True)
            return
        if reply.prompt is None:  # pragma: no cover - the grammar gives one or the other
            return
        self._standing_alarm = None  # a normal prompt: the alarm was acknowledged
        new, old = PROMPT_STATE[reply.prompt], self._pump_state
        self._pump_state = new
        stopped_itself = old is PumpState.INFUSING and new is PumpState.STOPPED
        vtbi_set = self.vtbi_ml is not None and self.vtbi_ml > 0
        if stopped_itself and not self._stopping and vtbi_set:
            # Inferred: alarms show first as A?x, our STP gives P; only VTBI end goes I -> S.
            self._vtbi_complete = True
            self._news += 1
            self.emit(EventKind.VTBI_COMPLETE, "volume to be infused reached; pump stopped")
