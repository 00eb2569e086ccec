"""The controller: audit first, then pump; increases withheld while the log cannot be written."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at, make_plan
from titrator.audit.errors import AuditWriteError
from titrator.domain.checklist import all_confirmed
from titrator.domain.decisions import Choice, PumpCommand, PumpCommandKind, SessionState
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    NurseDecided,
    PumpOutcome,
    SessionOpened,
    StopRequested,
    Tick,
    VitalsEntered,
)
from titrator.domain.session.engine import InfusionSession
from titrator.pump.fake import FakeFault, FakePump
from titrator.shell.controller import InfusionController, execute_command


class Sink:
    """An audit sink that can be made to fail, recording what was written."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.pending: list[str] = []
        self.failing = False

    def append(
        self, event: Any, *, now: datetime | None = None, mono_ms: int | None = None
    ) -> object:
        self.pending.append(event.kind)
        self.retry()
        return None

    def retry(self) -> None:
        if self.failing:
            raise AuditWriteError("disk full", pending=len(self.pending), errno=28)
        self.written += self.pending
        self.pending.clear()

    @property
    def healthy(self) -> bool:
        return not self.pending

    def close(
        self, event: Any = None, *, now: datetime | None = None, mono_ms: int | None = None
    ) -> object:
        self.written.append("closed:" + event.kind)
        return "head"


class Bench:
    """A controller over a real session and a fake pump; commands are executed at once."""

    def __init__(self) -> None:
        self.sink = Sink()
        self.pump = FakePump(clock=lambda: 0.0)
        self.pump.connect(requester="test", reason="setup")
        self.controller = InfusionController(InfusionSession(make_plan(), POLICY, "c1"), self.sink)
        self.sent: list[PumpCommand] = []

    def feed(self, event: InputEvent) -> None:
        applied = self.controller.feed(event)
        for command in applied.commands:
            self.sent.append(command)
            for reply in execute_command(self.pump, command, event.at)[0]:
                self.feed(reply)


def audit_ok(bench: Bench) -> bool:
    return bench.controller.audit_ok


def started() -> Bench:
    bench = Bench()
    s = bench.controller.session
    bench.feed(SessionOpened(at=at(-20), session_id="c1", plan=s.plan, policy=s.policy))
    bench.feed(ChecklistAnswered(at=at(-19), answers=all_confirmed()))
    bench.feed(VitalsEntered(at=at(-10), raw=dict(NORMAL)))
    bench.feed(NurseDecided(at=at(0), choice=Choice.ACCEPT))
    return bench


def test_events_are_durable_before_the_command_goes_out() -> None:
    bench = started()
    assert bench.controller.session.state is SessionState.RUNNING
    assert bench.pump.true_rate_ml_per_h == 35
    written = bench.sink.written
    assert written.index("pump_command") < written.index("pump_outcome")


def test_an_increase_is_withheld_while_the_audit_log_fails_but_stop_goes_out() -> None:
    bench = started()
    bench.feed(VitalsEntered(at=at(29), raw=dict(NORMAL)))
    bench.feed(Tick(at=at(30)))
    prompt = bench.controller.session.prompt
    assert prompt is not None
    assert prompt.kind.value == "step_up"
    sent_before = len(bench.sent)
    bench.sink.failing = True
    bench.feed(NurseDecided(at=at(30), choice=Choice.ACCEPT, prompt_id=prompt.prompt_id))
    assert bench.pump.true_rate_ml_per_h == 35, "no increase reached the pump"
    assert not audit_ok(bench)
    increases = [c for c in bench.sent[sent_before:] if c.kind is PumpCommandKind.SET_RATE]
    assert all((c.rate_ml_per_h or 0) <= 35 for c in increases)
    # STOP still goes out while the log is failing.
    bench.feed(StopRequested(at=at(31), reason="nurse"))
    assert bench.pump.true_state.value != "infusing"
    assert bench.controller.session.state is SessionState.STOPPED


def test_the_log_recovers_and_everything_pending_is_written_in_order() -> None:
    bench = started()
    bench.sink.failing = True
    bench.feed(VitalsEntered(at=at(15), raw=dict(NORMAL)))
    assert not audit_ok(bench)
    bench.sink.failing = False
    applied = bench.controller.retry_audit(at(16))
    assert applied is not None
    assert audit_ok(bench)
    assert bench.sink.healthy
    assert bench.sink.written.count("audit_health") == 2  # failing, then healthy again
    assert bench.sink.written.index("vitals_entered") < len(bench.sink.written) - 1


def test_execute_maps_pump_faults_to_engine_inputs() -> None:
    pump = FakePump(clock=lambda: 0.0)
    pump.connect(requester="t", reason="t")
    command = PumpCommand(command_id=1, kind=PumpCommandKind.SET_RATE, rate_ml_per_h=Decimal(42))
    [ok], status = execute_command(pump, command, at(0))
    assert status is not None
    assert isinstance(ok, PumpOutcome)
    assert ok.outcome == "confirmed"
    assert ok.reported_rate_ml_per_h == 42
    pump.script("set_rate", FakeFault.NO_REPLY)
    [lost], _ = execute_command(pump, command, at(1))
    assert isinstance(lost, PumpOutcome)
    assert lost.outcome == "uncertain"
    too_fast = PumpCommand(command_id=2, kind=PumpCommandKind.SET_RATE, rate_ml_per_h=Decimal(5000))
    pump.status(requester="t", reason="resync")
    [refused], _ = execute_command(pump, too_fast, at(2))
    assert isinstance(refused, PumpOutcome)
    assert refused.outcome == "failed"
    assert "OutOfRange" in refused.detail
