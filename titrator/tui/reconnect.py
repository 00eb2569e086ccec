"""Reconnecting the pump after a lost link: the nurse asks, the pump worker connects.

When the engine's link is LOST (the serial driver heard no valid reply for `link_loss_after_s`,
or the line hung up), only the adapter's `connect()` brings it back. The nurse asks for it on
the run screen; the request goes on the pump worker's queue, behind any command already there,
so no second thread talks to the pump and the UI thread never waits on the line.

On success the adapter reports its link CONNECTED; `PumpLink` tells the engine the link is back,
the engine asks for a status read and follows what that read says: the pump is never assumed to
be at any rate after a lost link. On failure the engine's link stays LOST and the nurse can try
again. Every request, refusal and outcome is a `pump_reconnect` record in the audit log; it is
not an engine event, so replay skips it and review shows it from its raw payload, as it does the
`pump_wire` byte trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from textual.message import Message

from titrator.pump.base import PumpAdapter, PumpError, PumpLinkState, PumpStatus

RECORD_KIND: Final = "pump_reconnect"
"""The audit record kind of a reconnect request, refusal or outcome."""

REASON: Final = "reconnect after lost link"
"""The reason given to the adapter (and so on every wire record of the attempt)."""

Outcome = Literal["requested", "refused", "connected", "failed"]


@dataclass(frozen=True)
class ReconnectRequest:
    """A nurse's request, queued for the pump worker like a command.

    Attributes:
        requester: who asked (the nurse id), handed to `connect()`.
    """

    requester: str


class ReconnectDone(Message):
    """How a reconnect attempt ended (posted by the pump worker).

    Attributes:
        requester: who asked.
        ok: the adapter connected.
        detail: the pump found ("NE1000 firmware V3.928 at socket://...") or the problem.
        link: the adapter's link state after the attempt.
        status: the status read while connecting (None on failure).
    """

    def __init__(
        self,
        requester: str,
        ok: bool,
        detail: str,
        link: PumpLinkState,
        status: PumpStatus | None,
    ) -> None:
        super().__init__()
        self.requester = requester
        self.ok = ok
        self.detail = detail
        self.link = link
        self.status = status


def attempt(pump: PumpAdapter, request: ReconnectRequest) -> ReconnectDone:
    """Call `connect()` (blocking: on the pump worker only) and say how it went.

    A failure is reported with the error's class and message, never raised: the worker must go
    on sending the commands behind it (a STOP above all).
    """
    try:
        info = pump.connect(requester=request.requester, reason=REASON)
    except (PumpError, OSError, ValueError) as error:
        return ReconnectDone(
            request.requester, False, f"{type(error).__name__}: {error}", pump.link_state, None
        )
    found = " ".join(part for part in (info.model, info.firmware) if part)
    where = f" at {info.url}" if info.url else ""
    return ReconnectDone(request.requester, True, f"{found}{where}", pump.link_state, info.status)


def reconnect_record(requester: str, outcome: Outcome, detail: str) -> dict[str, Any]:
    """An audit record for one reconnect step (not an engine event; replay skips it)."""
    return {"kind": RECORD_KIND, "requester": requester, "outcome": outcome, "detail": detail}
