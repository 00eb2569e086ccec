"""Opening a session: the one sequence the app, training and the headless runner all follow.

`session_opened` records the plan, the policy, the SHA-256 of the policy and product files, the
setup (who gives what to whom) and whether it is a training session (demo, train); then whatever
must follow it at once is attached (training marks, wire records that arrived before the log
existed); then the pre-infusion checklist is recorded. Each caller feeds the inputs its own way
(the app queues pump commands for its worker, the headless runner prints and plays a perfect
pump), so `feed` is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from titrator.domain.checklist import ItemAnswer
from titrator.domain.clock import Clock, Instant
from titrator.domain.decisions import SessionState
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    PreInfusionRecorded,
    SessionOpened,
)
from titrator.domain.preinfusion import PreInfusion
from titrator.domain.session.decision import Decision
from titrator.domain.setup import InfusionSetup
from titrator.shell.controller import InfusionController


@dataclass(frozen=True)
class Opening:
    """What `session_opened` records besides the plan and the policy.

    Attributes:
        policy_sha256: the reaction policy file's SHA-256.
        library_sha256: the product file's SHA-256.
        setup: the validated setup (nurse, patient identifiers, lot, history); None for a run
            without a setup form (`titrator simulate`).
        training: True for `titrator demo` and `titrator train` (recorded as
            `session_opened.training`, so the log itself says it is not a real patient).
    """

    policy_sha256: str = ""
    library_sha256: str = ""
    setup: InfusionSetup | None = None
    training: bool = False


def open_session(
    controller: InfusionController,
    feed: Callable[[InputEvent], object],
    clock: Clock,
    opening: Opening,
    *,
    checklist: tuple[ItemAnswer, ...] | None = None,
    attach: Callable[[Instant], None] | None = None,
    preinfusion: PreInfusion | None = None,
) -> Instant:
    """Open `controller`'s session: `session_opened`, `attach`, documentation, checklist.

    The documentation (`preinfusion_recorded`) is fed when given; if the engine refuses it, the
    checklist is not answered.

    Args:
        controller: the new session's controller (its audit log already open, or none).
        feed: how the caller feeds one input (engine, audit, then its pump and display).
        clock: read once for `session_opened` and once more for the checklist.
        opening: what `session_opened` records besides the plan and the policy.
        checklist: the pre-infusion checklist as answered; None leaves it to be asked.
        attach: called with the opening instant right after `session_opened` is recorded.
        preinfusion: the pre-infusion documentation (premedication, IgA, lot expiry); None for
            a run without it (`titrator simulate`, training scripts).

    Returns:
        The instant the session was opened.
    """
    session = controller.session
    at = clock.now()
    feed(
        SessionOpened(
            at=at,
            session_id=session.session_id,
            plan=session.plan,
            policy=session.policy,
            policy_sha256=opening.policy_sha256,
            library_sha256=opening.library_sha256,
            setup=opening.setup,
            training=opening.training,
        )
    )
    if attach is not None:
        attach(at)
    if preinfusion is not None and session.state is SessionState.PRE_CHECKS:
        decision = feed(PreInfusionRecorded(at=clock.now(), record=preinfusion))
        if isinstance(decision, Decision) and decision.refusal is not None:
            return at  # refused (and recorded): the checklist is not answered past it
    if checklist is not None and session.state is SessionState.PRE_CHECKS:
        feed(ChecklistAnswered(at=clock.now(), answers=checklist))
    return at
