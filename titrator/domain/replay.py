"""Replay: feed the input events of an audit log through a fresh session and compare.

The session is a pure function of its inputs, so the outputs recorded after each input must be
reproduced exactly (compared as canonical JSON, byte for byte). Resume after a crash is this
replay followed by a `session_resumed` input and a status read from the pump.

A crash can cut a decision's record short: the shell writes an input's events one by one and
sends pump commands only once all of them are durable. At a crash point (where the program died,
known from the log: a restart record or the end of an unfinished log), the input just before it
may therefore have only a prefix of its outputs recorded. That is not a mismatch; the outputs
never recorded are reported (`CutShort`), and any command among them was never sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from titrator.domain.events import INPUT_KINDS, AuditEvent, SessionOpened, event_json
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession


@dataclass(frozen=True)
class Divergence:
    """The first recorded event the replay does not reproduce.

    Attributes:
        input_index: index (into the replayed events) of the input whose outputs differ.
        event_index: index of the first differing recorded event; when the recording lacks an
            event, the index where it should have been.
        recorded: that event as recorded (canonical JSON), or None if missing.
        replayed: what the replay produced there, or None if it produced nothing more.
    """

    input_index: int
    event_index: int
    recorded: str | None
    replayed: str | None


@dataclass(frozen=True)
class CutShort:
    """An input whose outputs were recorded only in part because the program died.

    Attributes:
        input_index: index of the input.
        missing: the outputs produced by the replay but never recorded.
    """

    input_index: int
    missing: tuple[AuditEvent, ...]


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of a replay.

    Attributes:
        session: the session after the last input (ready to continue).
        decisions: one Decision per input event.
        mismatch: None when every output matched; otherwise a description of the first
            difference (index into the log, expected and produced JSON).
        divergence: the first difference, structured (None when there is none).
        inputs: the index of each input event, parallel to `decisions`.
        cut_short: inputs whose record a crash cut short (at a crash point only).
    """

    session: InfusionSession
    decisions: tuple[Decision, ...]
    mismatch: str | None
    divergence: Divergence | None = None
    inputs: tuple[int, ...] = ()
    cut_short: tuple[CutShort, ...] = ()

    @property
    def ok(self) -> bool:
        """Every recorded output was reproduced exactly."""
        return self.mismatch is None


def _compare(
    index: int, end: int, expected: list[str], produced: list[str], cut: bool
) -> Divergence | None:
    if expected == produced:
        return None
    if cut and len(expected) < len(produced) and produced[: len(expected)] == expected:
        return None
    first = next(
        (i for i, (a, b) in enumerate(zip(expected, produced, strict=False)) if a != b),
        min(len(expected), len(produced)),
    )
    return Divergence(
        input_index=index,
        event_index=index + first,
        recorded=expected[first] if first < len(expected) else None,
        replayed=produced[first] if first < len(produced) else None,
    )


def replay(events: Sequence[AuditEvent], crash_points: Collection[int] = ()) -> ReplayResult:
    """Replay a recorded session.

    Args:
        events: the session's events in order, starting with `session_opened`.
        crash_points: indices `i` such that the program may have died just before `events[i]`
            was recorded (`len(events)` for an unfinished log's end); the input before each may
            have only a prefix of its outputs recorded.

    Raises:
        ValueError: if the log does not start with `session_opened`.
    """
    if not events or not isinstance(events[0], SessionOpened):
        raise ValueError("a session log starts with session_opened")
    opened = events[0]
    session = InfusionSession(opened.plan, opened.policy, opened.session_id)
    decisions: list[Decision] = []
    inputs: list[int] = []
    cut_short: list[CutShort] = []
    divergence: Divergence | None = None
    mismatch: str | None = None
    index = 0
    while index < len(events):
        ev = events[index]
        if ev.kind not in INPUT_KINDS:
            if mismatch is None:
                mismatch = f"event {index} ({ev.kind}) was not produced by any input"
                divergence = Divergence(index, index, event_json(ev), None)
            index += 1
            continue
        end = index + 1
        while end < len(events) and events[end].kind not in INPUT_KINDS:
            end += 1
        decision = session.handle(ev)  # type: ignore[arg-type]
        decisions.append(decision)
        inputs.append(index)
        expected = [event_json(e) for e in events[index:end]]
        produced = [event_json(e) for e in decision.events]
        cut = end in crash_points
        found = _compare(index, end, expected, produced, cut)
        if found is None and len(expected) < len(produced):
            cut_short.append(CutShort(index, decision.events[len(expected) :]))
        if mismatch is None and found is not None:
            divergence = found
            offset = found.event_index - index
            mismatch = (
                f"after input {index} ({ev.kind}), output {offset} differs: "
                f"recorded {found.recorded or '(nothing)'} / "
                f"replayed {found.replayed or '(nothing)'}"
            )
        index = end
    return ReplayResult(
        session=session,
        decisions=tuple(decisions),
        mismatch=mismatch,
        divergence=divergence,
        inputs=tuple(inputs),
        cut_short=tuple(cut_short),
    )
