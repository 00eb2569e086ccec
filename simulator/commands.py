"""The simulated pump's command set: what each New Era command reads from or sets in the pump.

`execute(state, config, name, argument)` carries out one command (name "RAT", argument
"5MH") on the pump's registers (`PumpState`) within its fixed properties (`ModelConfig`) and
returns the reply data after the status prompt: a value, "" for a setting accepted, or an
error ("?", "?NA", "?OOR"). Number formats, units and limits are checked here. Time, locking,
volume integration, the watchdog and alarms are `simulator.model`'s (which re-exports
`ModelConfig`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

RATE_TO_ML_PER_H = {
    "MH": Decimal(1),
    "UH": Decimal("0.001"),
    "MM": Decimal(60),
    "UM": Decimal("0.06"),
}
VOLUME_TO_ML = {"ML": Decimal(1), "UL": Decimal("0.001")}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_RATE_ARG = re.compile(_NUMBER + r"(UM|MM|UH|MH)?")


@dataclass
class ModelConfig:
    """Fixed properties of the simulated pump.

    Attributes:
        address: network address 0..99.
        model: what `VER` reports as the model.
        firmware: what `VER` reports after the model (e.g. "V3.928").
        min_rate_ml_per_h: lowest accepted rate (below it: `?OOR`).
        max_rate_ml_per_h: highest accepted rate (above it: `?OOR`).
        max_volume_ml: highest accepted volume to be infused.
        safe_timeout_s: Safe-mode watchdog at power-up (0 = Basic mode), as if held in NVRAM.
        power_up_quirk: ignore the very first command after power-up, as real pumps do.
    """

    address: int = 0
    model: str = "NE1000"
    firmware: str = "V3.928"
    min_rate_ml_per_h: Decimal = Decimal("0.1")
    max_rate_ml_per_h: Decimal = Decimal(999)
    max_volume_ml: Decimal = Decimal(9999)
    safe_timeout_s: int = 0
    power_up_quirk: bool = True


@dataclass
class PumpState:
    """What the pump holds: prompt, pending alarm, settings, volumes, watchdog, outbox."""

    prompt: str = "S"
    alarm: str | None = None
    rate: Decimal = Decimal(0)
    rate_units: str = "MH"
    nv_rate: Decimal = Decimal(0)
    nv_rate_units: str = "MH"
    volume: Decimal = Decimal(0)
    volume_units: str = "ML"
    diameter_mm: Decimal = Decimal("26.70")
    direction: str = "INF"
    infused_ml: Decimal = Decimal(0)
    withdrawn_ml: Decimal = Decimal(0)
    run_ml: Decimal = Decimal(0)
    safe_timeout_s: int = 0
    watchdog_armed: bool = False
    ignore_next: bool = False
    vtbi_completions: int = 0
    outbox: deque[str] = field(default_factory=deque)


def _fits(text: str) -> bool:
    """The New Era number format: at most 4 digits + point, at most 3 decimals."""
    digits = sum(ch.isdigit() for ch in text)
    return digits <= 4 and len(text.partition(".")[2]) <= 3


def format_value(value: Decimal) -> str:
    """Format a value as the pump prints it: 4 significant digits where they fit."""
    whole = len(str(int(value)))
    decimals = max(0, min(3, 4 - whole))
    return f"{value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN):f}"


def execute(s: PumpState, config: ModelConfig, name: str, arg: str) -> str:
    """Carry out command `name` with `arg`; return the reply data after the status prompt."""
    handler = _HANDLERS.get(name)
    return "?" if handler is None else handler(s, config, arg)


def run(s: PumpState, arg: str) -> str:
    """RUN: start pumping in the set direction (a new run unless resuming from a pause)."""
    if arg:
        return "?"
    if s.prompt in ("I", "W") or s.rate <= 0:
        return "?NA"
    if s.prompt == "S":
        s.run_ml = Decimal(0)
    s.prompt = "I" if s.direction == "INF" else "W"
    return ""


def stop(s: PumpState, arg: str) -> str:
    """STP: pause a running pump; stop a paused one (ending the run)."""
    if arg:
        return "?"
    if s.prompt in ("I", "W"):
        s.prompt = "P"
    elif s.prompt == "P":
        s.prompt, s.run_ml = "S", Decimal(0)
    return ""


def _saf(s: PumpState, config: ModelConfig, arg: str) -> str:
    if not arg:
        return str(s.safe_timeout_s)
    if not arg.isdigit() or int(arg) > 255:
        return "?OOR"
    s.safe_timeout_s = int(arg)
    s.watchdog_armed = False
    return ""


def _dia(s: PumpState, config: ModelConfig, arg: str) -> str:
    if not arg:
        return format_value(s.diameter_mm)
    if s.prompt in ("I", "W"):
        return "?NA"
    if not re.fullmatch(_NUMBER, arg) or not _fits(arg):
        return "?OOR"
    s.diameter_mm = Decimal(arg)
    return ""


def _rat(s: PumpState, config: ModelConfig, arg: str) -> str:
    if not arg:
        return format_value(s.rate) + s.rate_units
    match = _RATE_ARG.fullmatch(arg)
    if match is None:
        return "?"
    number, units = match.groups()
    running = s.prompt in ("I", "W")
    if units is not None and running:
        return "?NA"  # rate units cannot change while pumping
    units = units or s.rate_units
    value = Decimal(number)
    rate_ml_per_h = value * RATE_TO_ML_PER_H[units]
    limits = (config.min_rate_ml_per_h, config.max_rate_ml_per_h)
    if not _fits(number) or not limits[0] <= rate_ml_per_h <= limits[1]:
        return "?OOR"
    s.rate, s.rate_units = value, units
    if not running:
        s.nv_rate, s.nv_rate_units = value, units
    return ""


def _vol(s: PumpState, config: ModelConfig, arg: str) -> str:
    if not arg:
        return format_value(s.volume) + s.volume_units
    if s.prompt in ("I", "W"):
        return "?NA"
    if arg in VOLUME_TO_ML:
        s.volume_units = arg
        return ""
    if not re.fullmatch(_NUMBER, arg):
        return "?"
    value = Decimal(arg)
    if not _fits(arg) or value * VOLUME_TO_ML[s.volume_units] > config.max_volume_ml:
        return "?OOR"
    s.volume = value
    return ""


def _dir(s: PumpState, config: ModelConfig, arg: str) -> str:
    if not arg:
        return s.direction
    if arg not in ("INF", "WDR", "REV"):
        return "?"
    if s.prompt in ("I", "W"):
        return "?NA"
    s.direction = {"REV": "WDR" if s.direction == "INF" else "INF"}.get(arg, arg)
    return ""


def _dis(s: PumpState, config: ModelConfig, arg: str) -> str:
    if arg:
        return "?"
    scale = VOLUME_TO_ML[s.volume_units]
    infused, withdrawn = s.infused_ml / scale, s.withdrawn_ml / scale
    return f"I{format_value(infused)}W{format_value(withdrawn)}{s.volume_units}"


def _cld(s: PumpState, config: ModelConfig, arg: str) -> str:
    if arg == "INF":
        s.infused_ml = Decimal(0)
    elif arg == "WDR":
        s.withdrawn_ml = Decimal(0)
    else:
        return "?"
    return ""


_HANDLERS: dict[str, Callable[[PumpState, ModelConfig, str], str]] = {
    "": lambda s, config, a: "" if not a else "?",
    "VER": lambda s, config, a: config.model + config.firmware if not a else "?NA",
    "SAF": _saf,
    "DIA": _dia,
    "RAT": _rat,
    "VOL": _vol,
    "DIR": _dir,
    "RUN": lambda s, config, a: run(s, a),
    "STP": lambda s, config, a: stop(s, a),
    "DIS": _dis,
    "CLD": _cld,
    "PUR": lambda s, config, a: "?NA",  # the simulator never purges
}
