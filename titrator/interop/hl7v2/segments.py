"""What every IHE PCD message titrator sends shares: header, patient, order and device.

IHE PCD Technical Framework Vol. 2 Rev. 8.0 (2018-10-23), Appendix B (github.com/IHEPCD/
ihe-ocd-tf-2019, `markdown/IHE_PCD_TF_Rev8-0_Vol2_FT_2018-10-23.md`):

- PID-3 carries the patient identifiers (B.5, "PID-3 Patient Identifier List"); PID-5 has name
  type `U` and no other component when no name is known (B.5, "PID-5 Patient Name"; titrator
  never records names). MSH-11 is `P`, or `T` (Training, HL7 table 0103) for a demo or
  training log. A log without a setup identified no patient: PID-3 is then the session's
  (`SESSION/patient`, assigned by `urn:titrator:session`), as in the FHIR export.
- OBR-2 Placer Order Number (B.7, "OBR-2 Placer Order Number"): "If the observation is in
  response to an order, then the ordering application's placer number and naming system should
  be returned here"; EI-1 the order number, and the assigning system as a Universal ID (EI-3)
  with its type (EI-4), in which case the Namespace ID (EI-2) "is not required". The order
  number is the one typed at setup; the system is the site's `fhir_order_id_system` (the
  same system the FHIR export names the order in).
- OBX-18 Equipment Instance Identifier on the MDS row (B.8, "OBX-18 Equipment Instance
  Identifier"): EUI-64 when there is one, else "the manufacturer's unique device identifier
  (e.g., serial number) ... in EI-1, with the model identification in the Namespace ID (EI-2),
  and the manufacturer's identity in the universal ID (EI-3)" (its Example 2:
  `123456^ICU_MONITOR^megacorp.com^DNS`); repeatable, lowest-level equipment first. The pump's
  model and firmware come from its `VER` reply in the log (`titrator.review.pump_info`); the
  New Era protocol has no serial-number or EUI-64 query, so no serial is ever in a log and none
  is sent: EI-1 is the identifier the FHIR export gives the same pump (workstation, model,
  firmware), EI-2 the model, EI-3 New Era Pump Systems' domain (`syringepump.com`, the domain
  of its manuals, see /work/shared/reference/pump-protocol.md section 1.1). The titrator
  workstation that drove the pump follows (station id, `titrator`, `urn:titrator:station`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from titrator.interop.fhir.transaction import PLACEHOLDER_SYSTEMS
from titrator.review.model import SessionReview
from titrator.review.pump_info import pump_identity

HL7_VERSION: Final = "2.6"
SEGMENT_END: Final = "\r"
PUMP_MANUFACTURER: Final = "syringepump.com^DNS"
"""EI-3 and EI-4 of a New Era pump: its manufacturer's domain."""
DEFAULT_ORDER_SYSTEM: Final = PLACEHOLDER_SYSTEMS[2]
"""The configuration's placeholder for `fhir_order_id_system` (a site replaces it)."""

_ESCAPES: Final = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(text: str) -> str:
    """`text` with HL7's delimiters escaped (HL7 v2.6 section 2.7.4), line breaks as spaces."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return " ".join(text.split())


def hl7_time(at: datetime) -> str:
    """An HL7 DTM in UTC to the second, with the offset (`YYYYMMDDHHMMSS+0000`)."""
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def control_id(session_id: str, index: int, profile: str = "pcd10") -> str:
    """MSH-10: the same log always gives the same ids, so a receiver can drop repeats."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:titrator:{session_id}:{profile}:{index}").hex


def placer_order(review: SessionReview, order_id_system: str) -> str | None:
    """OBR-2: the order typed at setup in the site's order system, or None (no order typed)."""
    order = review.header.order_id
    if not order:
        return None
    return f"{escape(order)}^^{escape(order_id_system)}^URI"


def devices(review: SessionReview) -> list[str]:
    """OBX-18 repetitions of the MDS row: the pump, then the titrator workstation.

    The pump is named only when its `VER` reply is in the log.
    """
    station = escape(review.station_id) or "UNKNOWN"
    found = []
    pump = pump_identity(review)
    if pump is not None:
        model = escape(pump.model)
        found.append(f"{station}/{model}/{escape(pump.firmware)}^{model}^{PUMP_MANUFACTURER}")
    found.append(f"{station}^titrator^urn:titrator:station^URI")
    return found


def new_message(
    review: SessionReview, *, at: datetime, kind: str, control: str, profile: str
) -> Message:
    """An `ORU_R01`-structured message with its MSH, PID and PV1 (HL7 2.6, strict)."""
    h = review.header
    m = Message("ORU_R01", version=HL7_VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    m.msh.msh_3 = "TITRATOR"
    m.msh.msh_7 = hl7_time(at)
    m.msh.msh_9 = kind
    m.msh.msh_10 = control
    m.msh.msh_11 = "T" if review.training else "P"
    m.msh.msh_12 = HL7_VERSION
    m.msh.msh_15 = "AL"
    m.msh.msh_16 = "NE"
    m.msh.msh_18 = "UNICODE UTF-8"
    m.msh.msh_21 = profile
    result = m.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    ids = [f"{escape(i)}^^^^PI" for i in (h.patient_id, h.patient_id_2) if i] or [
        # a log without a setup (headless) identified no patient: the session's, as in FHIR
        f"{escape(review.session_id)}/patient^^^&urn:titrator:session&URI^PI"
    ]
    patient.pid.pid_3 = ids[0]
    for more in ids[1:]:  # a repetition of PID-3 (hl7apy would escape a typed "~")
        patient.pid.add_field("pid_3").value = more
    patient.pid.pid_5 = "^^^^^^U"
    patient.add_group("ORU_R01_VISIT").pv1.pv1_2 = "U"
    return m


def set_devices(obx: Message, review: SessionReview) -> None:
    """OBX-18 of an MDS row: every repetition of `devices`."""
    first, *more = devices(review)
    obx.obx_18 = first
    for value in more:
        obx.add_field("obx_18").value = value
