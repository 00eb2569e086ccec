"""The states and kinds a pump adapter reports: link, pump, alarm, wire direction, event kind."""

from __future__ import annotations

from enum import StrEnum


class PumpLinkState(StrEnum):
    """What the adapter knows about its link to the pump.

    Not the engine's view of the link (`titrator.domain.decisions.LinkState`: ok, uncertain,
    lost), which the shell derives from this one's changes.
    """

    DISCONNECTED = "disconnected"
    """Not connected yet, or closed."""
    CONNECTED = "connected"
    """The pump answers and its state is known."""
    UNCERTAIN = "uncertain"
    """A command's outcome is unknown: only status reads and stop until the state is re-read."""
    LOST = "lost"
    """The pump stopped answering or the line dropped: reconnect (`connect()`) to re-sync."""


class PumpState(StrEnum):
    """What the pump reports it is doing."""

    UNKNOWN = "unknown"
    STOPPED = "stopped"
    INFUSING = "infusing"
    PAUSED = "paused"
    ALARM = "alarm"
    WITHDRAWING = "withdrawing"
    PURGING = "purging"


class AlarmKind(StrEnum):
    """Pump alarms (the New Era `A?x` set; the fake and manual pumps use the same names)."""

    POWER_RESET = "power_reset"
    """Power was interrupted; runtime settings (a rate set while running) may be lost."""
    STALL = "stall"
    """Motor stalled: occlusion. The pump has stopped."""
    COMMS_TIMEOUT = "comms_timeout"
    """The pump's Safe-mode watchdog expired: it stopped delivery."""
    PROGRAM_ERROR = "program_error"
    """Pumping program error."""
    PHASE_OUT_OF_RANGE = "phase_out_of_range"
    """Pumping program phase out of range."""


class WireDirection(StrEnum):
    """Direction of bytes on the wire, from the host's side (not a pump's pumping direction)."""

    TX = "tx"
    RX = "rx"


class EventKind(StrEnum):
    """Kinds of event an adapter reports through `on_event`, possibly from its own thread."""

    LINK_CHANGED = "link_changed"
    ALARM = "alarm"
    COMMS_FAULT = "comms_fault"
    """A timeout, bad frame or bad checksum, even one a bounded query retry recovered from."""
    VTBI_COMPLETE = "vtbi_complete"
    STATE_CHANGED = "state_changed"
    """The background poll found the pump started, stopped or at another rate, by no command
    of the adapter's (someone at the pump's keypad)."""
    INSTRUCTION = "instruction"
    """Manual pump: a new instruction for the nurse to carry out and confirm."""
