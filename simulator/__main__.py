"""`python -m simulator`: serve a simulated New Era pump on a pty or loopback TCP until stopped.

Prints `PUMP <url>` (a /dev/pts path or socket://127.0.0.1:PORT), `CONTROL 127.0.0.1:PORT` and
`CONTROL_TOKEN <token>` on stdout, one per line, then serves until SIGINT or SIGTERM. Every
control-channel request must carry the token as "token" (`simulator.control`): any local user
can reach a loopback port, only the one who started the simulator sees its stdout.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import signal
import sys
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from types import FrameType
from typing import NoReturn

from simulator.api import Simulator
from simulator.model import ModelConfig

PROG = "python -m simulator"
MAX_PORT = 65535
MAX_ADDRESS = 99
"""Pump addresses are 0..99 (NE-1000 manual grammar; ../shared/reference/pump-protocol.md §1.1)."""
MAX_SAFE_S = 255
"""`SAF <n>` watchdog seconds; nesp-lib caps n at 255 (pump-protocol.md §1.1.4)."""
BAUD_RATES = (300, 1200, 2400, 9600, 19200)
"""The pump's line speeds (pump-protocol.md: from an NE-4000 controller citing its manual)."""
MAX_RATE_ML_PER_H = Decimal(9999)
"""The largest number the pump's rate field holds: 4 digits (pump-protocol.md, number format)."""
MAX_SPEED = 10000.0
"""A bound on time acceleration (a simulator setting, not a clinical number)."""


class _Parser(argparse.ArgumentParser):
    """Errors are one line, ``python -m simulator: error: --option: reason (got 'text')``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message.removeprefix('argument ')}\n")


def _port(text: str, *, allow_zero: bool = True) -> int:
    low = 0 if allow_zero else 1
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port number {low} to {MAX_PORT} (got {text!r})")
    return int(text)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (got {text!r})")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(
            f"the host must be a loopback address such as 127.0.0.1 (got {text!r})"
        )
    return host, _port(port)


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"a whole number {low} to {high} (got {text!r})")
        return int(text)

    return parse


def _baud(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) not in BAUD_RATES:
        rates = ", ".join(map(str, BAUD_RATES))
        raise argparse.ArgumentTypeError(f"one of {rates} (got {text!r})")
    return int(text)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(
            f"a number greater than 0 and at most {MAX_SPEED:g} (got {text!r})"
        )
    return value


def _max_rate(text: str) -> Decimal:
    try:
        value = Decimal(text) if len(text) <= 16 else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value <= MAX_RATE_ML_PER_H:
        raise argparse.ArgumentTypeError(
            f"a rate greater than 0 and at most {MAX_RATE_ML_PER_H} mL/h (got {text!r})"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = _Parser(prog=PROG, description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument(
        "--tcp", type=_host_port, metavar="127.0.0.1:PORT", help="loopback TCP (port 0: any)"
    )
    parser.add_argument(
        "--control",
        type=_port,
        default=0,
        metavar="PORT",
        help="control-channel port on 127.0.0.1 (default: a free port)",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help=f"infusion time acceleration, above 0 and at most {MAX_SPEED:g}",
    )
    parser.add_argument(
        "--address", type=_int_range(0, MAX_ADDRESS), default=0, help="pump address 0..99"
    )
    parser.add_argument("--baud", type=_baud, default=19200, help="pump line speed")
    parser.add_argument(
        "--safe",
        type=_int_range(0, MAX_SAFE_S),
        default=0,
        metavar="S",
        help="start in Safe mode with an S-second watchdog, 1..255 (default 0: Basic)",
    )
    parser.add_argument(
        "--max-rate",
        type=_max_rate,
        default=Decimal(999),
        metavar="ML_PER_H",
        help=f"the pump's highest rate, above 0 and at most {MAX_RATE_ML_PER_H} mL/h",
    )
    parser.add_argument(
        "--no-power-up-quirk",
        action="store_true",
        help="answer the very first command after power-up",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    config = ModelConfig(
        address=args.address,
        safe_timeout_s=args.safe,
        max_rate_ml_per_h=args.max_rate,
        power_up_quirk=not args.no_power_up_quirk,
    )
    done = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Simulator(config, speed=args.speed, baud=args.baud) as sim:
        try:
            url = sim.start_pty() if args.pty else sim.start_tcp(*args.tcp)
        except OSError as error:
            where = "--pty" if args.pty else "--tcp"
            print(
                f"{PROG}: error: {where}: cannot listen: {error.strerror or error}", file=sys.stderr
            )
            return 2
        try:
            control = sim.start_control(port=args.control)
        except OSError as error:
            print(
                f"{PROG}: error: --control: cannot listen: {error.strerror or error}",
                file=sys.stderr,
            )
            return 2
        print(f"PUMP {url}", flush=True)
        print(f"CONTROL {control.host}:{control.port}", flush=True)
        print(f"CONTROL_TOKEN {control.token}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
