"""Issue 16 item 2: IHE PCD-10 `ORU^R42` messages from a log, checked with hl7apy's own parser.

Every message is parsed back with hl7apy in STRICT mode as HL7 2.6 (the version PCD requires)
and validated against its message structure; the events and their parameters follow the IPEC
supplement's tables (see `titrator.interop.hl7v2.pcd10`).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.review.entries import entry_with
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS
from titrator.cli.main import main
from titrator.domain import events as ev
from titrator.domain.decisions import AlarmCode
from titrator.interop.hl7v2.outgoing import to_hl7v2
from titrator.interop.hl7v2.pcd10 import (
    PCD10_PROFILE,
    build_message,
    infusion_events,
    to_hl7v2_messages,
)
from titrator.review.model import SessionReview, load_review


def strict(er7: str) -> Message:
    """The message parsed by hl7apy as HL7 2.6, strictly, and validated."""
    message = parse_message(
        er7.strip("\r"), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    )
    assert message.version == "2.6"
    assert message.validate() is True
    return message


def obx_rows(message: Message) -> list[tuple[str, str, str]]:
    """(OBX-3 identifier, OBX-4 sub-id, OBX-5) of every OBX, in order."""
    rows = []
    for segment in message.to_er7().split("\r"):
        fields = segment.split("|")
        if fields[0] == "OBX":
            rows.append((fields[3].split("^")[1], fields[4], fields[5]))
    return rows


def pid(message: Message) -> Message:
    """The PID segment, found through its groups."""
    return message.oru_r01_patient_result.oru_r01_patient.pid


def value(message: Message, mdc: str) -> str:
    """OBX-5 of the OBX whose OBX-3 is `mdc`."""
    found = [v for code, _, v in obx_rows(message) if code == mdc]
    assert len(found) == 1, mdc
    return found[0]


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_every_message_parses_strictly_as_hl7_2_6(logs: dict[str, Path], name: str) -> None:
    review = load_review(logs[name])
    messages = to_hl7v2_messages(review)
    assert len(messages) == len(infusion_events(review)) > 0
    ids = set()
    for er7 in messages:
        message = strict(er7)
        msh = message.msh
        assert msh.msh_9.to_er7() == "ORU^R42^ORU_R01"
        assert msh.msh_11.to_er7() == "P"
        assert msh.msh_12.to_er7() == "2.6"
        assert msh.msh_21.to_er7() == PCD10_PROFILE
        assert (msh.msh_15.to_er7(), msh.msh_16.to_er7()) == ("AL", "NE")
        ids.add(msh.msh_10.to_er7())
        events = [v for code, _, v in obx_rows(message) if code == "MDC_ATTR_EVT_COND"]
        assert len(events) == 1  # "Each PCD-10 message contains a single event" (IPEC X.1.1)
    assert len(ids) == len(messages)


def test_the_fever_log_as_ipec_events(logs: dict[str, Path]) -> None:
    """Start, rate changes as STOP(transitioning)+START, a pause, a resume, the completion."""
    events = infusion_events(load_review(logs["fever"]))
    assert [(e.event.mdc, e.what, str(e.rate_ml_per_h)) for e in events] == [
        ("MDC_EVT_PUMP_DELIV_START", "start", "21.0"),
        ("MDC_EVT_PUMP_DELIV_STOP", "rate change", "21.0"),
        ("MDC_EVT_PUMP_DELIV_START", "rate change", "42.0"),
        ("MDC_EVT_PUMP_DELIV_STOP", "rate change", "42.0"),
        ("MDC_EVT_PUMP_DELIV_START", "rate change", "84.0"),
        ("MDC_EVT_PUMP_DELIV_STOP", "pause", "84.0"),
        ("MDC_EVT_PUMP_DELIV_START", "resume", "42.0"),
        ("MDC_EVT_PUMP_DELIV_COMP", "complete", "42.0"),
    ]
    assert [e.delivery_status for e in events[1:3]] == ["transitioning", "delivering"]
    assert events[5].not_delivering_reason == "pump-stopped-by-clinician"
    assert events[5].flow_ml_per_h == 0
    assert str(events[-1].total_ml) == "280.0"


def test_message_content_names_patient_device_and_parameters(logs: dict[str, Path]) -> None:
    review = load_review(logs["fever"])
    messages = [strict(m) for m in to_hl7v2_messages(review)]
    start, pause, complete = messages[0], messages[5], messages[-1]
    assert pid(start).to_er7().split("|")[3] == "MRN-0001^^^^PI~1970-01-01^^^^PI"
    assert pid(start).pid_5.to_er7() == "^^^^^^U"  # no name known: type U, nothing else
    assert value(start, "MDC_ATTR_EVT_COND") == "197288^MDC_EVT_PUMP_DELIV_START^MDC"
    assert value(start, "MDC_PUMP_INFUSING_STATUS") == "^pump-status-infusing"
    assert value(start, "MDC_FLOW_FLUID_PUMP") == "21"
    assert value(start, "MDC_DEV_PUMP_CURRENT_DELIVERY_STATUS") == (
        "^pump-delivery-status-delivering"
    )
    mds = next(s for s in start.to_er7().split("\r") if "MDC_DEV_PUMP_INFUS_MDS" in s)
    assert mds.split("|")[18] == "bay-3^titrator^urn:titrator:station^URI"  # OBX-18
    assert value(pause, "MDC_DEV_PUMP_NOT_DELIVERING_REASON") == "^pump-stopped-by-clinician"
    assert value(pause, "MDC_FLOW_FLUID_PUMP_CURRENT") == "0"
    assert value(pause, "MDC_PUMP_INFUSING_STATUS") == "^pump-status-not-infusing"
    assert value(complete, "MDC_ATTR_EVT_COND") == "0^MDC_EVT_PUMP_DELIV_COMP^MDC"
    assert value(complete, "MDC_VOL_FLUID_DELIV_TOTAL") == "280"
    assert start.msh.msh_7.to_er7() == "20260105080000+0000"


def test_a_training_log_is_sent_with_processing_id_t(tmp_path: Path) -> None:
    review = load_review(build_log(tmp_path, LogSpec(session_id="s-t", training=True)))
    messages = [strict(m) for m in to_hl7v2_messages(review)]
    assert len(messages) == 10
    assert {m.msh.msh_11.to_er7() for m in messages} == {"T"}


def test_the_same_log_exports_the_same_messages(logs: dict[str, Path]) -> None:
    first = to_hl7v2(load_review(logs["stopped"]))
    assert first == to_hl7v2(load_review(logs["stopped"]))
    lines = first.split("\r\n")
    assert lines[-1] == ""
    assert all("\r" not in line and "\n" not in line for line in lines)
    assert sum(line.startswith("MSH|") for line in lines) == 4


def _with_alarm(review: SessionReview, code: AlarmCode, before_stop: timedelta) -> SessionReview:
    """The review with an alarm raised just before its last rate change (a stop)."""
    stop = review.rate_segments[-1]
    template = next(e for e in review.timeline if isinstance(e.event, ev.RateChanged))
    assert template.event is not None
    at = template.event.at.model_copy(update={"wall_utc": stop.start - before_stop})
    alarm = entry_with(
        template,
        at=stop.start - before_stop,
        event=ev.AlarmRaised(at=at, code=code, text="pump not answering"),
    )
    timeline = sorted([*review.timeline, alarm], key=lambda e: e.at)
    return dataclasses.replace(review, timeline=tuple(timeline))


def test_a_stop_during_a_pump_alarm_is_infusion_stopped_due_to_alarm(
    logs: dict[str, Path],
) -> None:
    review = load_review(logs["stopped"])
    assert infusion_events(review)[-1].not_delivering_reason == "pump-stopped-by-clinician"
    alarmed = _with_alarm(review, AlarmCode.PUMP_LINK_LOST, timedelta(minutes=1))
    last = infusion_events(alarmed)[-1]
    assert (last.event.mdc, last.not_delivering_reason) == (
        "MDC_EVT_PUMP_DELIV_STOP",
        "pump-stopped-alarming",
    )
    audit = _with_alarm(review, AlarmCode.AUDIT_FAILING, timedelta(minutes=1))
    assert infusion_events(audit)[-1].not_delivering_reason == "pump-stopped-by-clinician"


@settings(max_examples=60, deadline=None)
@given(name=st.text(alphabet=st.sampled_from("ab|^~&\\ é®\t"), min_size=1, max_size=24))
def test_delimiters_in_text_never_break_a_message(logs: dict[str, Path], name: str) -> None:
    """Whatever a product name holds, the message parses strictly with the same OBX layout."""
    review = load_review(logs["stopped"])
    header = dataclasses.replace(review.header, product_name=name)
    changed = dataclasses.replace(review, header=header, station_id=name)
    item = infusion_events(changed)[0]
    message = strict(build_message(changed, item, 1).to_er7())
    plain = strict(build_message(review, item, 1).to_er7())
    assert [(c, s) for c, s, _ in obx_rows(message)] == [(c, s) for c, s, _ in obx_rows(plain)]
    mds = next(seg for seg in message.to_er7().split("\r") if "MDC_DEV_PUMP_INFUS_MDS" in seg)
    assert len(mds.split("|")[18].split("^")) == 4  # OBX-18: station^titrator^urn^URI


def test_titrator_export_writes_the_messages(
    logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fever.hl7"
    code = main(["export", str(logs["fever"]), "--format", "hl7v2", "--out", str(out)])
    assert code == 0
    assert "hl7v2 export" in capsys.readouterr().err
    text = out.read_bytes().decode("utf-8")  # CR LF kept as written
    assert out.stat().st_mode & 0o777 == 0o600
    blocks = ["MSH|" + block for block in text.split("\r\nMSH|")[1:]]
    blocks.insert(0, text.split("\r\nMSH|")[0])
    parsed = [strict(block.replace("\r\n", "\r")) for block in blocks]
    assert len(parsed) == 8
    assert parsed[0].to_er7() + "\r" == to_hl7v2_messages(load_review(logs["fever"]))[0]
