"""IHE PCD-10 (Infusion Pump Event Communication) over HL7 v2.6: `ORU^R42` event messages.

Source: IHE PCD Technical Framework Supplement "Infusion Pump Event Communication (IPEC)",
Rev. 1.5 Trial Implementation, 2015-11-25 (github.com/IHEPCD/ihe-ocd-tf-2019,
`markdown/IPEC.md`; the Word original is `IHE_PCD_Suppl_IPEC_Rev1.5_TI_2015-11-25.doc`):

- section 3.10.4.1 and X.1.1: `ORU^R42^ORU_R01`, HL7 2.6, one event per message, MSH-21 the
  PCD-10 profile OID 1.3.6.1.4.1.19376.1.6.4.10;
- Table X.1.2-1 (Infusion Pump Events): the three events the profile requires,
  MDC_EVT_PUMP_DELIV_START, MDC_EVT_PUMP_DELIV_STOP and MDC_EVT_PUMP_DELIV_COMP;
- Table X.1.2.1-1/-2 (event parameters) and Table X.1.2.1-4 (clinical scenarios): a rate change
  is a DELIV_STOP (delivery status `transitioning`) followed by a DELIV_START; a pause or stop
  is a DELIV_STOP with a "Pump Not Delivering Reason" (`pump-stopped-by-clinician`, or
  `pump-stopped-alarming` for "Infusion Stopped Due to Alarm");
- X.1.2.2 (sample message, page 56): the OBX layout and the numeric codes used here. Codes the
  sample prints as `0` are, in its own words, "pending as of publication date": they are sent
  as `0` exactly as the profile prints them, never guessed.

Patient and device, from the IHE PCD TF-2 Rev. 8.0 (2018-10-23) Appendix B: PID-3 carries the
patient identifiers (B.5, "PID-3 Patient Identifier List"), PID-5 has name type `U` and no other
component when no name is known (B.5, "PID-5 Patient Name"; titrator never records names);
the device is named in OBX-18 of the MDS row (B.8, "OBX-18 Equipment Instance Identifier"):
EUI-64 when there is one, else serial number, model and manufacturer. The log records no pump
serial or EUI-64, so the device named is the titrator workstation that drove the pump
(station id, `titrator`, `urn:titrator:station`, URI). MSH-11 is `P`, or `T` (Training, HL7
table 0103) for a demo or training log. MDS and VMD are the generic infusion pump objects
69985/69986 (the IPEC 2011-08-09 example quoted in P. Schluter, "Event and Alarm Identifiers",
2011-10-20): the pump may be a syringe pump or a manual one, not only a large-volume pump.

Alarms are not sent as alarms: IPEC leaves them to the Alarm Communication Management profile
(PCD-04). An alarm shows here only as the reason a delivery stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from titrator.domain import events as ev
from titrator.domain.units import plain
from titrator.review.episodes import RateSegment
from titrator.review.model import SessionReview

HL7_VERSION: Final = "2.6"
PCD10_PROFILE: Final = "IHE_PCD_010^IHE PCD^1.3.6.1.4.1.19376.1.6.4.10^ISO"
"""MSH-21: the PCD-10 profile identifier (IPEC X.1.1)."""
MESSAGE_TYPE: Final = "ORU^R42^ORU_R01"
SEGMENT_END: Final = "\r"

MDS: Final = "69985^MDC_DEV_PUMP_INFUS_MDS^MDC"
VMD: Final = "69986^MDC_DEV_PUMP_INFUS_VMD^MDC"
ML_PER_H: Final = "265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM"
ML: Final = "263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM"
KG: Final = "263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM"
PUMP_ALARMS: Final = frozenset({"pump_uncertain", "pump_link_lost", "pump_rate_mismatch"})
"""Alarm codes about the pump: a delivery stopped while one is active stopped for an alarm."""


class PumpEvent(StrEnum):
    """The IPEC events sent (Table X.1.2-1), with the MDC code the profile prints."""

    DELIV_START = "197288^MDC_EVT_PUMP_DELIV_START^MDC"
    DELIV_STOP = "0^MDC_EVT_PUMP_DELIV_STOP^MDC"
    DELIV_COMP = "0^MDC_EVT_PUMP_DELIV_COMP^MDC"

    @property
    def mdc(self) -> str:
        """The MDC reference id (MDC_EVT_...)."""
        return self.value.split("^")[1]


@dataclass(frozen=True)
class InfusionEvent:
    """One PCD-10 event, derived from the log's rate changes.

    Attributes:
        event: the IPEC event.
        what: what happened in titrator's words: start, resume, rate change, pause, stop,
            complete.
        at: when (UTC), the `rate_changed` record's time.
        rate_ml_per_h: the programmed rate of the segment the event starts or ends.
        flow_ml_per_h: the pump's flow once the event happened (0 when it stopped).
        delivery_status: Current Delivery Status (pump-delivery-status-...).
        not_delivering_reason: Pump Not Delivering Reason, when not delivering.
        total_ml: cumulative volume the pump reported (or the closing record's), if any.
        seq: the `rate_changed` record.
    """

    event: PumpEvent
    what: str
    at: datetime
    rate_ml_per_h: Decimal
    flow_ml_per_h: Decimal
    delivery_status: str
    not_delivering_reason: str | None
    total_ml: Decimal | None
    seq: int


def _reported_volumes(review: SessionReview) -> list[tuple[datetime, Decimal]]:
    return [
        (e.at, e.event.volume_ml)
        for e in review.timeline
        if isinstance(e.event, ev.PumpStatusRead) and e.event.volume_ml is not None
    ]


def _alarm_active(review: SessionReview, at: datetime) -> bool:
    active: set[str] = set()
    for entry in review.timeline:
        if entry.at > at:
            break
        if isinstance(entry.event, ev.AlarmRaised):
            active.add(entry.event.code.value)
        elif isinstance(entry.event, ev.AlarmCleared):
            active.discard(entry.event.code.value)
    return bool(active & PUMP_ALARMS)


def _changed(
    seg: RateSegment, previous: Decimal, first: bool, alarmed: bool, total: Decimal | None,
    closing_ml: Decimal | None,
) -> list[InfusionEvent]:  # fmt: skip
    """The events of one rate change from `previous` to `seg`'s rate."""
    rate, at = seg.rate_ml_per_h, seg.start
    zero = Decimal(0)
    if previous == 0 and rate > 0:
        what = "start" if first else "resume"
        return [InfusionEvent(PumpEvent.DELIV_START, what, at, rate, rate, "delivering", None,
                              total, seg.seq)]  # fmt: skip
    if previous > 0 and rate > 0 and rate != previous:
        return [
            InfusionEvent(PumpEvent.DELIV_STOP, "rate change", at, previous, previous,
                          "transitioning", None, total, seg.seq),
            InfusionEvent(PumpEvent.DELIV_START, "rate change", at, rate, rate, "delivering",
                          None, total, seg.seq),
        ]  # fmt: skip
    if previous > 0 and rate == 0:
        if "dose volume given" in seg.cause:
            reason = "pump-stopped-alarming" if alarmed else "pump-stopped-not-specified"
            given = closing_ml if closing_ml is not None else total
            return [InfusionEvent(PumpEvent.DELIV_COMP, "complete", at, previous, zero,
                                  "not-delivering", reason, given, seg.seq)]  # fmt: skip
        what = "pause" if seg.cause.startswith("pause") else "stop"
        reason = "pump-stopped-alarming" if alarmed else "pump-stopped-by-clinician"
        return [InfusionEvent(PumpEvent.DELIV_STOP, what, at, previous, zero, "not-delivering",
                              reason, total, seg.seq)]  # fmt: skip
    return []


def infusion_events(review: SessionReview) -> list[InfusionEvent]:
    """The PCD-10 events of a log, in order (see the module docstring for the mapping)."""
    volumes = _reported_volumes(review)
    out: list[InfusionEvent] = []
    previous = Decimal(0)
    for seg in review.rate_segments:
        known = [v for t, v in volumes if t <= seg.start]
        alarmed = seg.rate_ml_per_h == 0 and _alarm_active(review, seg.start)
        first = not any(e.event is PumpEvent.DELIV_START for e in out)
        total = known[-1] if known else None
        out.extend(_changed(seg, previous, first, alarmed, total, review.volume_ml))
        previous = seg.rate_ml_per_h
    return out


_ESCAPES: Final = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(text: str) -> str:
    """`text` with HL7's delimiters escaped (HL7 v2.6 section 2.7.4), line breaks as spaces."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return " ".join(text.split())


def hl7_time(at: datetime) -> str:
    """An HL7 DTM in UTC to the second, with the offset (`YYYYMMDDHHMMSS+0000`)."""
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def control_id(session_id: str, index: int) -> str:
    """MSH-10: the same log always gives the same ids, so a receiver can drop repeats."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:titrator:{session_id}:pcd10:{index}").hex


@dataclass
class _Obx:
    rows: list[tuple[str, str, str, str, str]]

    def add(self, kind: str, code: str, sub: str, value: str = "", units: str = "") -> None:
        self.rows.append((kind, code, sub, value, units))


def _observations(review: SessionReview, item: InfusionEvent) -> Iterator[tuple[str, ...]]:
    h = review.header
    obx = _Obx([])
    obx.add("", MDS, "1.0.0.0")
    obx.add("CWE", "0^MDC_ATTR_EVT_COND^MDC", "1.0.0.1", item.event.value)
    obx.add("ST", "0^MDC_ATTR_EVT_SOURCE^MDC", "1.0.0.2", "1.1.2.0")
    obx.add("", VMD, "1.1.0.0")
    obx.add("", "0^MDC_DEV_PUMP_DELIVERY_INFO^MDC", "1.1.1.0")
    infusing = "pump-status-infusing" if item.flow_ml_per_h > 0 else "pump-status-not-infusing"
    obx.add("CWE", "184519^MDC_PUMP_INFUSING_STATUS^MDC", "1.1.1.1", f"^{infusing}")
    obx.add(
        "NM", "0^MDC_FLOW_FLUID_PUMP_CURRENT^MDC", "1.1.1.2", plain(item.flow_ml_per_h), ML_PER_H
    )
    obx.add("CWE", "0^MDC_DEV_PUMP_ACTIVE_SOURCES^MDC", "1.1.1.3", "^pump-source-info-primary")
    obx.add("", "0^MDC_DEV_PUMP_INFUSATE_SOURCE_PRIMARY^MDC", "1.1.2.0")
    source = [
        ("CWE", "0^MDC_DEV_PUMP_CURRENT_DELIVERY_STATUS^MDC",
         f"^pump-delivery-status-{item.delivery_status}", ""),
        ("CWE", "0^MDC_DEV_PUMP_PROGRAM_DELIVERY_MODE^MDC",
         "^pump-program-delivery-mode-continuous", ""),
    ]  # fmt: skip
    if item.not_delivering_reason is not None:
        source.append(
            (
                "CWE",
                "0^MDC_DEV_PUMP_NOT_DELIVERING_REASON^MDC",
                f"^{item.not_delivering_reason}",
                "",
            )
        )
    source.append(("ST", "0^MDC_DEV_PUMP_SOURCE_CHANNEL_LABEL^MDC", "Primary", ""))
    source.append(("NM", "157784^MDC_FLOW_FLUID_PUMP^MDC", plain(item.rate_ml_per_h), ML_PER_H))
    if h.total_volume_ml is not None:
        source.append(("NM", "157884^MDC_VOL_FLUID_TBI^MDC", plain(h.total_volume_ml), ML))
    if item.total_ml is not None:
        source.append(("NM", "157993^MDC_VOL_FLUID_DELIV_TOTAL^MDC", plain(item.total_ml), ML))
    name = h.product_name or h.product_id
    if name:
        source.append(("ST", "184514^MDC_DRUG_NAME_LABEL^MDC", escape(name), ""))
    if h.weight_kg is not None:
        source.append(("NM", "68063^MDC_ATTR_PT_WEIGHT^MDC", plain(h.weight_kg), KG))
    for n, (kind, code, value, units) in enumerate(source, start=1):
        obx.add(kind, code, f"1.1.2.{n}", value, units)
    yield from obx.rows


def build_message(review: SessionReview, item: InfusionEvent, index: int) -> Message:
    """One `ORU^R42` message for `item`, built with hl7apy (HL7 2.6, strict validation)."""
    h = review.header
    m = Message("ORU_R01", version=HL7_VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    m.msh.msh_3 = "TITRATOR"
    m.msh.msh_7 = hl7_time(item.at)
    m.msh.msh_9 = MESSAGE_TYPE
    m.msh.msh_10 = control_id(review.session_id, index)
    m.msh.msh_11 = "T" if review.training else "P"
    m.msh.msh_12 = HL7_VERSION
    m.msh.msh_15 = "AL"
    m.msh.msh_16 = "NE"
    m.msh.msh_18 = "UNICODE UTF-8"
    m.msh.msh_21 = PCD10_PROFILE
    result = m.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    ids = [f"{escape(i)}^^^^PI" for i in (h.patient_id, h.patient_id_2) if i] or ["^^^^PI"]
    patient.pid.pid_3 = ids[0]
    for more in ids[1:]:  # a repetition of PID-3 (hl7apy would escape a typed "~")
        patient.pid.add_field("pid_3").value = more
    patient.pid.pid_5 = "^^^^^^U"
    patient.add_group("ORU_R01_VISIT").pv1.pv1_2 = "U"
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    order.obr.obr_3 = f"{escape(review.session_id)}^TITRATOR"
    product = escape(h.product_id or "unknown")
    order.obr.obr_4 = f"{product}^{escape(h.product_name or product)}^L"
    order.obr.obr_7 = hl7_time(item.at)
    device = f"{escape(review.station_id) or 'UNKNOWN'}^titrator^urn:titrator:station^URI"
    for n, (kind, code, sub, value, units) in enumerate(_observations(review, item), start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(n)
        if kind:
            obx.obx_2 = kind
        obx.obx_3 = code
        obx.obx_4 = sub
        if value:
            obx.obx_5 = value
        if units:
            obx.obx_6 = units
        obx.obx_11 = "R" if kind else "X"
        if code.endswith("MDC_ATTR_EVT_COND^MDC"):
            obx.obx_14 = hl7_time(item.at)
        if code == MDS:
            obx.obx_18 = device
    return m


def to_hl7v2_messages(review: SessionReview) -> list[str]:
    """Every event of the log as an ER7 message (segments ended by CR), validated by hl7apy."""
    messages: list[str] = []
    for index, item in enumerate(infusion_events(review), start=1):
        message = build_message(review, item, index)
        message.validate()  # hl7apy raises on anything HL7 2.6 does not allow
        messages.append(message.to_er7() + SEGMENT_END)
    return messages


def to_hl7v2(review: SessionReview) -> str:
    """The export file: one segment per line (CR LF), every message starting at its MSH line."""
    return "".join(m.replace(SEGMENT_END, "\r\n") for m in to_hl7v2_messages(review))
