"""`python -m simulator`: serve a simulated New Era pump on a pty or loopback TCP until stopped.

Prints `PUMP <url>` (a /dev/pts path or socket://127.0.0.1:PORT) and `CONTROL 127.0.0.1:PORT`
on stdout, one per line, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from decimal import Decimal
from types import FrameType

from simulator.api import Simulator
from simulator.model import ModelConfig


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument("--tcp", type=_host_port, metavar="127.0.0.1:PORT", help="loopback TCP")
    parser.add_argument(
        "--control",
        type=int,
        default=0,
        metavar="PORT",
        help="control-channel port on 127.0.0.1 (default: a free port)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="infusion time acceleration")
    parser.add_argument("--address", type=int, default=0, help="pump address 0..99")
    parser.add_argument("--baud", type=int, default=19200, help="pump line speed")
    parser.add_argument(
        "--safe",
        type=int,
        default=0,
        metavar="S",
        help="start in Safe mode with an S-second watchdog (default: Basic)",
    )
    parser.add_argument("--max-rate", type=Decimal, default=Decimal(999), metavar="ML_PER_H")
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
        url = sim.start_pty() if args.pty else sim.start_tcp(*args.tcp)
        control = sim.start_control(port=args.control)
        print(f"PUMP {url}", flush=True)
        print(f"CONTROL {control.host}:{control.port}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
