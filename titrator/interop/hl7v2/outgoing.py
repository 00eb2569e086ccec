"""Everything a log sends over HL7 v2, in time order: PCD-10 infusion events and PCD-04 alarms.

The export file (`titrator export --format hl7v2`) and the live feed (`titrator send`) take the
same messages from here. Each message keeps its MSH-10 control id whatever else the log holds:
the n-th PCD-10 event and the n-th alarm indication are numbered apart, so an outbox that
already holds a message never queues it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from titrator.interop.hl7v2.alerts import to_alert_messages
from titrator.interop.hl7v2.pcd10 import infusion_events, to_hl7v2_messages
from titrator.interop.hl7v2.segments import DEFAULT_ORDER_SYSTEM, SEGMENT_END, control_id
from titrator.review.model import SessionReview


@dataclass(frozen=True)
class Outgoing:
    """One message to send.

    Attributes:
        control_id: MSH-10.
        what: the event in words (start, rate change, pause, stop, complete, alarm ...).
        at: when it happened (UTC).
        er7: the message, segments ended by CR.
    """

    control_id: str
    what: str
    at: datetime
    er7: str


def outgoing(review: SessionReview, order_id_system: str = DEFAULT_ORDER_SYSTEM) -> list[Outgoing]:
    """The log's messages in time order (an alarm before the event it caused, by record)."""
    keyed: list[tuple[datetime, int, Outgoing]] = []
    events = infusion_events(review)
    messages = to_hl7v2_messages(review, order_id_system)
    for index, (item, er7) in enumerate(zip(events, messages, strict=True), start=1):
        control = control_id(review.session_id, index)
        keyed.append((item.at, item.seq, Outgoing(control, item.what, item.at, er7)))
    for index, (alert, er7) in enumerate(to_alert_messages(review, order_id_system), start=1):
        control = control_id(review.session_id, index, "pcd04")
        keyed.append((alert.at, alert.seq, Outgoing(control, alert.what, alert.at, er7)))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[2] for k in keyed]


def to_hl7v2(review: SessionReview, order_id_system: str = DEFAULT_ORDER_SYSTEM) -> str:
    """The export file: one segment per line (CR LF), every message starting at its MSH line."""
    return "".join(m.er7.replace(SEGMENT_END, "\r\n") for m in outgoing(review, order_id_system))
