"""Connecting the New Era driver: finding the pump's mode, switching it, identifying it.

Helper module of `titrator.pump.newera.driver`; it works on the driver's exchange core under its
lock.
"""

from __future__ import annotations

import time

from titrator.pump.base import ConnectError, PumpState, UncertainOutcomeError, UnitsError
from titrator.pump.newera.codec import Framing
from titrator.pump.newera.core import NewEraCore
from titrator.pump.newera.link import Context, SerialLink

DEVICE_DISCARD_S = 0.6
"""A little over the pump's 0.5 s inter-byte timeout, after which it drops a partial packet."""


def _probe(pump: NewEraCore, link: SerialLink, framing: Framing, ctx: Context) -> bool:
    """Try a status query in `framing`; True if the pump answers in it."""
    link.set_framing(framing)
    # The first command after power-up is ignored by real pumps: spend a throw-away one.
    status = Context(ctx.requester, ctx.reason, "")
    for retries in (0, 1):
        try:
            pump._absorb(pump._exchange(status, retries, quiet=True))
        except UncertainOutcomeError:
            continue
        if pump._pump_state is PumpState.ALARM:  # the answer acknowledged an alarm: look again
            pump._absorb(pump._exchange(status, 1, quiet=True))
        return True
    return False


def establish(pump: NewEraCore, ctx: Context) -> tuple[str, str]:
    """Find the pump, put it in the configured mode, and read its settings.

    Returns:
        (model, firmware).

    Raises:
        ConnectError: no pump answered, or it is in a state the driver will not take over.
    """
    link = pump._link
    assert link is not None
    target = pump.framing
    other = Framing.BASIC if target is Framing.SAFE else Framing.SAFE
    if not _probe(pump, link, target, ctx):
        time.sleep(DEVICE_DISCARD_S)  # the pump drops our unanswered partial packet meanwhile
        if not _probe(pump, link, other, ctx):
            raise ConnectError(f"no New Era pump answered at {pump.url} in Safe or Basic mode")
        setting = pump.safe_timeout_s if target is Framing.SAFE else 0
        pump._command(Context(ctx.requester, ctx.reason, f"SAF{setting}"))
        if not _probe(pump, link, target, ctx):
            raise ConnectError(f"the pump did not switch to {target} mode")
    model, firmware = pump.read_version(Context(ctx.requester, ctx.reason, "VER"))
    if target is Framing.SAFE:
        saf = pump._query(Context(ctx.requester, ctx.reason, "SAF")).data
        if saf != str(pump.safe_timeout_s):
            pump._command(Context(ctx.requester, ctx.reason, f"SAF{pump.safe_timeout_s}"))
    direction = pump._query(Context(ctx.requester, ctx.reason, "DIR")).data
    if direction != "INF":
        if pump._pump_state is not PumpState.STOPPED and pump._pump_state is not PumpState.PAUSED:
            raise ConnectError(f"the pump is running in direction {direction}; stop it first")
        pump._command(Context(ctx.requester, ctx.reason, "DIRINF"))
    # Other units leave the value unknown (None) in the status; set_rate sets mL/h while stopped.
    try:
        pump.read_rate(Context(ctx.requester, ctx.reason, "RAT"))
    except UnitsError as exc:
        pump.connect_warnings.append(str(exc))
    try:
        pump.read_vtbi(Context(ctx.requester, ctx.reason, "VOL"))
    except UnitsError as exc:
        pump.connect_warnings.append(str(exc))
    pump._absorb(pump._exchange(Context(ctx.requester, ctx.reason, ""), pump.query_retries))
    return model, firmware
