"""What the log says about the devices: the pump's `VER` reply and titrator's version.

Read from the records as they are, never assumed: the pump's model and firmware come from the
first well-formed reply to a `VER` query in the `pump_wire` trace (the New Era driver asks at
start-up and at every reconnect), decoded with the driver's own codec; titrator's version from
the writer's `log_opened` record. A log without them (a manual pump, a headless run, an older
log) says nothing about the pump, and neither does anything derived from it. The New Era
protocol has no serial-number query, so no pump serial number is ever in a log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from titrator.pump.base import WireDirection
from titrator.pump.newera.codec import (
    DecodeError,
    Frame,
    FrameDecoder,
    Framing,
    parse_reply,
    parse_version,
)
from titrator.review.model import SessionReview

VERSION_COMMAND = "VER"
"""The New Era query whose reply names the model and firmware ("NE1000V3.928")."""


@dataclass(frozen=True)
class PumpIdentity:
    """The pump as its `VER` reply named it.

    Attributes:
        model: the model, e.g. "NE1000".
        firmware: the firmware version, e.g. "3.928".
        reply: the reply text as received, e.g. "NE1000V3.928".
    """

    model: str
    firmware: str
    reply: str


def _replies(data_hex: str) -> Iterable[str]:
    """The data of every valid reply frame in the bytes (safe framing, then basic)."""
    try:
        raw = bytes.fromhex(data_hex)
    except ValueError:
        return
    for framing in (Framing.SAFE, Framing.BASIC):
        for item in FrameDecoder(framing).feed(raw):
            if not isinstance(item, Frame):
                continue
            try:
                reply = parse_reply(item.data)
            except DecodeError:
                continue
            if reply.error is None and reply.alarm is None and reply.data:
                yield reply.data


def pump_identity(review: SessionReview) -> PumpIdentity | None:
    """The pump's model and firmware from the first `VER` reply in the log, or None."""
    for entry in review.timeline:
        if entry.kind != "pump_wire":
            continue
        payload = entry.payload
        if payload.get("direction") != WireDirection.RX.value:
            continue
        if payload.get("command") != VERSION_COMMAND or payload.get("note"):
            continue
        for text in _replies(str(payload.get("data_hex", ""))):
            try:
                model, firmware = parse_version(text)
            except DecodeError:
                continue
            return PumpIdentity(model=model, firmware=firmware, reply=text)
    return None


def software_version(review: SessionReview) -> str | None:
    """The titrator version the writer recorded it when it opened the log, or None."""
    for entry in review.timeline:
        if entry.kind == "log_opened":
            version = entry.payload.get("software_version")
            if isinstance(version, str) and version:
                return version
    return None
