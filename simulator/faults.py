"""Fault injection: what the simulator does wrong, and on which command."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """The faults the simulator can inject."""

    NO_REPLY = "no_reply"
    """Stay silent (by default the command is still carried out)."""
    LATE_REPLY = "late_reply"
    """Reply after `delay_s`."""
    GARBAGE = "garbage"
    """Reply with bytes that are no frame."""
    PARTIAL = "partial"
    """Send the first half of the reply frame, then nothing."""
    BAD_CRC = "bad_crc"
    """Reply with a corrupted CRC (Safe mode) or a corrupted body (Basic mode)."""
    DUPLICATE_REPLY = "duplicate_reply"
    """Send the reply twice, back to back in one write."""
    OTHER_ADDRESS = "other_address"
    """Carry out the command, but answer as the pump at the next address would."""
    DISCONNECT = "disconnect"
    """Drop the line when the command arrives (the command is not carried out)."""
    STALL = "stall"
    """Occlusion: motor-stall alarm `A?S` just before the command is handled."""
    POWER_RESET = "power_reset"
    """Power blip just before the command is handled (so it is ignored: power-up quirk)."""
    COMMS_TIMEOUT = "comms_timeout"
    """Communications time-out alarm `A?T` just before the command is handled."""


GARBAGE_BYTES = b"\xff\x13\x7f\x00garbage\xfe\r\n"


@dataclass(frozen=True)
class Fault:
    """One armed fault.

    Attributes:
        kind: what goes wrong.
        on: the command name that triggers it ("RAT", "RUN", "STP", "DIS", ...; "STATUS" is the
            empty status query); None triggers on the next command of any kind.
        count: how many matching commands it affects.
        delay_s: for LATE_REPLY, how late.
        execute: for NO_REPLY/LATE_REPLY/GARBAGE/PARTIAL/BAD_CRC/DUPLICATE_REPLY, whether the
            pump carries out the command (True: the reply is lost or spoiled; False: the
            command is lost and nothing is sent back).
    """

    kind: FaultKind
    on: str | None = None
    count: int = 1
    delay_s: float = 2.0
    execute: bool = True

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Fault:
        """Build a fault from a control-channel object (unknown keys are an error)."""
        allowed = {"kind", "on", "count", "delay_s", "execute"}
        unknown = set(obj) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(
            kind=FaultKind(obj["kind"]),
            on=None if obj.get("on") is None else str(obj["on"]).upper(),
            count=int(obj.get("count", 1)),
            delay_s=float(obj.get("delay_s", 2.0)),
            execute=bool(obj.get("execute", True)),
        )


def command_name(text: str) -> str:
    """The command name of canonical command text: "0RAT5MH" -> "RAT", "0" -> "STATUS"."""
    letters = text.lstrip("*0123456789")[:3]
    return letters if letters.isalpha() and len(letters) == 3 else "STATUS"


class FaultPlan:
    """Armed faults, consumed as matching commands arrive. Thread-safe."""

    def __init__(self) -> None:
        self._faults: list[list[Any]] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> None:
        """Arm a fault."""
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append([fault, fault.count])

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return [entry[0] for entry in self._faults]

    def take(self, text: str) -> Fault | None:
        """Return (and count down) the first armed fault matching this command, if any."""
        name = command_name(text)
        with self._lock:
            for entry in self._faults:
                fault: Fault = entry[0]
                if fault.on is None or fault.on == name:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._faults.remove(entry)
                    return fault
        return None
