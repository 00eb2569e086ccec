"""The one headless driver: a session driven through simulated time by script lines.

`Runner` feeds each input through an `InfusionController` (as the app does), plays a perfect
pump (`titrator.domain.perfect_pump`), lets simulated time pass by ticking at every moment
something may fall due, and prints one JSON line per decision (or nothing, without an output
stream). `Runner.run` opens the session with `open_session` at the first line, feeds every line
and runs on after the last; its `open_log` gets a clock reading the run's simulated time.

It drives `titrator simulate`, the audit corpus (scripts/make_audit_corpus.py) and the test
fixtures that record realistic logs (the review logs, the crash and write-failure harnesses).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TextIO

from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import MS_PER_MIN, Clock, Instant
from titrator.domain.decisions import Choice, PromptKind, PumpCommand, SessionState
from titrator.domain.events import (
    InputEvent,
    LotRecorded,
    NurseDecided,
    PauseRequested,
    StopRequested,
    SymptomsEntered,
    Tick,
    VitalsEntered,
)
from titrator.domain.perfect_pump import PerfectPump
from titrator.domain.policy import Severity
from titrator.domain.session.decision import Decision
from titrator.domain.units import plain
from titrator.shell.clocks import ReadingClock
from titrator.shell.controller import AuditSink, InfusionController
from titrator.shell.opening import Opening, open_session
from titrator.shell.script import ORIGIN_MONO_MS, ScriptLine, override_reason

TAIL_LIMIT_MS = 48 * 60 * MS_PER_MIN
"""After the last line, time runs on at most this long (or until nothing more is due)."""


def _json(value: object) -> str:
    """JSON with Decimals written as plain numbers (never through float)."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class Runner:
    """Drives one session from script lines, with a perfect pump, on simulated time.

    Every input goes through an `InfusionController`, which records its events before releasing
    any command, exactly as in the app; the released commands go to the perfect pump and its
    replies are fed back.

    Args:
        controller: the session's controller; its audit log, if any, is opened by `run`.
        start: the instant of t_min 0 (monotonic `ORIGIN_MONO_MS`).
        auto_accept: accept every prompt that can be accepted, as a nurse who always follows the
            recommendations would (a start waits for t_min 0).
        out: where to print one JSON line per decision; None prints nothing.
    """

    def __init__(
        self,
        controller: InfusionController,
        start: Instant,
        auto_accept: bool = False,
        out: TextIO | None = None,
    ) -> None:
        self.controller = controller
        self.session = controller.session
        self.start = start
        self.auto_accept = auto_accept
        self.out = out
        self.now_ms: int | None = None
        """The simulated monotonic time (None until the run has a first moment)."""
        self.pump = PerfectPump()
        """The pump (commands withheld by the controller never reach it)."""

    @property
    def pump_rate_ml_per_h(self) -> Decimal:
        """What the pump really runs at."""
        return self.pump.rate_ml_per_h

    def instant(self, t_ms: int) -> Instant:
        """The instant at monotonic `t_ms` (wall clock in step with it)."""
        return self.start.after_ms(t_ms - self.start.mono_ms)

    def current(self) -> Instant:
        """The simulated time now."""
        return self.instant(self.start.mono_ms if self.now_ms is None else self.now_ms)

    def emit(self, decision: Decision, trigger: str) -> None:
        """Print a decision (quiet ticks, or a run without an output stream, print nothing)."""
        if not decision.events or self.out is None:
            return
        t_min = Decimal(decision.events[0].at.mono_ms - ORIGIN_MONO_MS) / MS_PER_MIN
        line: dict[str, object] = {
            "t_min": Decimal(plain(t_min, 3)),
            "trigger": trigger,
            "state": decision.state.value,
            "step": decision.step,
            "rate_ml_per_h": decision.rate_ml_per_h,
            "volume_ml": Decimal(plain(decision.volume_ml, 1)),
            "prompt": decision.prompt.kind.value if decision.prompt else None,
        }
        rec = decision.recommendation
        if rec is not None:
            line["recommendation"] = {
                "action": rec.action.value,
                "rule_ids": list(rec.rule_ids),
                "reason": rec.reason,
            }
        if decision.refusal is not None:
            line["refused"] = decision.refusal
        if decision.alarms:
            line["alarms"] = [a.value for a in decision.alarms]
        self.out.write(_json(line) + "\n")

    def feed(self, event: InputEvent, trigger: str) -> None:
        """Feed one input; print, send the released commands, then auto-accept if asked."""
        if self.controller.closing:
            # The engine closed the session and its log: later inputs are refused, not logged.
            self.emit(self.session.handle(event), trigger)
            return
        applied = self.controller.feed(event)
        self.emit(applied.decision, trigger)
        self.send(applied.commands, event.at)
        if self.auto_accept and self._acceptable(event.at):
            self.feed(NurseDecided(at=event.at, choice=Choice.ACCEPT), "auto-accept")

    def send(self, commands: Sequence[PumpCommand], now: Instant) -> None:
        """Send commands to the pump and feed its replies back.

        A reply that changes the state (the confirmed start that begins the infusion) is printed.
        """
        for command in commands:
            before = self.session.state
            applied = self.controller.feed(self.pump.reply(command, now))
            if self.session.state is not before:
                self.emit(applied.decision, "pump")
            self.send(applied.commands, now)

    def _acceptable(self, now: Instant) -> bool:
        prompt = self.session.prompt
        if prompt is None or not prompt.accept:
            return False
        # The infusion starts at t_min 0: a baseline taken earlier waits for it.
        return prompt.kind is not PromptKind.START or now.mono_ms >= ORIGIN_MONO_MS

    def advance(self, until_ms: int, inclusive: bool = True) -> None:
        """Tick at every moment something may fall due, up to `until_ms`.

        Before a script line the moment of the line itself is excluded: an input that arrives
        exactly when it falls due is on time. A failing audit log is retried at every tick.
        """
        for _ in range(10_000):
            after = self.now_ms if self.now_ms is not None else until_ms
            candidates = [*self.session.upcoming_ms(), ORIGIN_MONO_MS]
            due = sorted(
                t
                for t in candidates
                if after < t and (t <= until_ms if inclusive else t < until_ms)
            )
            if not due:
                break
            self.now_ms = due[0]
            now = self.instant(due[0])
            retried = self.controller.retry_audit(now)
            if retried is not None:
                self.send(retried.commands, now)
            self.feed(Tick(at=now), "tick")
        self.now_ms = until_ms

    def open(
        self,
        at: Instant,
        opening: Opening | None = None,
        open_log: Callable[[Clock], AuditSink] | None = None,
    ) -> None:
        """Open the session at `at` and record the pre-infusion checks as done.

        Args:
            at: the opening instant (the run's time moves there).
            opening: what `session_opened` records besides the plan and the policy.
            open_log: opens the audit log given a clock that reads the run's simulated time;
                the controller records into it from `session_opened` on.
        """
        self.now_ms = at.mono_ms
        if open_log is not None:
            self.controller.audit = open_log(ReadingClock(self.current))
        triggers = {"session_opened": "open", "checklist_answered": "pre-infusion checks"}
        open_session(
            self.controller,
            lambda event: self.feed(event, triggers[event.kind]),
            ReadingClock(lambda: at),
            opening or Opening(),
            checklist=all_confirmed(),
        )

    def run(
        self,
        lines: Iterable[ScriptLine],
        opening: Opening | None = None,
        open_log: Callable[[Clock], AuditSink] | None = None,
        *,
        run_on: bool = True,
    ) -> None:
        """Run a script: open the session at the first line, feed every line, run on after.

        The session opens at the first line's time, or at t_min 0 when the first line is later.
        `lines` may be a lazy parse (`parse_script`): an error it raises stops the run there.

        Args:
            lines: the script's lines, validated.
            opening: as for `open`.
            open_log: as for `open`.
            run_on: after the last line, let time run on until nothing more is due.
        """
        opened = False
        for line in lines:
            if not opened:
                opened = True
                self.open(self.instant(min(line.t_ms, ORIGIN_MONO_MS)), opening, open_log)
            self.run_line(line)
        if opened and run_on:
            self.finish()

    def run_line(self, line: ScriptLine) -> None:
        """Let time pass to the line, then feed its input."""
        self.advance(line.t_ms, inclusive=False)
        now = self.instant(line.t_ms)
        data = line.data
        event: InputEvent
        if "vitals" in data:
            event = VitalsEntered(at=now, raw=dict(data["vitals"]))
        elif "symptoms" in data:
            grade = data.get("severity")
            event = SymptomsEntered(
                at=now,
                symptoms=tuple(data["symptoms"]),
                other=data.get("other", ""),
                other_severity=None if grade is None else Severity(grade),
            )
        elif "severity" in data:  # grades the free text of the checklist recorded last
            event = SymptomsEntered(
                at=now,
                symptoms=tuple(s.value for s in sorted(self.session.symptoms)),
                other=self.session.symptoms_other,
                other_severity=Severity(data["severity"]),
            )
        elif "decision" in data:
            if data["decision"] == "accept":
                event = NurseDecided(at=now, choice=Choice.ACCEPT)
            else:
                reason, note = override_reason(str(data["reason"]), str(data.get("note", "")))
                event = NurseDecided(at=now, choice=Choice.OVERRIDE, reason=reason, note=note)
        elif "lot" in data:
            event = LotRecorded(at=now, lot=data["lot"])
        elif "pause" in data:
            event = PauseRequested(at=now, reason=data["pause"])
        else:
            event = StopRequested(at=now, reason=data["stop"])
        self.feed(event, f"line {line.number}")

    def finish(self) -> None:
        """Run on after the last line until nothing more is due (bounded)."""
        assert self.now_ms is not None
        limit = self.now_ms + TAIL_LIMIT_MS
        while self.session.state not in (SessionState.CLOSED, SessionState.ABORTED):
            due = [t for t in self.session.upcoming_ms() if self.now_ms < t <= limit]
            if not due:
                break
            self.advance(due[0])
