"""Connecting the New Era driver: finding the pump's mode, switching it, identifying it.

Part of the New Era driver (`titrator.pump.newera.driver`): `establish` works through the driver's
exchange, on a link just opened, under the driver's lock.
"""

from __future__ import annotations

import time

from titrator.pump.base import ConnectError, PumpState, UncertainOutcomeError, UnitsError
from titrator.pump.newera.codec import Framing
from titrator.pump.newera.exchange import Exchange
from titrator.pump.newera.link import Context

DEVICE_DISCARD_S = 0.6
"""A little over the pump's 0.5 s inter-byte timeout, after which it drops a partial packet."""


def _probe(exchange: Exchange, framing: Framing, ctx: Context) -> bool:
    """Try a status query in `framing`; True if the pump answers in it."""
    exchange.set_framing(framing)
    # The first command after power-up is ignored by real pumps: spend a throw-away one.
    status = Context(ctx.requester, ctx.reason, "")
    for retries in (0, 1):
        try:
            exchange.transact(status, retries, quiet=True)
        except UncertainOutcomeError:
            continue
        if (
            exchange.state.pump_state is PumpState.ALARM
        ):  # the answer acknowledged an alarm: look again
            exchange.transact(status, 1, quiet=True)
        return True
    return False


def establish(
    exchange: Exchange,
    ctx: Context,
    *,
    framing: Framing,
    safe_timeout_s: int,
    warnings: list[str],
) -> tuple[str, str]:
    """Find the pump, put it in `framing` (Safe mode with `safe_timeout_s`), read its settings.

    Args:
        exchange: the driver's exchange, holding the link just opened.
        ctx: who asked for the connect, and why.
        framing: the mode to leave the pump in.
        safe_timeout_s: the pump's watchdog in Safe mode.
        warnings: receives what was noticed that leaves a value unknown (e.g. rate units).

    Returns:
        (model, firmware).

    Raises:
        ConnectError: no pump answered, or it is in a state the driver will not take over.
    """

    def asked(command: str) -> Context:
        return Context(ctx.requester, ctx.reason, command)

    other = Framing.BASIC if framing is Framing.SAFE else Framing.SAFE
    if not _probe(exchange, framing, ctx):
        time.sleep(DEVICE_DISCARD_S)  # the pump drops our unanswered partial packet meanwhile
        if not _probe(exchange, other, ctx):
            raise ConnectError(f"no New Era pump answered at {exchange.url} in Safe or Basic mode")
        setting = safe_timeout_s if framing is Framing.SAFE else 0
        # Either way the answer is Basic-framed. SAF0 leaves the pump in Basic mode and it answers
        # there (as nesp-lib, used with real pumps, reads it: florian-lapp/nesp-lib-py
        # nesp_lib/pump.py). A Basic-framed SAF<n> is answered as it came: the manual does not
        # say, and the simulator does so; the probe below checks the mode either way.
        exchange.command(asked(f"SAF{setting}"), reply_framing=Framing.BASIC)
        if not _probe(exchange, framing, ctx):
            raise ConnectError(f"the pump did not switch to {framing} mode")
    model, firmware = exchange.read_version(asked("VER"))
    if framing is Framing.SAFE and exchange.query(asked("SAF")).data != str(safe_timeout_s):
        exchange.command(asked(f"SAF{safe_timeout_s}"))
    direction = exchange.query(asked("DIR")).data
    if direction != "INF":
        if exchange.state.pump_state not in (PumpState.STOPPED, PumpState.PAUSED):
            raise ConnectError(f"the pump is running in direction {direction}; stop it first")
        exchange.command(asked("DIRINF"))
    # Other units leave the value unknown (None) in the status; set_rate sets mL/h while stopped.
    try:
        exchange.read_rate(asked("RAT"))
    except UnitsError as exc:
        warnings.append(str(exc))
    try:
        exchange.read_vtbi(asked("VOL"))
    except UnitsError as exc:
        warnings.append(str(exc))
    exchange.transact(asked(""), exchange.query_retries)
    return model, firmware
