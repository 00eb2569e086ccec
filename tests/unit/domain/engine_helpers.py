"""The engine driver for the session-engine tests: a started session fed by a perfect pump."""

from __future__ import annotations

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at, make_plan
from titrator.domain.checklist import all_confirmed
from titrator.domain.perfect_pump import PerfectPump
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Policy
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession


class Driver:
    """Drives the engine itself (no shell, no audit log) through the simple paths.

    The test says when each input happens; the perfect pump answers every command of the
    decision at once. The shell's `titrator.shell.headless.Runner` is the driver one level up
    (controller, audit log, simulated time); the domain tests do not import the shell.
    """

    def __init__(self, plan: Plan | None = None, policy: Policy | None = None) -> None:
        self.session = InfusionSession(plan or make_plan(), policy or POLICY, "test-session")
        self.pump = PerfectPump()
        self.log: list[Decision] = []

    def feed(self, decision: Decision, confirm: bool = True) -> Decision:
        """Log `decision` and, with `confirm`, feed the pump's reply to each of its commands."""
        self.log.append(decision)
        if confirm:
            for command in decision.commands:
                reply = self.pump.reply(command, decision.events[0].at)
                self.log.append(self.session.handle(reply))
        return decision

    def to_baseline(self, t: float = -20) -> Decision:
        self.feed(self.session.open(at(t - 5)))
        return self.feed(self.session.answer_checklist(all_confirmed(), at(t - 4)))

    def start(self, t: float = 0, vitals_t: float = -10) -> Decision:
        self.to_baseline(vitals_t)
        self.feed(self.session.record_vitals(NORMAL, at(vitals_t)))
        self.feed(self.session.record_symptoms([], at(vitals_t)))
        return self.feed(self.session.accept(at(t)))

    def vitals(self, t: float, **changes: str) -> Decision:
        return self.feed(self.session.record_vitals({**NORMAL, **changes}, at(t)))

    def tick(self, t: float) -> Decision:
        return self.feed(self.session.tick(at(t)))

    def accept(self, t: float) -> Decision:
        return self.feed(self.session.accept(at(t)))
