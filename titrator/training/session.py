"""`TrainingSession`: everything the app needs to run a scenario (see app_hooks.md).

It owns the simulator (pump model and simulated patient on one physics clock), pre-fills the
setup, marks the audit log as training, passes the engine's step to the patient, records what
the scenario makes happen, shows the monitor and complaints, and computes the debrief from the
log afterwards. All calls are quick and meant for the app's UI thread (the simulator's servers
run on their own threads; the patient is thread-safe).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType

from simulator import ModelConfig, Simulator
from simulator.clock import Clock as PhysicsClock
from simulator.clock import ScaledClock as PhysicsScaledClock
from simulator.control import ControlServer
from simulator.patient import SimulatedPatient
from titrator.domain.clock import Instant
from titrator.domain.session.decision import Decision
from titrator.domain.setup import InfusionSetup, RiskFactor
from titrator.shell.controller import InfusionController
from titrator.training.debrief import Debrief, debrief
from titrator.training.records import (
    TrainingEventRecord,
    TrainingScenarioRecord,
    read_training_log,
    training_station_id,
)
from titrator.training.report import render_text, write_html
from titrator.training.scenarios import TrainingScenario, mark_training


class TrainingSession:
    """One trainee running one scenario on the bundled simulator.

    Args:
        training: the checked scenario.
        speed: how many times faster than real time the simulator runs (match the app's clock).
        physics_clock: replaces the simulator's clock (tests: a `ManualClock`).
        model_config: the simulated pump's properties (default: Safe mode, 10 s watchdog).
    """

    def __init__(
        self,
        training: TrainingScenario,
        *,
        speed: float = 1.0,
        physics_clock: PhysicsClock | None = None,
        model_config: ModelConfig | None = None,
    ) -> None:
        self.training = training
        self.scenario = training.scenario
        clock = physics_clock or PhysicsScaledClock(speed)
        self.simulator = Simulator(model_config or ModelConfig(safe_timeout_s=10), clock=clock)
        self.patient = SimulatedPatient(self.scenario, self.simulator.model, clock)
        self._clock = clock
        self._controller: InfusionController | None = None
        self._step = 0
        self._recorded = 0

    # -- before the session ----------------------------------------------------------------

    def start_pump(self, transport: str = "pty") -> str:
        """Serve the simulated pump; returns the URL for `NewEraPump` ("pty" or "tcp")."""
        return self.simulator.start_pty() if transport == "pty" else self.simulator.start_tcp()

    def start_control(self) -> ControlServer:
        """The simulator's JSON control channel with the `patient` op (requests carry `.token`)."""
        control = self.simulator.start_control()
        control.register("patient", self.patient.handle_control)
        return control

    def setup_defaults(self, today: date) -> dict[str, str]:
        """The setup screen's pre-filled fields (`AppServices.setup_defaults`)."""
        return self.training.setup_raw(today)

    def risk_factors(self) -> tuple[RiskFactor, ...]:
        """The risk factors to tick on the setup screen."""
        return self.training.risk_factors()

    def briefing(self) -> str:
        """What the trainee reads before the setup: title, briefing, the patient's history."""
        s = self.scenario
        p = s.patient
        return (
            f"TRAINING SCENARIO: {s.title}\n\n{s.briefing.strip()}\n\n"
            f"Patient: {p.name}, {p.age_years} years, {p.weight_kg} kg. {p.history.strip()}"
        )

    @staticmethod
    def station_id(station_id: str) -> str:
        """The station id for the audit writer: ``TRAINING-<station>`` on every record."""
        return training_station_id(station_id)

    def mark_setup(self, setup: InfusionSetup) -> InfusionSetup:
        """The validated setup with the training marks in its raw fields (before opening)."""
        return mark_training(setup, self.training)

    # -- during the session ----------------------------------------------------------------

    def attach(self, controller: InfusionController, now: Instant) -> None:
        """Call once `session_opened` is recorded: writes the `training_scenario` record."""
        self._controller = controller
        record = TrainingScenarioRecord(
            scenario_id=self.scenario.id, title=self.scenario.title, sha256=self.training.sha256
        )
        controller.record_extra(record.model_dump(mode="json"), now)
        self._record(now)

    def tick(self, now: Instant) -> list[str]:
        """Let the patient's time pass (call every app tick); returns notices to show."""
        self.patient.update()
        return self._record(now)

    def on_decision(self, decision: Decision, now: Instant) -> list[str]:
        """Call after every applied decision: passes the step on; returns notices to show."""
        self.patient.update()
        if decision.step is not None and decision.step > self._step:
            self._step = decision.step
            self.patient.on_step(decision.step)
        return self._record(now)

    def monitor(self) -> dict[str, str]:
        """The simulated monitor now: field -> value as the trainee types it."""
        return self.patient.monitor()

    def complaints(self) -> list[str]:
        """What the patient says now (empty when the patient feels well)."""
        return self.patient.complaints()

    # -- after the session ------------------------------------------------------------------

    def debrief(self, audit_path: str | Path) -> Debrief:
        """The debrief, computed from the session's audit log."""
        return debrief(read_training_log(audit_path), self.scenario)

    def write_debrief(self, audit_path: str | Path, html_path: str | Path) -> Path:
        """Write the debrief as a self-contained HTML page; returns its path."""
        return write_html(self.debrief(audit_path), Path(html_path))

    def debrief_text(self, audit_path: Path, html_path: Path) -> str:
        """Write the debrief page and return the debrief as text (for the app's last screen)."""
        debrief = self.debrief(audit_path)
        page = write_html(debrief, html_path)
        return f"{render_text(debrief)}\nDebrief page: {page}\n"

    def close(self) -> None:
        """Stop the simulator."""
        self.simulator.stop()

    def __enter__(self) -> TrainingSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _record(self, now: Instant) -> list[str]:
        """Write new happenings as `training_event` records; the notices to show.

        A happening is dated on the app's clock: `now`, less how long ago it happened on the
        simulator's clock (both run at the same speed).
        """
        if self._controller is None:
            return []
        notices = []
        happened = self.patient.happenings()
        pending, self._recorded = happened[self._recorded :], len(happened)
        physics_now = self._clock()
        for happening in pending:
            ago_ms = max(0, round((physics_now - happening.at_s) * 1000))
            record = TrainingEventRecord(
                event_id=happening.event_id,
                happening=happening.kind,
                text=happening.text,
                mono_ms=max(0, now.mono_ms - ago_ms),
                sim_s=Decimal(f"{happening.at_s:.3f}"),
            )
            self._controller.record_extra(record.model_dump(mode="json"), now)
            if happening.kind in ("pump_fault", "lot_change"):
                notices.append(happening.text)
        return notices
