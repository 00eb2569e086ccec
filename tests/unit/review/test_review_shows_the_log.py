"""Issue 12 item 6: the review shows what the log holds: every override choice in the HTML, one
rounding for every volume, given + remaining = planned, wire hex only when asked, a summary
that fits 80 columns."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import paths as support_paths
from tests.unit.review.logbuild import LogSpec, build_log
from titrator.domain.units import volume_split
from titrator.interop.fhir.export import to_fhir_json
from titrator.review.export_csv import to_csv
from titrator.review.export_html import to_html
from titrator.review.fmt import given_remaining, ml
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import load_all, summarise, summary_table
from titrator.review.timeline import summarise_raw
from titrator.review.ui.session_screen import facts_text

CORPUS = support_paths.DATA / "audit"
LONG_VOLUME = re.compile(r"\d\.\d{2,} ?mL(?![/\w])")
"""A volume shown with more than one decimal (never: volumes are rounded to 0.1 mL)."""

EARLY_STOP = "\n".join(
    [
        '{"t_min": -10, "vitals": {"temp_c": 36.8, "hr_bpm": 76, "sbp_mmhg": 122, '
        '"dbp_mmhg": 78, "rr_bpm": 16, "spo2_pct": 98}}',
        '{"t_min": -10, "symptoms": []}',
        '{"t_min": 0, "decision": "accept"}',
        '{"t_min": 15, "vitals": {"temp_c": 36.9, "hr_bpm": 78, "sbp_mmhg": 120, '
        '"dbp_mmhg": 76, "rr_bpm": 16, "spo2_pct": 98}}',
        '{"t_min": 30, "vitals": {"temp_c": 36.9, "hr_bpm": 80, "sbp_mmhg": 121, '
        '"dbp_mmhg": 77, "rr_bpm": 16, "spo2_pct": 98}}',
        '{"t_min": 30, "decision": "accept"}',
        '{"t_min": 41.3, "stop": "patient request"}',
        '{"t_min": 41.3, "decision": "accept"}',
        '{"t_min": 42, "vitals": {"temp_c": 36.9, "hr_bpm": 80, "sbp_mmhg": 121, '
        '"dbp_mmhg": 77, "rr_bpm": 16, "spo2_pct": 98}}',
        '{"t_min": 72, "vitals": {"temp_c": 36.9, "hr_bpm": 78, "sbp_mmhg": 120, '
        '"dbp_mmhg": 77, "rr_bpm": 16, "spo2_pct": 98}}',
        '{"t_min": 72, "decision": "accept"}',
        "",
    ]
)
"""Stopped at 41.3 min: 10.5 mL at 21 mL/h, then 11.3 min at 42 mL/h (7.91 mL: 18.41 mL)."""


@pytest.fixture(scope="module")
def early_stop(tmp_path_factory: pytest.TempPathFactory) -> SessionReview:
    folder = tmp_path_factory.mktemp("early")
    return load_review(build_log(folder, LogSpec(session_id="s-early", script=EARLY_STOP)))


def _override_choices(review: SessionReview) -> list[str]:
    """The CSV's override choices (`nurse_decided` rows with outcome `override`): their notes."""
    rows = csv.DictReader(io.StringIO(to_csv(review), newline=""))
    return [r["note"] for r in rows if r["kind"] == "nurse_decided" and r["outcome"] == "override"]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.jsonl")), ids=lambda p: p.stem)
def test_every_override_choice_in_the_csv_is_in_the_html(path: Path) -> None:
    review = load_review(path)
    section = to_html(review).split("<h2>Overrides</h2>")[1].split("<h2>")[0]
    for note in _override_choices(review):
        assert note in section
    if _override_choices(review):
        assert "None recorded" not in section


def test_a_refused_override_is_shown_as_refused() -> None:
    review = load_review(CORPUS / "anaphylaxis.jsonl")
    (refused,) = review.refused_overrides
    assert (refused.reason, refused.note) == ("prescriber_order", "wants to retry")
    assert "cannot be overridden" in refused.refusal
    section = to_html(review).split("<h2>Overrides</h2>")[1].split("<h2>")[0]
    assert "REFUSED: this cannot be overridden" in section
    assert review.overrides == ()  # nothing was overridden


def test_a_recorded_override_is_still_shown_as_recorded(tmp_path: Path) -> None:
    review = load_review(build_log(tmp_path, LogSpec(session_id="s-ov", script="override")))
    section = to_html(review).split("<h2>Overrides</h2>")[1].split("<h2>")[0]
    assert "increase declined" in section
    assert "recorded" in section
    assert review.refused_overrides == ()


def test_one_rounding_for_every_volume() -> None:
    assert ml(Decimal("18.93880333333333333333333333")) == "18.9 mL"
    assert ml(Decimal("280.00")) == "280 mL"
    assert ml(None) == "—"


def test_no_view_shows_a_volume_at_full_precision(early_stop: SessionReview) -> None:
    assert early_stop.volume_ml is not None
    assert len(str(early_stop.volume_ml).split(".")[1]) > 1  # the log holds more digits
    for text in (
        to_html(early_stop),
        to_fhir_json(early_stop),
        facts_text(early_stop),
        *(e.summary for e in early_stop.timeline),
    ):
        assert not LONG_VOLUME.search(text), LONG_VOLUME.search(text)
    fhir = json.loads(to_fhir_json(early_stop))
    parent = fhir["entry"][2]["resource"]
    assert parent["dosage"]["text"] == f"volume given {ml(early_stop.volume_ml)}"
    assert Decimal(str(parent["dosage"]["dose"]["value"])) == Decimal(ml(early_stop.volume_ml)[:-3])


@pytest.mark.parametrize(
    ("given", "planned", "shown"),
    [
        ("18.93880333333333333333333333", "280.0", ("18.9 mL", "280 mL", "261.1 mL")),
        ("0", "280", ("0 mL", "280 mL", "280 mL")),
        ("279.99", "280", ("279.9 mL", "280 mL", "0.1 mL")),
        ("281", "280", ("281 mL", "280 mL", "0 mL")),
        ("10.55", "140.25", ("10.5 mL", "140.2 mL", "129.7 mL")),
    ],
)
def test_given_and_remaining_add_up_to_the_planned_volume_as_shown(
    given: str, planned: str, shown: tuple[str, str, str]
) -> None:
    split = volume_split(Decimal(given), Decimal(planned))
    assert split == shown
    g, p, r = (Decimal(s.removesuffix(" mL")) for s in split)
    assert g + r == p or (g > p and r == 0)


def test_the_review_shows_given_and_remaining(early_stop: SessionReview) -> None:
    assert early_stop.volume_ml is not None
    given, planned, remaining = volume_split(early_stop.volume_ml, Decimal(280))
    expected = f"{given} of {planned}, {remaining} remaining"
    assert given_remaining(early_stop.volume_ml, early_stop.header.total_volume_ml) == expected
    assert expected in facts_text(early_stop)
    assert expected in to_html(early_stop)


WIRE: dict[str, object] = {
    "direction": "TX",
    "data_hex": "02 52 41 54 20 32 31 20 4d 48 0d 03",
    "monotonic_ms": 12500,
    "requester": "engine",
    "reason": "step 1",
    "command": "RAT 21 MH",
    "note": "",
}


def test_the_timeline_hides_wire_hex_unless_asked() -> None:
    line = summarise_raw("pump_wire", WIRE)
    assert str(WIRE["data_hex"]) not in line
    assert line == "pump wire TX (RAT 21 MH): 12 bytes"
    asked = summarise_raw("pump_wire", WIRE, wire_hex=True)
    assert asked.endswith(f"[hex {WIRE['data_hex']}]")


def test_the_summary_table_fits_80_columns(tmp_path: Path) -> None:
    for name in ("completed", "fever", "override"):
        build_log(tmp_path, LogSpec(session_id=f"s-{name}", script=name))
    build_log(
        tmp_path,
        LogSpec(session_id="s-unf", script="completed", until_min=60),
    )
    reviews, problems = load_all(sorted(tmp_path.glob("*.jsonl")))
    text = summary_table(summarise(reviews, problems))
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    width = len(lines[1].split("  ")[0])  # the first column's dashes
    first_column = " ".join(line[:width].strip() for line in lines[2 : lines.index("")])
    assert "Privigen — Primary humoral immunodeficiency (PI)" in first_column  # wrapped, not cut
    assert "2 h 7 min (n=2)" in text
