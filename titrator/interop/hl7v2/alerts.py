"""Pump alarms as IHE PCD-04 (Alert Communication Management) `ORU^R40` Report Alert messages.

IPEC, the PCD-10 supplement, sends no alarms: its section "Relation of Infusion Pump Event
Communication to Alert Communication Management (ACM) Profile" leaves them to ACM, whose Report
Alert transaction is PCD-04. Source: IHE PCD Technical Framework Rev. 8.0 (2018-10-23),
github.com/IHEPCD/ihe-ocd-tf-2019, `markdown/IHE_PCD_TF_Rev8-0_Vol2_FT_2018-10-23.md` (TF-2) and
`..._Vol3_...md` (TF-3):

- TF-2 3.4.4.1.2, "PCD-04 Report Alert": MSH, PID, PV1, OBR, OBX; "at most one alert per
  [PCD-04] transaction". MSH-21 `IHE_PCD_ACM_001` with the ACM OID (the TF-2 sample messages).
  MSH-9 is `ORU^R40^ORU_R01`: the TF prints the structure as `ORU_R40`, but HL7 names no such
  structure (table 0354 of HL7 2.8.2, where trigger R40 is defined, has none; the segments the
  TF lists are those of ORU_R01), and an HL7 library validates the message by its structure.
- TF-2 B.7.1, OBR for ACM: OBR-4 `196616^MDC_EVT_ALARM^MDC`; OBR-3 identifies each indication
  (start, end); OBR-29 Parent identifies the alert across all of its indications.
- TF-2 B.8.5 (Table B.8.5-1, Observation Sub-ID facets): OBX 1 event identification (for a
  technical alarm or an advisory `196616^MDC_EVT_ALARM^MDC` with the specific alert in OBX-5),
  2 source (`68480^MDC_ATTR_ALERT_SOURCE^MDC`), 3 event phase (start, end), 4 alert state
  (active, inactive), 6 priority (`PN` not indicated: neither the pump nor titrator grades
  its alarms), 7 alert type (`ST` technical alarm, `SA` advisory); facets as separate OBX
  segments, the OBX-8 form being deprecated.
- TF-3 Table 3.2-1 "Device Alert Event Semantics": the event codes below, as MDC codes
  (partition 3, so 3 * 65536 + the term code: MDC_EVT_ALARM (3::8) is 196616).

What is sent, from what the log holds (nothing else):

- the pump's own alarms, from its replies in the `pump_wire` trace (New Era `A?x`, decoded with
  the driver's codec): a stall, which New Era reports for an occlusion (MDC_EVT_OCCL), its
  communications watchdog (MDC_EVT_TIMEOUT), a pumping program error (MDC_EVT_ERR), a program
  phase out of range (MDC_EVT_RANGE_ERR), a power interruption (no TF-3 term: sent as text
  only); it starts with the first reply that carries it and ends with the first reply that
  does not;
- titrator's alarms about the pump (`alarm_raised` / `alarm_cleared`): link lost
  (MDC_EVT_DISCONN, technical), state uncertain and volume discrepancy (MDC_EVT_ADVIS_CHK,
  "Check Device", advisory), rate mismatch (MDC_EVT_ADVIS_SETTINGS_CHK, advisory).

Not sent: a failing audit log (titrator's own condition, not the pump's) and reactions (the
patient's, recorded by a nurse, not a device's alarm: they go to the EHR as FHIR AdverseEvents).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from hl7apy.core import Message

from titrator.domain import events as ev
from titrator.domain.decisions import AlarmCode
from titrator.interop.hl7v2.segments import (
    DEFAULT_ORDER_SYSTEM,
    SEGMENT_END,
    control_id,
    escape,
    hl7_time,
    new_message,
    placer_order,
    set_devices,
)
from titrator.pump.base import WireDirection
from titrator.pump.newera.codec import DecodeError, Frame, FrameDecoder, Framing, parse_reply
from titrator.pump.newera.codec import PumpAlarmCode as Wire
from titrator.review.model import SessionReview

MESSAGE_TYPE: Final = "ORU^R40^ORU_R01"
ACM_PROFILE: Final = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.1^ISO"
"""MSH-21 of a PCD-04 message (TF-2 sample "Infusion Pump, Fluid Line Occlusion")."""
MDC_EVT_ALARM: Final = "196616^MDC_EVT_ALARM^MDC"
PUMP_MDS: Final = "69985^MDC_DEV_PUMP_INFUS_MDS^MDC"
TECHNICAL: Final = "ST"
ADVISORY: Final = "SA"

Phase = Literal["start", "end"]


def _cwe(code: str, text: str) -> str:
    """OBX-5: the MDC event (identifier^name^MDC) and titrator's words as Original Text."""
    return f"{code}^^^^^^{escape(text)}" if code else f"^^^^^^^^{escape(text)}"


PUMP_ALARMS: Final[dict[Wire, tuple[str, str]]] = {
    Wire.STALL: ("196688^MDC_EVT_OCCL^MDC", "pump motor stalled (occlusion)"),
    Wire.COMMS_TIMEOUT: ("197192^MDC_EVT_TIMEOUT^MDC", "pump communications watchdog expired"),
    Wire.PROGRAM_ERROR: ("196638^MDC_EVT_ERR^MDC", "pumping program error"),
    Wire.PHASE_OUT_OF_RANGE: ("196772^MDC_EVT_RANGE_ERR^MDC", "program phase out of range"),
    Wire.RESET: ("", "pump power was interrupted"),
}
"""The pump's alarm letters: TF-3 Table 3.2-1 event (empty: no term) and what it means."""

TITRATOR_ALARMS: Final[dict[AlarmCode, tuple[str, str, str]]] = {
    AlarmCode.PUMP_LINK_LOST: ("196630^MDC_EVT_DISCONN^MDC", "link to the pump lost", TECHNICAL),
    AlarmCode.PUMP_UNCERTAIN: ("203266^MDC_EVT_ADVIS_CHK^MDC", "pump state uncertain", ADVISORY),
    AlarmCode.VOLUME_DISCREPANCY: (
        "203266^MDC_EVT_ADVIS_CHK^MDC",
        "pump volume differs from titrator's count",
        ADVISORY,
    ),
    AlarmCode.PUMP_RATE_MISMATCH: (
        "203276^MDC_EVT_ADVIS_SETTINGS_CHK^MDC",
        "pump rate differs from the rate set",
        ADVISORY,
    ),
}
"""Titrator's alarms about the pump: TF-3 event, what it means, alert type."""


@dataclass(frozen=True)
class PumpAlert:
    """One indication of an alarm (its start or its end).

    Attributes:
        at: when (UTC): the record that showed it.
        phase: start or end.
        name: the alarm in titrator's words (the pump's letter or titrator's alarm code).
        event: OBX-5 of the event identification (MDC event code and text).
        alert_type: ST (technical alarm) or SA (advisory).
        number: the alarm's number in the log (1, 2, ...), shared by its start and its end.
        seq: the record that showed it.
    """

    at: datetime
    phase: Phase
    name: str
    event: str
    alert_type: str
    number: int
    seq: int

    @property
    def what(self) -> str:
        """The indication in words (the outbox's and the report's)."""
        return f"alarm {self.name} {self.phase}"


def _wire_replies(review: SessionReview) -> Iterator[tuple[datetime, int, Wire | None]]:
    """(time, record, alarm letter or None) of every reply the pump sent, in order."""
    for entry in review.timeline:
        if entry.kind != "pump_wire":
            continue
        payload = entry.payload
        if payload.get("direction") != WireDirection.RX.value:
            continue
        try:
            raw = bytes.fromhex(str(payload.get("data_hex", "")))
        except ValueError:
            continue
        for framing in (Framing.SAFE, Framing.BASIC):
            frames = [f for f in FrameDecoder(framing).feed(raw) if isinstance(f, Frame)]
            if not frames:
                continue
            for frame in frames:
                try:
                    reply = parse_reply(frame.data)
                except DecodeError:
                    continue
                yield entry.at, entry.seq, reply.alarm
            break


class _Numbering:
    """Gives each alarm its number at its start and finds it again at its end."""

    def __init__(self) -> None:
        self.count = 0
        self.open: dict[str, int] = {}

    def start(self, key: str) -> int:
        self.count += 1
        self.open[key] = self.count
        return self.count

    def end(self, key: str) -> int | None:
        return self.open.pop(key, None)


def pump_alerts(review: SessionReview) -> list[PumpAlert]:
    """Every alarm indication of the log, in time order (see the module docstring)."""
    found: list[PumpAlert] = []
    numbers = _Numbering()
    current: Wire | None = None
    for at, seq, alarm in _wire_replies(review):
        if alarm == current:
            continue
        if current is not None:
            number = numbers.end(f"pump:{current.name}")
            code, text = PUMP_ALARMS[current]
            if number is not None:
                found.append(PumpAlert(at, "end", current.name.lower(), _cwe(code, text),
                                       TECHNICAL, number, seq))  # fmt: skip
        if alarm is not None:
            code, text = PUMP_ALARMS[alarm]
            number = numbers.start(f"pump:{alarm.name}")
            found.append(PumpAlert(at, "start", alarm.name.lower(), _cwe(code, text), TECHNICAL,
                                   number, seq))  # fmt: skip
        current = alarm
    for entry, event in review.events(ev.AlarmRaised, ev.AlarmCleared):
        if event.code not in TITRATOR_ALARMS:
            continue
        code, text, kind = TITRATOR_ALARMS[event.code]
        key = f"titrator:{event.code.value}"
        if isinstance(event, ev.AlarmRaised):
            if key in numbers.open:  # raised again while active: still the same alarm
                continue
            number = numbers.start(key)
            phase: Phase = "start"
        else:
            ended = numbers.end(key)
            if ended is None:
                continue
            number, phase = ended, "end"
        found.append(PumpAlert(entry.at, phase, event.code.value, _cwe(code, text), kind,
                               number, entry.seq))  # fmt: skip
    return sorted(found, key=lambda a: (a.at, a.seq))


def _alert_id(review: SessionReview, number: int) -> str:
    return f"{escape(review.session_id)}-alarm-{number}"


def build_alert(
    review: SessionReview,
    alert: PumpAlert,
    index: int,
    order_id_system: str = DEFAULT_ORDER_SYSTEM,
) -> Message:
    """One PCD-04 `ORU^R40` message for `alert`, built with hl7apy (HL7 2.6, strict)."""
    control = control_id(review.session_id, index, "pcd04")
    m = new_message(review, at=alert.at, kind=MESSAGE_TYPE, control=control, profile=ACM_PROFILE)
    order = m.oru_r01_patient_result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    placer = placer_order(review, order_id_system)
    if placer is not None:
        order.obr.obr_2 = placer
    parent = _alert_id(review, alert.number)
    order.obr.obr_3 = f"{parent}-{alert.phase}^TITRATOR"
    order.obr.obr_4 = MDC_EVT_ALARM
    order.obr.obr_7 = hl7_time(alert.at)
    order.obr.obr_29 = f"^{parent}&TITRATOR"
    rows = [
        ("CWE", MDC_EVT_ALARM, 1, alert.event),
        ("CWE", "68480^MDC_ATTR_ALERT_SOURCE^MDC", 2, PUMP_MDS),
        ("ST", "68481^MDC_ATTR_EVENT_PHASE^MDC", 3, alert.phase),
        ("ST", "68482^MDC_ATTR_ALARM_STATE^MDC", 4, "active" if alert.phase == "start" else
         "inactive"),
        ("ST", "68484^MDC_ATTR_ALARM_PRIORITY^MDC", 6, "PN"),
        ("ST", "68485^MDC_ATTR_ALERT_TYPE^MDC", 7, alert.alert_type),
    ]  # fmt: skip
    for n, (kind, code, facet, value) in enumerate(rows, start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(n)
        obx.obx_2 = kind
        obx.obx_3 = code
        obx.obx_4 = f"1.0.0.0.{facet}"
        obx.obx_5 = value
        obx.obx_11 = "F"
        if facet == 1:
            obx.obx_14 = hl7_time(alert.at)
            set_devices(obx, review)
    return m


def to_alert_messages(
    review: SessionReview, order_id_system: str = DEFAULT_ORDER_SYSTEM
) -> list[tuple[PumpAlert, str]]:
    """Every alarm indication with its ER7 message (segments ended by CR), validated."""
    out = []
    for index, alert in enumerate(pump_alerts(review), start=1):
        message = build_alert(review, alert, index, order_id_system)
        message.validate()  # hl7apy raises on anything HL7 2.6 does not allow
        out.append((alert, message.to_er7() + SEGMENT_END))
    return out
