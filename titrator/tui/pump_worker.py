"""The one thread that talks to the pump, and the messages it posts to the app.

`PumpWorker` owns the pump adapter's command queue and the Textual thread worker that drains
it: it connects, then sends the engine's commands one at a time, in order, for the life of the
app, each through `titrator.shell.controller.execute_command`. Nothing it learns is written
into the app from its thread: the start-up connect, every command's outcome, the adapter's hooks
(wire bytes, link changes, alarms, manual instructions; they may fire on the adapter's own
threads) and a reconnect attempt (`titrator.tui.reconnect`) each come back as a message, handled
on the UI thread. The UI thread never waits on the pump.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message

from titrator.domain.clock import Clock
from titrator.domain.decisions import PumpCommand
from titrator.pump.base import (
    PumpAdapter,
    PumpError,
    PumpEvent,
    PumpLinkState,
    PumpStatus,
    WireDirection,
    WireRecord,
)
from titrator.pump.manual import ManualPump
from titrator.tui.reconnect import ReconnectRequest, attempt
from titrator.tui.services import PumpFactory

if TYPE_CHECKING:  # the engine's inputs load with the first command (issue 17, start-up)
    from titrator.domain.events import InputEvent

START_REQUESTER = "titrator"
"""Who the start-up connect is made for (it is on every wire record of it)."""


class PumpConnected(Message):
    """How the start-up connect ended (posted by the pump worker).

    Attributes:
        link: the adapter's link state after the attempt.
        status: the status read while connecting (None on failure).
        problem: the error's class and message on failure, else "".
    """

    def __init__(self, link: PumpLinkState, status: PumpStatus | None, problem: str) -> None:
        super().__init__()
        self.link = link
        self.status = status
        self.problem = problem


class PumpResult(Message):
    """The engine inputs that follow from one pump command (posted by the pump worker).

    Attributes:
        inputs: the inputs to feed, in order (stamped when fed, so time never runs backwards).
        link: the adapter's link state after the command.
        status: the last status the adapter reported (None on error).
    """

    def __init__(
        self, inputs: list[InputEvent], link: PumpLinkState, status: PumpStatus | None
    ) -> None:
        super().__init__()
        self.inputs = inputs
        self.link = link
        self.status = status


class PumpWire(Message):
    """Bytes on the pump wire (posted from a pump thread).

    Attributes:
        record: the bytes, their direction and who asked.
    """

    def __init__(self, record: WireRecord) -> None:
        super().__init__()
        self.record = record


class PumpNotice(Message):
    """An adapter event: link change, alarm, manual instruction (posted from a pump thread).

    Attributes:
        event: what the adapter reported, with its status.
    """

    def __init__(self, event: PumpEvent) -> None:
        super().__init__()
        self.event = event


class PumpWorker:
    """The pump's command queue and the one thread that sends from it.

    Args:
        app: where the messages go (the app; `post_message` is safe from any thread).
        clock: stamps each command's outcome (the app re-stamps it when it feeds it).
    """

    def __init__(self, app: App[Any], clock: Clock) -> None:
        self._app = app
        self._clock = clock
        self._queue: queue.Queue[PumpCommand | ReconnectRequest | None] = queue.Queue()
        self.pump: PumpAdapter | None = None
        """The adapter, once `start` has built it."""

    def start(self, factory: PumpFactory) -> PumpAdapter:
        """Build the adapter with hooks that post messages, then start the thread (once).

        Args:
            factory: builds the adapter (manual, New Era serial, simulator, fake).

        Returns:
            The adapter.
        """
        pump = self.pump = factory(self._on_wire, self._on_event)
        self._app.run_worker(self._run, name="pump", group="pump", exit_on_error=False, thread=True)
        return pump

    @property
    def queued(self) -> int:
        """Commands and reconnect requests waiting (not counting the one under way)."""
        return self._queue.qsize()

    def send(self, commands: Iterable[PumpCommand]) -> None:
        """Queue the engine's commands (their intents are already durable), in order."""
        for command in commands:
            self._queue.put(command)

    def reconnect(self, requester: str) -> None:
        """Queue one reconnect attempt behind the commands already waiting."""
        self._queue.put(ReconnectRequest(requester))

    def close(self) -> None:
        """Let the thread end after what is queued; drop a manual instruction still waiting.

        The manual pump's pending instruction is superseded, or the thread would wait for it.
        """
        self._queue.put(None)
        if isinstance(self.pump, ManualPump):
            self.pump.close()

    def _on_wire(self, record: WireRecord) -> None:
        self._app.post_message(PumpWire(record))

    def _on_event(self, event: PumpEvent) -> None:
        self._app.post_message(PumpNotice(event))

    def _run(self) -> None:
        """Connect, then send commands one at a time, in order, until `close`."""
        pump = self.pump
        assert pump is not None
        status: PumpStatus | None = None
        problem = ""
        try:
            status = pump.connect(requester=START_REQUESTER, reason="start-up").status
        except PumpError as error:
            problem = f"{type(error).__name__}: {error}"
        self._app.post_message(PumpConnected(pump.link_state, status, problem))
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, ReconnectRequest):
                self._app.post_message(attempt(pump, item))
                continue
            from titrator.shell.controller import execute_command

            inputs, status = execute_command(pump, item, self._clock.now())
            self._app.post_message(PumpResult(inputs, pump.link_state, status))


class PollFilter:
    """Keeps the keepalive's identical status polls out of the audit log.

    The keepalive's routine status polls repeat every second; a poll is worth recording when
    its bytes differ from the previous poll in the same direction or carry a note (unsolicited
    alarm, garbage, stale reply), so every change on the wire is kept without thousands of
    identical lines. Everything that is not a routine poll is always worth recording.
    """

    def __init__(self) -> None:
        self._last: dict[WireDirection, str] = {}

    def worth_recording(self, record: WireRecord) -> bool:
        """Whether `record` is news (call once per record, on one thread)."""
        if record.requester != "keepalive" or record.note:
            return True
        if self._last.get(record.direction) == record.data_hex:
            return False
        self._last[record.direction] = record.data_hex
        return True
