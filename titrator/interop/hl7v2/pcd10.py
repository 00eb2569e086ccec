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
  as `0` exactly as the profile prints them, never guessed;
- Table X.1.2.1-2: "For Delivery Stop and Delivery Complete, either [Current Segment Volume
  Delivered] or Cumulative Volume Delivered is required". Both are sent on every STOP and
  COMP: MDC_VOL_FLUID_DELIV_SEGMENT, the volume since the last DELIV_START, and
  MDC_VOL_FLUID_DELIV_TOTAL, the pump's own counter when it reported one, else titrator's
  count. Titrator's count is the engine's integration of the programmed rates over time, the
  same count the closing record carries (tests hold the two equal), rounded down to 0.1 mL
  like every volume shown.

Patient, order (OBR-2, the order number typed at setup) and device (OBX-18 of the MDS row: the
pump as its `VER` reply named it, then the workstation) follow the IHE PCD TF-2 Appendix B, as
`titrator.interop.hl7v2.segments` sets out. MDS and VMD are the generic infusion pump objects
69985/69986 (the IPEC 2011-08-09 example quoted in P. Schluter, "Event and Alarm Identifiers",
2011-10-20): the pump may be a syringe pump or a manual one, not only a large-volume pump.

Alarms are not PCD-10 events: IPEC ("Relation of Infusion Pump Event Communication to Alert
Communication Management") leaves them to the ACM profile, so they go out as PCD-04
`ORU^R40` messages (`titrator.interop.hl7v2.alerts`); here an alarm shows as the reason a
delivery stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Final

from hl7apy.core import Message

from titrator.domain import events as ev
from titrator.domain.units import plain
from titrator.interop.hl7v2.segments import (
    DEFAULT_ORDER_SYSTEM,
    HL7_VERSION,
    SEGMENT_END,
    control_id,
    escape,
    hl7_time,
    new_message,
    placer_order,
    set_devices,
)
from titrator.review.episodes import RateSegment
from titrator.review.model import SessionReview

__all__ = [
    "HL7_VERSION",
    "PCD10_PROFILE",
    "InfusionEvent",
    "PumpEvent",
    "build_message",
    "control_id",
    "escape",
    "hl7_time",
    "infusion_events",
    "to_hl7v2_messages",
]

PCD10_PROFILE: Final = "IHE_PCD_010^IHE PCD^1.3.6.1.4.1.19376.1.6.4.10^ISO"
"""MSH-21: the PCD-10 profile identifier (IPEC X.1.1)."""
MESSAGE_TYPE: Final = "ORU^R42^ORU_R01"

MDS: Final = "69985^MDC_DEV_PUMP_INFUS_MDS^MDC"
VMD: Final = "69986^MDC_DEV_PUMP_INFUS_VMD^MDC"
ML_PER_H: Final = "265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM"
ML: Final = "263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM"
KG: Final = "263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM"
DELIV_SEGMENT: Final = "0^MDC_VOL_FLUID_DELIV_SEGMENT^MDC"
"""Current Segment Volume Delivered (Table X.1.2.1-1); the sample message prints no numeric code
for it, so it is sent as `0`, like the codes the sample prints as pending."""
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
        total_ml: cumulative volume delivered: the pump's counter if it reported one, else
            titrator's count (the closing record's on completion).
        segment_ml: volume delivered since the last DELIV_START (STOP and COMP only).
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
    segment_ml: Decimal | None
    seq: int


def _reported_volumes(review: SessionReview) -> list[tuple[datetime, Decimal]]:
    return [
        (e.at, event.volume_ml)
        for e, event in review.events(ev.PumpStatusRead)
        if event.volume_ml is not None
    ]


ALARM_KINDS: Final = frozenset({"alarm_raised", "alarm_cleared"})


def _alarm_active(review: SessionReview, at: datetime) -> bool:
    active: set[str] = set()
    for entry in review.timeline:
        if entry.at > at:
            break
        if entry.kind not in ALARM_KINDS:  # read again only the records that can matter
            continue
        event = entry.event
        if isinstance(event, ev.AlarmRaised):
            active.add(event.code.value)
        elif isinstance(event, ev.AlarmCleared):
            active.discard(event.code.value)
    return bool(active & PUMP_ALARMS)


ZERO: Final = Decimal(0)
TENTH: Final = Decimal("0.1")
SECONDS_PER_HOUR: Final = Decimal(3600)


def delivered_ml(segment: RateSegment) -> Decimal:
    """What `segment`'s rate delivers over its duration (the engine's integration), exactly."""
    if segment.end is None or segment.rate_ml_per_h == 0:
        return ZERO
    seconds = Decimal(str((segment.end - segment.start).total_seconds()))
    return segment.rate_ml_per_h * seconds / SECONDS_PER_HOUR


def shown(volume_ml: Decimal) -> Decimal:
    """A volume rounded down to 0.1 mL, as every volume is shown."""
    return volume_ml.quantize(TENTH, rounding=ROUND_DOWN)


@dataclass(frozen=True)
class _Change:
    """One rate change and what is known at it."""

    seg: RateSegment
    previous: Decimal
    first: bool
    alarmed: bool
    total_ml: Decimal
    segment_ml: Decimal


def _changed(c: _Change, closing_ml: Decimal | None) -> list[InfusionEvent]:
    """The events of one rate change from `c.previous` to `c.seg`'s rate."""
    seg, previous = c.seg, c.previous
    rate, at = seg.rate_ml_per_h, seg.start
    if previous == 0 and rate > 0:
        what = "start" if c.first else "resume"
        return [InfusionEvent(PumpEvent.DELIV_START, what, at, rate, rate, "delivering", None,
                              c.total_ml, None, seg.seq)]  # fmt: skip
    if previous > 0 and rate > 0 and rate != previous:
        return [
            InfusionEvent(PumpEvent.DELIV_STOP, "rate change", at, previous, previous,
                          "transitioning", None, c.total_ml, c.segment_ml, seg.seq),
            InfusionEvent(PumpEvent.DELIV_START, "rate change", at, rate, rate, "delivering",
                          None, c.total_ml, None, seg.seq),
        ]  # fmt: skip
    if previous > 0 and rate == 0:
        if "dose volume given" in seg.cause:
            reason = "pump-stopped-alarming" if c.alarmed else "pump-stopped-not-specified"
            given = shown(closing_ml) if closing_ml is not None else c.total_ml
            comp = PumpEvent.DELIV_COMP
            return [InfusionEvent(comp, "complete", at, previous, ZERO, "not-delivering", reason,
                                  given, c.segment_ml, seg.seq)]  # fmt: skip
        what = "pause" if seg.cause.startswith("pause") else "stop"
        reason = "pump-stopped-alarming" if c.alarmed else "pump-stopped-by-clinician"
        return [InfusionEvent(PumpEvent.DELIV_STOP, what, at, previous, ZERO, "not-delivering",
                              reason, c.total_ml, c.segment_ml, seg.seq)]  # fmt: skip
    return []


def infusion_events(review: SessionReview) -> list[InfusionEvent]:
    """The PCD-10 events of a log, in order (see the module docstring for the mapping)."""
    volumes = _reported_volumes(review)
    out: list[InfusionEvent] = []
    previous = ZERO
    counted = ZERO  # titrator's count: the programmed rates integrated over time
    since_start = ZERO  # the same, since the last DELIV_START
    for i, seg in enumerate(review.rate_segments):
        if i > 0:
            before = review.rate_segments[i - 1]
            counted += delivered_ml(before)
            since_start += delivered_ml(before)
        known = [v for t, v in volumes if t <= seg.start]
        change = _Change(
            seg=seg,
            previous=previous,
            first=not any(e.event is PumpEvent.DELIV_START for e in out),
            alarmed=seg.rate_ml_per_h == 0 and _alarm_active(review, seg.start),
            total_ml=known[-1] if known else shown(counted),
            segment_ml=shown(since_start),
        )
        events = _changed(change, review.volume_ml)
        if any(e.event is PumpEvent.DELIV_START for e in events):
            since_start = ZERO
        out.extend(events)
        previous = seg.rate_ml_per_h
    return out


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
    if item.segment_ml is not None:
        source.append(("NM", DELIV_SEGMENT, plain(item.segment_ml), ML))
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


def build_message(
    review: SessionReview,
    item: InfusionEvent,
    index: int,
    order_id_system: str = DEFAULT_ORDER_SYSTEM,
) -> Message:
    """One `ORU^R42` message for `item`, built with hl7apy (HL7 2.6, strict validation)."""
    h = review.header
    control = control_id(review.session_id, index)
    m = new_message(review, at=item.at, kind=MESSAGE_TYPE, control=control, profile=PCD10_PROFILE)
    order = m.oru_r01_patient_result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    placer = placer_order(review, order_id_system)
    if placer is not None:
        order.obr.obr_2 = placer
    order.obr.obr_3 = f"{escape(review.session_id)}^TITRATOR"
    product = escape(h.product_id or "unknown")
    order.obr.obr_4 = f"{product}^{escape(h.product_name or product)}^L"
    order.obr.obr_7 = hl7_time(item.at)
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
            set_devices(obx, review)
    return m


def to_hl7v2_messages(
    review: SessionReview, order_id_system: str = DEFAULT_ORDER_SYSTEM
) -> list[str]:
    """Every PCD-10 event of the log as an ER7 message (segments ended by CR), validated."""
    messages: list[str] = []
    for index, item in enumerate(infusion_events(review), start=1):
        message = build_message(review, item, index, order_id_system)
        message.validate()  # hl7apy raises on anything HL7 2.6 does not allow
        messages.append(message.to_er7() + SEGMENT_END)
    return messages
