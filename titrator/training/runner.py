"""Headless training runs: a scripted trainee, the real engine, audit log and pump protocol.

`HeadlessRun` plays what the app does, without a screen: `InfusionController` (engine, then a
real `AuditWriter`, then the pump), `execute_command` over the real New Era driver talking to
the bundled simulator on a loopback TCP port (or a pty), and a `TrainingSession` with the
simulated patient. Time is simulated: the engine's instants and the simulator's physics clock
(a `ManualClock`) move together, jumping straight to the next moment something can happen
(the engine's `upcoming_ms`, the patient's next change, the trainee's next action), so a
four-hour infusion runs in well under a second of waiting. The driver's background poll is
off; when the scenario makes the pump fault, the runner polls the status as the poll would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from simulator import ModelConfig
from simulator.clock import ManualClock
from titrator.audit.writer import AuditWriter
from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import MS_PER_HOUR, Instant
from titrator.domain.decisions import SessionState
from titrator.domain.events import (
    InputEvent,
    LotRecorded,
    Tick,
)
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession
from titrator.files.config import AppConfig, site_limits
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy
from titrator.pump.base import PumpError, PumpEvent
from titrator.pump.newera.driver import NewEraPump
from titrator.shell.clocks import ReadingClock
from titrator.shell.controller import InfusionController, execute_command, link_input, state_input
from titrator.shell.opening import Opening, open_session
from titrator.training.debrief import Debrief
from titrator.training.records import training_station_id
from titrator.training.scenarios import TRAINING_NURSE, TrainingScenario
from titrator.training.session import TrainingSession
from titrator.training.trainees import Bedside, Trainee

ORIGIN_MS: Final = 3_600_000
START_WALL: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TODAY: Final = date(2026, 1, 5)
LIMIT_MS: Final = 24 * MS_PER_HOUR
"""A run stops this long after it began, whatever state it is in."""
_MAX_ACTS_PER_INSTANT: Final = 40


@dataclass(frozen=True)
class RunResult:
    """What a headless run leaves behind.

    Attributes:
        audit_path: the training session's audit log.
        debrief: the debrief computed from it.
        state: the engine's final state.
    """

    audit_path: Path
    debrief: Debrief
    state: SessionState


class HeadlessRun:
    """One scenario played by one scripted trainee.

    Args:
        training: the checked scenario.
        trainee: who plays it.
        library: the product library.
        policy: the reaction policy in force.
        data_dir: where the audit log is written.
        transport: "tcp" (loopback) or "pty" for the simulated pump's line.
        sync_each_record: fsync every audit record (tests may turn it off for speed).
        station_id: the workstation (recorded as TRAINING-<station>).
    """

    def __init__(
        self,
        training: TrainingScenario,
        trainee: Trainee,
        *,
        library: Library,
        policy: LoadedPolicy,
        data_dir: Path,
        transport: str = "tcp",
        sync_each_record: bool = True,
        station_id: str = "headless",
    ) -> None:
        self.training = training
        self.trainee = trainee
        self.library = library
        self.policy = policy
        self.data_dir = data_dir
        self.transport = transport
        self.sync_each_record = sync_each_record
        self.station_id = training_station_id(station_id)
        self.now = Instant(wall_utc=START_WALL, mono_ms=ORIGIN_MS)
        self._physics = ManualClock(ORIGIN_MS / 1000)
        self._pump_events: list[PumpEvent] = []
        self._seen = 0
        self.session_training = TrainingSession(
            training,
            physics_clock=self._physics,
            model_config=ModelConfig(safe_timeout_s=255, power_up_quirk=False),
        )
        self.decision: Decision | None = None
        self.poll_errors: list[str] = []
        """Failures of the emulated background poll (as the driver's `last_keepalive_error`)."""

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Play the scenario to the end (closed, aborted, or the time limit)."""
        training = self.session_training
        with training:
            url = training.start_pump(self.transport)
            self.pump = NewEraPump(
                url,
                safe_timeout_s=255,
                reply_timeout_s=0.25,
                keepalive_s=None,
                on_event=self._pump_events.append,
                clock=self._driver_clock,
            )
            try:
                self.pump.connect(requester="titrator", reason="start-up")
                self._pump_events.clear()  # before the session exists, as in the app
                path = self._play()
            finally:
                self.pump.close()
        return RunResult(path, training.debrief(path), self._decision().state)

    def _play(self) -> Path:
        site = site_limits(AppConfig())
        setup = self.training.setup(self.library, TODAY, site)
        plan = self.training.plan(self.library, TODAY, site)
        session_id = f"training-{self.training.id}-{self.trainee.name}"
        clock = ReadingClock(lambda: self.now)
        writer = AuditWriter.create(
            session_id,
            station_id=self.station_id,
            nurse_id=TRAINING_NURSE,
            data_dir=self.data_dir,
            clock=clock,
            sync_each_record=self.sync_each_record,
        )
        self.session = InfusionSession(plan, self.policy.policy, session_id)
        self.controller = InfusionController(self.session, writer)
        controller = self.controller
        open_session(
            controller,
            self._feed,
            clock,
            Opening(
                policy_sha256=self.policy.sha256,
                library_sha256=self.library.sha256.get(plan.request.product_id, ""),
                setup=setup,
                training=True,
            ),
            checklist=all_confirmed(),
            attach=lambda at: self.session_training.attach(controller, at),
        )
        self._feed(LotRecorded(at=self.now, lot=setup.lot))
        end_ms = ORIGIN_MS + LIMIT_MS
        while True:
            self._act()
            if self._decision().state in (SessionState.CLOSED, SessionState.ABORTED):
                break
            upcoming = self._next_ms()
            if upcoming is None or upcoming > end_ms:
                break
            self._advance(upcoming)
        if self._decision().state is not SessionState.CLOSED:
            writer.close()
        return writer.path

    # -- time ---------------------------------------------------------------------------------

    def _driver_clock(self) -> float:
        """The driver's clock: the run's simulated time.

        The driver's record times then follow the scenario, not the fraction of a second the
        run really takes.
        """
        return self.now.mono_ms / 1000

    def _next_ms(self) -> int | None:
        now_ms = self.now.mono_ms
        times = [t for t in self.session.upcoming_ms() if t > now_ms]
        change_s = self.session_training.patient.next_change_s()
        if change_s is not None:
            times.append(max(now_ms + 1, math.ceil(change_s * 1000)))
        wake = self.trainee.next_ms()
        if wake is not None and wake > now_ms:
            times.append(wake)
        return min(times) if times else None

    def _advance(self, to_ms: int) -> None:
        step_ms = to_ms - self.now.mono_ms
        self._physics.advance(step_ms / 1000)
        self.now = self.now.after_ms(step_ms)
        before = len(self.session_training.patient.happenings())
        self.session_training.tick(self.now)
        new = self.session_training.patient.happenings()[before:]
        if any(h.kind == "pump_fault" for h in new):
            self._poll()
        self._feed(Tick(at=self.now))

    def _poll(self) -> None:
        """What the driver's background poll would do: read the status, report alarms."""
        try:
            self.pump.status(requester="keepalive", reason="watchdog refresh and status poll")
        except PumpError as error:  # the alarm or lost link itself comes through on_event
            self.poll_errors.append(f"{type(error).__name__}: {error}")
        self._drain_pump_events()

    # -- inputs -------------------------------------------------------------------------------

    def _decision(self) -> Decision:
        assert self.decision is not None
        return self.decision

    def _feed(self, event: InputEvent) -> None:
        """Feed one input as the app does: engine, audit, pump commands, results fed back."""
        applied = self.controller.feed(event.model_copy(update={"at": self.now}))
        self.decision = applied.decision
        for command in applied.commands:
            inputs, _status = execute_command(self.pump, command, self.now)
            self.session_training.patient.update()
            for result in inputs:
                self._feed(result)
        self.session_training.on_decision(self._decision(), self.now)
        self._drain_pump_events()

    def _drain_pump_events(self) -> None:
        """Link changes and alarms reach the engine at once (as the app's `on_pump_notice`)."""
        while self._pump_events:
            event = self._pump_events.pop(0)
            news = link_input(event, self.now) or state_input(event, self.now)
            if news is not None:
                self._feed(news)

    def _act(self) -> None:
        """Let the trainee act until it has nothing more to do at this instant."""
        patient = self.session_training.patient
        for _ in range(_MAX_ACTS_PER_INSTANT):
            happened = patient.happenings()
            new, self._seen = happened[self._seen :], len(happened)
            bedside = Bedside(
                now=self.now,
                decision=self._decision(),
                monitor=patient.monitor(),
                complaints=patient.complaints(),
                symptom_ids=patient.symptom_ids(),
                new=new,
                scenario=self.training.scenario,
            )
            inputs = self.trainee.act(bedside)
            if not inputs:
                return
            for event in inputs:
                self._feed(event)
