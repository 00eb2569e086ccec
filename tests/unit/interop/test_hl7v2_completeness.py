"""Issue 16 item 2, completed: the order (OBR-2), the pump (OBX-18), the volume on every STOP and
COMP (IPEC Table X.1.2.1-2) and pump alarms as IHE PCD-04 `ORU^R40` Report Alerts.

Every message is parsed back by hl7apy strictly as HL7 2.6 and validated against its structure
(`strict`), then its fields are read from the parsed message.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from hl7apy.core import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.wire import frame_reply
from tests.unit.interop.test_hl7v2_pcd10 import obx_rows, strict, value
from tests.unit.review.entries import entry_with
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS
from titrator.domain import events as ev
from titrator.domain.decisions import AlarmCode
from titrator.interop.fhir.export import to_fhir
from titrator.interop.fhir.transaction import SYS_PUMP
from titrator.interop.hl7v2.alerts import ACM_PROFILE, pump_alerts, to_alert_messages
from titrator.interop.hl7v2.outgoing import outgoing, to_hl7v2
from titrator.interop.hl7v2.pcd10 import infusion_events, to_hl7v2_messages
from titrator.review.model import SessionReview, load_review

ORDER = "ORD 7781/2"
SITE_ORDERS = "https://hospital.example/fhir/sid/orders"
STATION = "bay-3^titrator^urn:titrator:station^URI"
PUMP = "bay-3/NE1000/3.928^NE1000^syringepump.com^DNS"


def _wire(text: str, ms: int, command: str = "") -> dict[str, Any]:
    """A `pump_wire` record of a reply the pump sent (Safe-mode frame)."""
    return {
        "kind": "pump_wire",
        "direction": "rx",
        "data_hex": frame_reply(text, safe=True).hex(" "),
        "monotonic_ms": ms,
        "requester": "keepalive",
        "reason": "poll",
        "command": command,
    }


@pytest.fixture(scope="module")
def alarmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stopped session with an order, the pump's `VER` reply, and a stall the pump reported
    twice before a reply without it."""
    wire = (
        _wire("00SNE1000V3.928", 85_000, "VER"),
        _wire("00A?S", 86_000),
        _wire("00A?S", 87_000),
        _wire("00S", 88_000),
    )
    spec = LogSpec(session_id="s-alarmed", script="stopped", order_id=ORDER, early_records=wire)
    return build_log(tmp_path_factory.mktemp("alarmed"), spec)


@pytest.fixture(scope="module")
def alarmed_review(alarmed: Path) -> SessionReview:
    """The alarmed log's review, read once."""
    return load_review(alarmed)


def _order(message: Message) -> Message:
    return message.oru_r01_patient_result.oru_r01_order_observation


def _mds(message: Message) -> str:
    """OBX-18 of the row that names the device (the MDS row, or the alert's event row)."""
    for segment in str(message.to_er7()).split("\r"):
        fields = segment.split("|")
        if fields[0] == "OBX" and len(fields) > 18 and fields[18]:
            return fields[18]
    raise AssertionError("no OBX-18")


def test_the_order_typed_at_setup_is_obr_2_of_every_message(
    alarmed: Path, logs: dict[str, Path]
) -> None:
    review = load_review(alarmed)
    sent = outgoing(review)
    assert {"ORU^R42^ORU_R01", "ORU^R40^ORU_R01"} == {
        strict(m.er7).msh.msh_9.to_er7() for m in sent
    }
    for m in sent:
        obr = _order(strict(m.er7)).obr
        assert obr.obr_2.to_er7() == f"{ORDER}^^urn:titrator:site:order-id^URI"
    for m in outgoing(review, SITE_ORDERS):
        assert _order(strict(m.er7)).obr.obr_2.to_er7() == f"{ORDER}^^{SITE_ORDERS}^URI"
    without = strict(to_hl7v2_messages(load_review(logs["fever"]))[0])
    assert _order(without).obr.obr_2.to_er7() == ""  # no order typed: none named


def test_the_pump_is_identified_by_its_ver_reply_in_obx_18(
    alarmed: Path, logs: dict[str, Path]
) -> None:
    review = load_review(alarmed)
    for m in outgoing(review):
        assert _mds(strict(m.er7)) == f"{PUMP}~{STATION}"  # lowest level (the pump) first
    devices = [
        e["resource"] for e in to_fhir(review)["entry"] if e["resource"]["resourceType"] == "Device"
    ]
    pump_ids = [i["value"] for d in devices for i in d["identifier"] if i["system"] == SYS_PUMP]
    assert pump_ids == [PUMP.split("^")[0]]  # the same pump as the FHIR export's, no serial
    no_ver = strict(to_hl7v2_messages(load_review(logs["fever"]))[0])
    assert _mds(no_ver) == STATION


def _volumes(message: Message) -> tuple[str, str]:
    return value(message, "MDC_VOL_FLUID_DELIV_SEGMENT"), value(
        message, "MDC_VOL_FLUID_DELIV_TOTAL"
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_stop_and_complete_carries_the_volume_delivered(
    logs: dict[str, Path], name: str
) -> None:
    """Segment and cumulative volume on each STOP and COMP; the segments add up to the total
    (each rounded down to 0.1 mL, as shown), and the last total is the closing record's volume
    (the engine's own count)."""
    review = load_review(logs[name])
    events = infusion_events(review)
    messages = [strict(m) for m in to_hl7v2_messages(review)]
    ends = [(e, m) for e, m in zip(events, messages, strict=True) if e.event.mdc != (
        "MDC_EVT_PUMP_DELIV_START")]  # fmt: skip
    assert ends
    added = Decimal(0)
    for n, (event, message) in enumerate(ends, start=1):
        segment, total = _volumes(message)
        added += Decimal(segment)
        assert event.segment_ml == Decimal(segment)
        assert Decimal(0) <= Decimal(total) - added < Decimal("0.1") * n
    assert review.volume_ml is not None
    last_total = Decimal(_volumes(ends[-1][1])[1])
    assert last_total == review.volume_ml.quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def test_the_fever_log_volumes_are_rate_times_time(logs: dict[str, Path]) -> None:
    messages = [strict(m) for m in to_hl7v2_messages(load_review(logs["fever"]))]
    # 21 mL/h for 30 min; 42 mL/h for 30 min; 84 mL/h for 10 min, then paused;
    # 42 mL/h from 09:40 to 15:15 (5 h 35 min) to the completion.
    assert [_volumes(messages[i]) for i in (1, 3, 5, 7)] == [
        ("10.5", "10.5"),
        ("21", "31.5"),
        ("14", "45.5"),
        ("234.5", "280"),
    ]


def test_pump_alarms_are_pcd04_report_alerts(alarmed: Path) -> None:
    review = load_review(alarmed)
    sent = outgoing(review)
    alarms = [m for m in sent if m.what.startswith("alarm")]
    assert [m.what for m in alarms] == ["alarm stall start", "alarm stall end"]
    start, end = (strict(m.er7) for m in alarms)
    for message in (start, end):
        assert message.msh.msh_9.to_er7() == "ORU^R40^ORU_R01"
        assert message.msh.msh_21.to_er7() == ACM_PROFILE
        assert _order(message).obr.obr_4.to_er7() == "196616^MDC_EVT_ALARM^MDC"
        assert value(message, "MDC_EVT_ALARM").startswith("196688^MDC_EVT_OCCL^MDC^")
        assert value(message, "MDC_ATTR_ALERT_SOURCE") == "69985^MDC_DEV_PUMP_INFUS_MDS^MDC"
        assert value(message, "MDC_ATTR_ALERT_TYPE") == "ST"
        assert value(message, "MDC_ATTR_ALARM_PRIORITY") == "PN"  # not graded by anyone
    assert (value(start, "MDC_ATTR_EVENT_PHASE"), value(start, "MDC_ATTR_ALARM_STATE")) == (
        "start",
        "active",
    )
    assert (value(end, "MDC_ATTR_EVENT_PHASE"), value(end, "MDC_ATTR_ALARM_STATE")) == (
        "end",
        "inactive",
    )
    # one alert (OBR-29) with two indications (OBR-3)
    assert _order(start).obr.obr_29.to_er7() == _order(end).obr.obr_29.to_er7() != ""
    assert _order(start).obr.obr_3.to_er7() != _order(end).obr.obr_3.to_er7()
    assert len({m.control_id for m in sent}) == len(sent)
    assert sent.index(alarms[0]) == 0  # in time order: the stall came before the infusion
    assert to_hl7v2(review).count("MSH|") == len(sent)


def _raised(review: SessionReview, code: AlarmCode, at_min: int, cleared: bool) -> SessionReview:
    """The review with `code` raised `at_min` minutes in (and cleared a minute later)."""
    template = next(e for e in review.timeline if isinstance(e.event, ev.RateChanged))
    assert template.event is not None
    start = review.rate_segments[0].start + timedelta(minutes=at_min)
    added = []
    for when, event_type in ((start, ev.AlarmRaised), (start + timedelta(minutes=1), None)):
        instant = template.event.at.model_copy(update={"wall_utc": when})
        if event_type is ev.AlarmRaised:
            event: ev.AlarmRaised | ev.AlarmCleared = ev.AlarmRaised(
                at=instant, code=code, text="as the nurse saw it"
            )
        elif cleared:
            event = ev.AlarmCleared(at=instant, code=code)
        else:
            continue
        added.append(entry_with(template, at=when, event=event))
    return dataclasses.replace(
        review, timeline=tuple(sorted([*review.timeline, *added], key=lambda e: e.at))
    )


def test_titrators_alarms_about_the_pump_are_sent_and_its_own_are_not(
    logs: dict[str, Path],
) -> None:
    review = load_review(logs["fever"])
    assert pump_alerts(review) == []
    lost = _raised(review, AlarmCode.PUMP_LINK_LOST, 5, cleared=True)
    alerts = pump_alerts(lost)
    assert [(a.what, a.alert_type) for a in alerts] == [
        ("alarm pump_link_lost start", "ST"),
        ("alarm pump_link_lost end", "ST"),
    ]
    first = strict(next(m for m in outgoing(lost) if m.what.startswith("alarm")).er7)
    assert value(first, "MDC_EVT_ALARM").startswith("196630^MDC_EVT_DISCONN^MDC^")
    mismatch = pump_alerts(_raised(review, AlarmCode.PUMP_RATE_MISMATCH, 5, cleared=False))
    assert [(a.what, a.alert_type) for a in mismatch] == [("alarm pump_rate_mismatch start", "SA")]
    assert "SETTINGS_CHK" in mismatch[0].event
    assert pump_alerts(_raised(review, AlarmCode.AUDIT_FAILING, 5, cleared=True)) == []


def test_a_log_without_a_setup_names_the_session_as_the_patient(logs: dict[str, Path]) -> None:
    review = load_review(logs["stopped"])
    header = dataclasses.replace(review.header, patient_id=None, patient_id_2=None)
    anonymous = dataclasses.replace(review, header=header)
    for er7 in to_hl7v2_messages(anonymous):
        pid = strict(er7).oru_r01_patient_result.oru_r01_patient.pid
        assert pid.to_er7().split("|")[3] == "s-stopped/patient^^^&urn:titrator:session&URI^PI"


def test_the_alarm_rows_keep_their_facets(alarmed: Path) -> None:
    """OBX-4 sub-ids are the TF-2 Table B.8.5-1 facets of an MDS-level alert."""
    message = strict(next(m for m in outgoing(load_review(alarmed)) if "alarm" in m.what).er7)
    assert [(code, sub) for code, sub, _ in obx_rows(message)] == [
        ("MDC_EVT_ALARM", "1.0.0.0.1"),
        ("MDC_ATTR_ALERT_SOURCE", "1.0.0.0.2"),
        ("MDC_ATTR_EVENT_PHASE", "1.0.0.0.3"),
        ("MDC_ATTR_ALARM_STATE", "1.0.0.0.4"),
        ("MDC_ATTR_ALARM_PRIORITY", "1.0.0.0.6"),
        ("MDC_ATTR_ALERT_TYPE", "1.0.0.0.7"),
    ]


REPLIES = st.sampled_from(["00S", "00I", "00P", "00A?S", "00A?T", "00A?R", "00A?E", "00A?O"])


@settings(max_examples=30, deadline=None)
@given(replies=st.lists(REPLIES, min_size=1, max_size=12))
def test_pump_alarms_start_and_end_in_pairs_whatever_the_pump_says(
    alarmed_review: SessionReview, replies: list[str]
) -> None:
    """Over generated reply sequences: an alarm starts when a reply first carries it and ends
    at the first reply that does not; every message validates."""
    review = alarmed_review
    template = next(e for e in review.timeline if e.kind == "pump_wire")
    wire = [
        entry_with(
            template,
            seq=template.seq + i,
            payload={**template.payload, "data_hex": frame_reply(text, safe=True).hex(" ")},
        )
        for i, text in enumerate(replies)
    ]
    others = tuple(e for e in review.timeline if e.kind != "pump_wire")
    changed = dataclasses.replace(review, timeline=(*wire, *others))
    alerts = pump_alerts(changed)
    expected: list[tuple[str, str]] = []
    current = None
    for text in replies:
        letter = text[4:] if "A?" in text else None
        if letter != current:
            if current is not None:
                expected.append((current, "end"))
            if letter is not None:
                expected.append((letter, "start"))
            current = letter
    letters = {"S": "stall", "T": "comms_timeout", "R": "reset", "E": "program_error"}
    letters["O"] = "phase_out_of_range"
    assert [(a.name, a.phase) for a in alerts] == [(letters[x], p) for x, p in expected]
    for start, end in zip(alerts[::2], alerts[1::2], strict=False):
        assert start.number == end.number
    for _, er7 in to_alert_messages(changed):
        strict(er7)
