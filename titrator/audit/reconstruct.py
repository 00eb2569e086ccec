"""Rebuilding a session from its log by replay, as it stood when the program stopped.

Only an intact or torn-tail log is rebuilt, and only if the replay reproduces every recorded
engine event (a record cut short by the crash excepted). Commands whose outcome was never
recorded are listed: the engine treats them as uncertain and never sends them again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from titrator.audit.keys import load_key
from titrator.audit.log_replay import LogReplay, replay_log
from titrator.audit.unfinished import RESUMABLE
from titrator.audit.verify import Outcome, VerifyResult
from titrator.domain.clock import Instant
from titrator.domain.decisions import AlarmCode, Prompt, PumpCommand, PumpCommandKind
from titrator.domain.events import (
    AuditEvent,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
    SessionOpened,
    SessionResumed,
)
from titrator.domain.session.decision import Decision, DueTimes
from titrator.domain.session.engine import InfusionSession

PathArg = str | os.PathLike[str]


class ResumeError(Exception):
    """The session cannot be resumed (closed, damaged, not replayable, never opened)."""


@dataclass(frozen=True)
class UnknownCommand:
    """A pump command whose outcome was never recorded: uncertain, and never sent again.

    Attributes:
        command: the command.
        intent_recorded: its intent is in the log, so it may have reached the pump; False when
            the crash came before the intent was durable (it was certainly never sent).
        line: the log line of its intent, when recorded.
    """

    command: PumpCommand
    intent_recorded: bool
    line: int | None = None


@dataclass(frozen=True)
class Reconstructed:
    """A session rebuilt from its log by replay, as it stood when the program stopped.

    Times in `last_decision.due` are on the old process's monotonic clock; `due_utc` gives
    them as estimated wall-clock times. Once resumed, the controller's decisions carry due
    times on the new clock.

    Attributes:
        path: the log.
        replay: the log replay (verification, events, crash points).
        session: the replayed session; once `resume_session` has fed it `session_resumed` it is
            the controller's session and moves on (read the other fields for the past state).
        opened: the `session_opened` event (plan, policy, setup).
        last_decision: the decision of the last recorded input.
        last_input_at: the instant of that input.
        unknown_commands: commands whose outcome was never recorded.
        unrecorded: outputs of the last decision that a crash kept from the log.
    """

    path: Path
    replay: LogReplay
    session: InfusionSession
    opened: SessionOpened
    last_decision: Decision
    last_input_at: Instant
    unknown_commands: tuple[UnknownCommand, ...]
    unrecorded: tuple[AuditEvent, ...]

    @property
    def session_id(self) -> str:
        """The session."""
        return self.opened.session_id

    @property
    def verification(self) -> VerifyResult:
        """The log's verification."""
        return self.replay.verification

    @property
    def prompt(self) -> Prompt | None:
        """The prompt that was on screen."""
        return self.session.prompt

    @property
    def step(self) -> int | None:
        """The plan step."""
        return self.session.step

    @property
    def rate_ml_per_h(self) -> Decimal:
        """The rate the pump should have been running at."""
        return self.session.rate_ml_per_h

    @property
    def alarms(self) -> tuple[AlarmCode, ...]:
        """Alarms active at the last decision."""
        return self.last_decision.alarms

    @property
    def due_utc(self) -> dict[str, datetime]:
        """Pending deadlines of the last decision, as estimated wall-clock times."""
        at = self.last_input_at
        due: DueTimes = self.last_decision.due
        times = {
            "vitals": due.vitals_ms,
            "step_up": due.step_up_ms,
            "pause_end": due.pause_end_ms,
            "volume_complete": due.volume_complete_ms,
            "observation_end": due.observation_end_ms,
        }
        return {
            name: at.wall_utc + timedelta(milliseconds=ms - at.mono_ms)
            for name, ms in times.items()
            if ms is not None
        }

    def summary(self) -> list[str]:
        """Lines for people: what the session was doing when the program stopped."""
        d = self.last_decision
        prompt = self.prompt
        lines = [
            f"session {self.session_id}: {d.state.value}, step {d.step}, "
            f"rate {d.rate_ml_per_h} mL/h, volume {d.volume_ml:.1f} mL",
            f"last input: {self.last_input_at.wall_utc.isoformat()} "
            f"({self.verification.outcome.label}, {self.verification.records} records)",
        ]
        if prompt is not None:
            lines.append(f"prompt: {prompt.title}: {prompt.text}")
        if d.alarms:
            lines.append("alarms: " + ", ".join(a.value for a in d.alarms))
        for name, when in self.due_utc.items():
            lines.append(f"due: {name} at {when.isoformat()}")
        for unknown in self.unknown_commands:
            c = unknown.command
            sent = "may have been sent" if unknown.intent_recorded else "never sent"
            rate = f" {c.rate_ml_per_h} mL/h" if c.rate_ml_per_h is not None else ""
            lines.append(
                f"outcome unknown: command {c.command_id} {c.kind.value}{rate} ({sent}); "
                "it will not be sent again"
            )
        return lines


def _unknown_commands(replayed: LogReplay) -> tuple[UnknownCommand, ...]:
    result = replayed.result
    assert result is not None
    events = replayed.events
    intents = {e.event.command.command_id: e.line for e in events if e.event.kind == "pump_command"}
    outstanding: dict[int, UnknownCommand] = {}
    for index, decision in zip(result.inputs, result.decisions, strict=True):
        ev = events[index].event
        if decision.refusal is None:
            if isinstance(ev, PumpOutcome):
                outstanding.pop(ev.command_id, None)
            elif isinstance(ev, PumpStatusRead):
                for key, unknown in list(outstanding.items()):
                    if unknown.command.kind is PumpCommandKind.READ_STATUS:
                        del outstanding[key]
            elif isinstance(ev, SessionResumed) or (isinstance(ev, PumpLinkChanged) and ev.up):
                outstanding.clear()  # the engine gave these up (recorded as such)
        for command in decision.commands:  # an intent cut short by the crash has no line
            line = intents.get(command.command_id)
            outstanding[command.command_id] = UnknownCommand(command, line is not None, line)
    return tuple(outstanding.values())


def reconstruct(
    path: PathArg, *, key_file: PathArg | None = None, key: bytes | None = None
) -> Reconstructed:
    """Rebuild a session from its log by replay (reads only; nothing is written).

    Args:
        path: the session log.
        key_file: the site key file (MACs are then checked), or
        key: the key itself.

    Returns:
        The session as it stood at the last recorded input.

    Raises:
        ResumeError: the log is closed, damaged or unreadable, the session never opened, or
            the replay does not reproduce the log (the engine changed, or the log did).
        AuditKeyError: the key file is unsafe or unreadable.
    """
    if key is None and key_file is not None:
        key = load_key(key_file)
    replayed = replay_log(path, key=key)
    outcome = replayed.verification.outcome
    if outcome not in RESUMABLE:
        what = "closed" if outcome is Outcome.OK else outcome.label
        raise ResumeError(f"{path}: not resumable ({what}): {replayed.verification.reason}")
    if replayed.problem is not None:
        raise ResumeError(f"{path}: not resumable: {replayed.problem}")
    if replayed.result is None:
        raise ResumeError(f"{path}: the session was never opened (nothing to resume)")
    if replayed.difference is not None:
        raise ResumeError("not resumable: replay differs from the log: " + replayed.summary()[0])
    result = replayed.result
    opened = replayed.events[0].event
    assert isinstance(opened, SessionOpened)
    last_input = replayed.events[result.inputs[-1]].event
    return Reconstructed(
        path=Path(path),
        replay=replayed,
        session=result.session,
        opened=opened,
        last_decision=result.decisions[-1],
        last_input_at=last_input.at,
        unknown_commands=_unknown_commands(replayed),
        unrecorded=replayed.unrecorded,
    )
