"""Benchmark: set-rate + read-back round trips per second through the New Era driver to the
simulator over a pty, against a raw pyserial exchange of the same bytes on the same kind of pty.

Run: .venv/bin/python bench/pump.py [iterations]
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal

import serial

from simulator import ModelConfig, Simulator
from titrator.pump.newera.codec import encode_safe
from titrator.pump.newera.driver import NewEraPump

WHO = {"requester": "bench", "reason": "benchmark"}
RATES = (Decimal(5), Decimal(6))


def driver_rate(iterations: int) -> float:
    """Set-rate + read-back cycles per second through NewEraPump."""
    with Simulator(ModelConfig(safe_timeout_s=10, power_up_quirk=False)) as sim:
        url = sim.start_pty()
        with NewEraPump(url, keepalive_s=None, reply_timeout_s=1.0) as pump:
            pump.connect(**WHO)
            started = time.perf_counter()
            for i in range(iterations):
                pump.set_rate(RATES[i % 2], **WHO)
            return iterations / (time.perf_counter() - started)


def _read_frame(port: serial.Serial) -> bytes:
    head = port.read(2)
    if len(head) != 2:
        raise TimeoutError("no reply from the simulator")
    return head + port.read(head[1] - 1)


def raw_rate(iterations: int) -> float:
    """The same two exchanges per cycle with bare pyserial writes and length-framed reads."""
    frames = [(encode_safe(f"0RAT{r}MH".encode()), encode_safe(b"0RAT")) for r in RATES]
    with Simulator(ModelConfig(safe_timeout_s=10, power_up_quirk=False)) as sim:
        url = sim.start_pty()
        with serial.serial_for_url(url, baudrate=19200, timeout=1.0) as port:
            port.write(encode_safe(b"0"))
            _read_frame(port)  # the power-up alarm acknowledgement
            started = time.perf_counter()
            for i in range(iterations):
                set_frame, query_frame = frames[i % 2]
                port.write(set_frame)
                _read_frame(port)
                port.write(query_frame)
                _read_frame(port)
            return iterations / (time.perf_counter() - started)


def main() -> None:
    """Print both figures and their ratio."""
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    raw = raw_rate(iterations)
    driver = driver_rate(iterations)
    print(f"raw pyserial set+read-back exchanges: {raw:8.1f} /s  ({iterations} cycles, pty)")
    print(f"NewEraPump.set_rate (with read-back): {driver:8.1f} /s  ({iterations} cycles, pty)")
    print(f"driver / raw ratio:                   {driver / raw:8.2f}")


if __name__ == "__main__":
    main()
