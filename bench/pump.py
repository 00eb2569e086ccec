"""Benchmark: set-rate + read-back through the New Era driver vs raw pyserial, same simulator.

The simulator runs in its own process (`python -m simulator --pty`, as a user runs it), so its
serving thread does not share the bench's interpreter. Each round opens the pump's pty twice,
in turn, and times `--cycles` cycles of the same two exchanges on each:

- baseline: bare pyserial, the driver's own frames written as bytes (`RAT<r>MH`, then `RAT`),
  each reply read by its Safe-mode length byte (`read(2)`, then `read(len - 1)`);
- candidate: `NewEraPump.set_rate`, which sends `RAT<r>MH` and reads the rate back with `RAT`.

Connecting (and the driver's mode probe) happens before the clock starts. Baseline and
candidate alternate round by round (A B A B ...); the ratio is taken pair by pair, and its
min / median / max is the figure (goal, issue 17: at most 1.5x the raw exchange's time). The
same rounds' CPU time of the bench process (`time.process_time`) is printed too: the wall time
on the shared 2-core machine also counts waiting for a core, which the CPU time does not.
`--profile` runs the driver once more under cProfile (not timed) and prints the top entries.

`--polling` then pairs the driver with its read path before issue 17 (`in_waiting` polls)
against the driver as it is.

Run: .venv/bin/python -m bench.pump [--cycles N] [--rounds N] [--polling] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import serial

from bench.paired import paired, report
from titrator.pump.newera.codec import encode_safe
from titrator.pump.newera.driver import NewEraPump
from titrator.pump.newera.link import SerialLink

WHO = {"requester": "bench", "reason": "benchmark"}
RATES = (Decimal(5), Decimal(6))
SAFE_S = 255
"""The simulator's watchdog: the longest Safe-mode timeout, so no round outlasts it."""


@contextmanager
def simulator() -> Iterator[str]:
    """Start `python -m simulator --pty` in its own process; yield the pump's pty path."""
    argv = [sys.executable, "-m", "simulator", "--pty", "--safe", str(SAFE_S)]
    argv.append("--no-power-up-quirk")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            words = proc.stdout.readline().split()  # "PUMP <url>", printed once it listens
            if words[:1] != ["PUMP"]:
                raise SystemExit(f"simulator did not start: {words}")
            yield words[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _read_reply(port: serial.Serial) -> bytes:
    head = port.read(2)
    if len(head) != 2:
        raise SystemExit("no reply from the simulator")
    rest = port.read(head[1] - 1)
    if len(rest) != head[1] - 1:
        raise SystemExit("short reply from the simulator")
    return head + rest


def raw_seconds(url: str, cycles: int) -> tuple[float, float]:
    """(wall, CPU) seconds of this process for `cycles` set + read-back exchanges in pyserial."""
    frames = [(encode_safe(f"0RAT{r}MH".encode()), encode_safe(b"0RAT")) for r in RATES]
    with serial.serial_for_url(url, baudrate=19200, timeout=1.0) as port:
        port.write(encode_safe(b"0"))  # a status exchange first, as the driver's connect does
        _read_reply(port)
        cpu = time.process_time()
        started = time.perf_counter()
        for i in range(cycles):
            set_frame, query_frame = frames[i % 2]
            port.write(set_frame)
            _read_reply(port)
            port.write(query_frame)
            _read_reply(port)
        return time.perf_counter() - started, time.process_time() - cpu


def driver_seconds(url: str, cycles: int) -> tuple[float, float]:
    """(wall, CPU) seconds of this process for `cycles` `NewEraPump.set_rate` calls."""
    with NewEraPump(url, safe_timeout_s=SAFE_S, keepalive_s=None, reply_timeout_s=1.0) as pump:
        pump.connect(**WHO)
        cpu = time.process_time()
        started = time.perf_counter()
        for i in range(cycles):
            pump.set_rate(RATES[i % 2], **WHO)
        return time.perf_counter() - started, time.process_time() - cpu


def polling_seconds(url: str, cycles: int) -> tuple[float, float]:
    """`driver_seconds` with the read path before issue 17: ask `in_waiting`, read what is
    there (at least one byte), until the reply is complete (`SerialLink._read_chunk`)."""
    reads_by_length = SerialLink._read_reply_chunk
    SerialLink._read_reply_chunk = SerialLink._read_chunk  # type: ignore[method-assign]
    try:
        return driver_seconds(url, cycles)
    finally:
        SerialLink._read_reply_chunk = reads_by_length  # type: ignore[method-assign]


def main() -> None:
    """Print every round, min/median/max of each side and of the paired ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="set + read-back per round")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (at least 5)")
    parser.add_argument("--profile", action="store_true", help="then profile the driver")
    parser.add_argument(
        "--polling", action="store_true", help="then the read path before issue 17 vs now"
    )
    args = parser.parse_args()
    with simulator() as url:
        driver_seconds(url, 50)  # warm-up: imports, first connects, caches
        raw_seconds(url, 50)
        cycles: int = args.cycles
        cpu: dict[str, list[float]] = {}

        def timed(name: str, run: Callable[[str, int], tuple[float, float]]) -> float:
            wall, used = run(url, cycles)
            cpu.setdefault(name, []).append(1e6 * used / cycles)
            return 1e6 * wall / cycles

        base, cand, ratio = paired(
            lambda: timed("raw", raw_seconds), lambda: timed("driver", driver_seconds), args.rounds
        )
        print(f"simulator: python -m simulator --pty (own process), {url}")
        report(
            f"set-rate + read-back, {args.cycles} cycles x {args.rounds} rounds, wall time "
            "(baseline raw pyserial, candidate NewEraPump; goal <= 1.5x)",
            "µs/cycle",
            base,
            cand,
            ratio,
        )
        cpu_ratio = [d / r for r, d in zip(cpu["raw"], cpu["driver"], strict=True)]
        report(
            "the same rounds, CPU time of this process",
            "µs/cycle",
            cpu["raw"],
            cpu["driver"],
            cpu_ratio,
        )
        if args.polling:
            report(
                "driver, read path before (in_waiting polls) vs now (reads by length), wall",
                "µs/cycle",
                *paired(
                    lambda: timed("polling", polling_seconds),
                    lambda: timed("by length", driver_seconds),
                    args.rounds,
                ),
            )
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(driver_seconds, url, args.cycles)
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
