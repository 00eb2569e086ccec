"""Replay: feed the input events of an audit log through a fresh session and compare.

The session is a pure function of its inputs, so the outputs recorded after each input must be
reproduced exactly (compared as canonical JSON, byte for byte). Resume after a crash is this
replay followed by a status read from the pump.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from titrator.domain.decisions import Decision
from titrator.domain.events import INPUT_KINDS, AuditEvent, SessionOpened, event_json
from titrator.domain.session import InfusionSession


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of a replay.

    Attributes:
        session: the session after the last input (ready to continue).
        decisions: one Decision per input event.
        mismatch: None when every output matched; otherwise a description of the first
            difference (index into the log, expected and produced JSON).
    """

    session: InfusionSession
    decisions: tuple[Decision, ...]
    mismatch: str | None

    @property
    def ok(self) -> bool:
        """Every recorded output was reproduced exactly."""
        return self.mismatch is None


def replay(events: Sequence[AuditEvent]) -> ReplayResult:
    """Replay a recorded session.

    Args:
        events: the session's events in order, starting with `session_opened`.

    Raises:
        ValueError: if the log does not start with `session_opened`.
    """
    if not events or not isinstance(events[0], SessionOpened):
        raise ValueError("a session log starts with session_opened")
    opened = events[0]
    session = InfusionSession(opened.plan, opened.policy, opened.session_id)
    decisions: list[Decision] = []
    mismatch: str | None = None
    index = 0
    while index < len(events):
        ev = events[index]
        if ev.kind not in INPUT_KINDS:
            mismatch = mismatch or f"event {index} ({ev.kind}) was not produced by any input"
            index += 1
            continue
        end = index + 1
        while end < len(events) and events[end].kind not in INPUT_KINDS:
            end += 1
        decision = session.handle(ev)  # type: ignore[arg-type]
        decisions.append(decision)
        expected = [event_json(e) for e in events[index:end]]
        produced = [event_json(e) for e in decision.events]
        if mismatch is None and expected != produced:
            first = next(
                (i for i, (a, b) in enumerate(zip(expected, produced, strict=False)) if a != b),
                min(len(expected), len(produced)),
            )
            mismatch = (
                f"after input {index} ({ev.kind}), output {first} differs: "
                f"recorded {expected[first] if first < len(expected) else '(nothing)'} / "
                f"replayed {produced[first] if first < len(produced) else '(nothing)'}"
            )
        index = end
    return ReplayResult(session=session, decisions=tuple(decisions), mismatch=mismatch)
