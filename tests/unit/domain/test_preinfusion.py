"""Pre-infusion documentation (issue 14 item 7): premedication timing, IgA refusal, lot expiry,
GS1 scans read by biip, the GTIN check, and the engine's `preinfusion_recorded` input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.clinical import POLICY
from tests.support.plans import at, make_plan
from tests.unit.domain.test_setup import GOOD, SITE
from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import Instant
from titrator.domain.events import PreInfusionRecorded, event_json, parse_event
from titrator.domain.library import Gtins, Product
from titrator.domain.lot_scan import (
    GS,
    GtinCheck,
    LotScanError,
    expiry_problem,
    gtin_check,
    looks_like_gs1,
    parse_lot_scan,
)
from titrator.domain.preinfusion import (
    PREMED_MAX_BEFORE_MIN,
    PREMED_MIN_BEFORE_MIN,
    IgaStatus,
    PreInfusion,
    PreInfusionInvalid,
    iga_refusal,
    premed_notice,
    validate_preinfusion,
)
from titrator.domain.session.engine import InfusionSession
from titrator.domain.setup import validate_setup
from titrator.files.library import load_library

PRODUCTS = load_library().products
TODAY = date(2026, 11, 20)
NOW = Instant(wall_utc=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), mono_ms=1_000_000)
GOOD_DOC = {"lot_expiry": "2027-05-31", "iga_status": "normal"}

# Real scans as a keyboard-wedge scanner types them (GS = chr(29)): a medicine pack's GS1
# DataMatrix with (01)(17)(10) and a serial (21) after the GS, its GS1-128 twin, and GS1's own
# example GTIN in the printed "(01)..." form.
DATAMATRIX = f"]d201034531200000111719112510ABCD1234{GS}2110EW354EWER"
GS1_128 = f"]C101034531200000111719112510ABCD1234{GS}2110EW354EWER"
PRINTED = "(01)09501101530003(17)280531(10)AB-123"
# Real GTINs (titrator.domain.gtin): Privigen 50 mL (NDC 44206-436-05) at the unit of sale, and
# a case (indicator 5) of Octagam 10% (NDC 0069-6002-01), in the printed form.
PRIVIGEN_GTIN = "00344206436059"
PRIVIGEN_PRINTED = f"(01){PRIVIGEN_GTIN}(17)280531(10)AB-123"
OCTAGAM_PRINTED = "(01)50300696002018(17)280531(10)AB-123"


def document(product_id: str = "privigen", **changes: str) -> PreInfusion:
    return validate_preinfusion(
        {**GOOD_DOC, **changes},
        product=PRODUCTS[product_id],
        lot="P100234",
        scan=None,
        today=TODAY,
        now=NOW,
        local=UTC,
    )


def scanned(product_id: str, scan: str, expiry: str = "2028-05-31") -> PreInfusion:
    """The documentation of a scanned lot AB-123, checked against the whole library."""
    return validate_preinfusion(
        {**GOOD_DOC, "lot_expiry": expiry},
        product=PRODUCTS[product_id],
        lot="AB-123",
        scan=parse_lot_scan(scan),
        today=TODAY,
        now=NOW,
        local=UTC,
        others=PRODUCTS.values(),
    )


def problems_of(product_id: str = "privigen", **changes: str) -> dict[str, str]:
    with pytest.raises(PreInfusionInvalid) as caught:
        document(product_id, **changes)
    return {p.field: p.reason for p in caught.value.problems}


# -- GS1 scans --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [DATAMATRIX, GS1_128])
def test_a_datamatrix_or_gs1_128_scan_gives_gtin_lot_and_expiry(text: str) -> None:
    scan = parse_lot_scan(text)
    assert (scan.gtin, scan.lot, scan.expiry) == ("03453120000011", "ABCD1234", date(2019, 11, 25))
    assert scan.raw == text


def test_the_printed_form_and_an_expiry_day_00_read_as_the_month_end() -> None:
    scan = parse_lot_scan(PRINTED)
    assert (scan.gtin, scan.lot, scan.expiry) == ("09501101530003", "AB-123", date(2028, 5, 31))
    end_of_month = parse_lot_scan("]d2010950110153000317280200" + "10LOT7")
    assert end_of_month.expiry == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"01034009340123081723063110ABC123{GS}2112345", "date/time from '230631'"),
        ("]d201095011015300031728053121SERIAL", "no lot number (10)"),
        ("]d210LOT1", "no GTIN (01)"),
        ("]d2garbage", "not a readable GS1 barcode"),
        ("]d201095011015300041728053110LOT1", "Invalid GTIN check digit"),
    ],
)
def test_an_unusable_scan_says_why(text: str, why: str) -> None:
    with pytest.raises(LotScanError) as caught:
        parse_lot_scan(text)
    assert why in caught.value.reason


@pytest.mark.parametrize("lot", ["P100234", "DEMO-LOT-1", "A12/34", "0123"])
def test_a_typed_lot_number_is_not_taken_for_a_scan(lot: str) -> None:
    assert not looks_like_gs1(lot)


def _gtin(body: str) -> str:
    digits = [int(c) for c in body]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return body + str((10 - total % 10) % 10)


LOT_CHARS = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-")


@given(
    body=st.text("0123456789", min_size=13, max_size=13),
    expiry=st.dates(date(2000, 1, 1), date(2049, 12, 31)),
    lot=st.text(LOT_CHARS, min_size=1, max_size=20),
    serial=st.text(LOT_CHARS, min_size=1, max_size=20),
    prefix=st.sampled_from(["]d2", "]C1", ""]),
)
def test_any_well_formed_scan_reads_back_what_was_encoded(
    body: str, expiry: date, lot: str, serial: str, prefix: str
) -> None:
    gtin = _gtin(body)
    text = f"{prefix}01{gtin}17{expiry:%y%m%d}10{lot}{GS}21{serial}"
    assert looks_like_gs1(text)
    scan = parse_lot_scan(text)
    assert (scan.gtin, scan.lot, scan.expiry) == (gtin, lot, expiry)


# -- the GTIN check ---------------------------------------------------------------------------


def with_gtins(product: Product, *values: str) -> Product:
    gtins = Gtins(values=values, url="https://example.invalid/label", text="test packs")
    return product.model_copy(update={"gtins": gtins})


def test_a_gtin_not_the_products_is_refused_and_its_own_is_matched() -> None:
    product = with_gtins(PRODUCTS["gamunex-c"], "09501101530003")  # no NDCs on file
    assert gtin_check(product, "09501101530003") is GtinCheck.MATCHED
    with pytest.raises(LotScanError, match=r"GTIN 03453120000011 is not Gamunex-C's"):
        gtin_check(product, "03453120000011")


def test_a_products_real_gtin_is_matched_and_the_wrong_products_refused() -> None:
    record = scanned("privigen", PRIVIGEN_PRINTED)
    assert record.gtin_check is GtinCheck.MATCHED
    assert not any("GTIN" in notice for notice in record.notices)
    with pytest.raises(LotScanError, match=r"is Octagam 10%'s \(NDC 0069-6002-01\), not Privigen"):
        gtin_check(PRODUCTS["privigen"], "50300696002018", PRODUCTS.values())


def test_without_gtins_on_file_the_scan_cannot_be_checked_and_says_so() -> None:
    assert all(p.gtins is None for p in PRODUCTS.values())  # none can be cited yet
    assert PRODUCTS["gamunex-c"].codes is None  # nor its NDCs
    assert gtin_check(PRODUCTS["gamunex-c"], "03453120000011") is GtinCheck.NOT_ON_FILE
    record = scanned("gamunex-c", PRINTED)
    assert record.gtin_check is GtinCheck.NOT_ON_FILE
    assert any("GTIN cannot be checked" in notice for notice in record.notices)


def test_a_wrong_gtin_refuses_the_documentation() -> None:
    with pytest.raises(PreInfusionInvalid) as caught:
        scanned("privigen", OCTAGAM_PRINTED)
    reason = "GTIN 50300696002018 is Octagam 10%'s (NDC 0069-6002-01), not Privigen's"
    reason += ": wrong product"
    assert [(p.field, p.reason) for p in caught.value.problems] == [("lot", reason)]


# -- the lot's expiry -------------------------------------------------------------------------


@given(days=st.integers(-3000, 3000))
def test_a_lot_is_refused_exactly_when_its_expiry_is_before_the_session_date(days: int) -> None:
    expiry = TODAY + timedelta(days=days)
    assert (expiry_problem(expiry, TODAY) is not None) == (days < 0)
    if days < 0:
        assert "expired on" in problems_of(lot_expiry=expiry.isoformat())["lot_expiry"]
    else:
        assert document(lot_expiry=expiry.isoformat()).lot_expiry == expiry


def test_a_typed_expiry_must_match_the_scanned_one() -> None:
    with pytest.raises(PreInfusionInvalid, match="differs from the scanned expiry 2028-05-31"):
        scanned("privigen", PRIVIGEN_PRINTED, "2028-06-30")


# -- IgA ----------------------------------------------------------------------------------------


@given(
    product_id=st.sampled_from(sorted(PRODUCTS)),
    status=st.sampled_from(list(IgaStatus)),
    history=st.sampled_from([True, False, None]),
)
def test_only_anti_iga_with_hypersensitivity_refuses_and_only_a_cited_contraindication(
    product_id: str, status: IgaStatus, history: bool | None
) -> None:
    product = PRODUCTS[product_id]
    refused = iga_refusal(product, status, history) is not None
    expected = status is IgaStatus.ANTI_IGA and bool(history)
    assert refused == (expected and product.iga_contraindication is not None)


def test_the_refusal_quotes_the_label_and_an_uncited_label_is_a_notice() -> None:
    refused = problems_of("gamunex-c", iga_status="anti_iga", hypersensitivity="yes")
    assert "Gamunex-C is contraindicated" in refused["iga_status"]
    assert "antibodies against IgA" in refused["iga_status"]
    record = document("octagam-5", iga_status="anti_iga", hypersensitivity="yes")
    assert any("contraindication is not on file" in notice for notice in record.notices)
    assert "hypersensitivity" in problems_of("octagam-5", iga_status="anti_iga")


def test_shipped_contraindications_cite_a_url() -> None:
    cited = {pid for pid, p in PRODUCTS.items() if p.iga_contraindication is not None}
    # Cited from each label (or a copy of it) that could be read; the others say "not on file".
    assert cited == {
        "asceniv",
        "bivigam",
        "gammagard-liquid",
        "gammaplex-5",
        "gamunex-c",
        "octagam-10",
        "panzyga",
        "privigen",
        "qivigy",
    }
    for product_id in cited:
        contraindication = PRODUCTS[product_id].iga_contraindication
        assert contraindication is not None
        assert contraindication.url.startswith(("https://", "http://"))
        assert "antibodies" in contraindication.text
        assert "IgA" in contraindication.text
        assert "hypersensitivity" in contraindication.text


# -- premedication ------------------------------------------------------------------------------


@given(minutes=st.integers(0, 24 * 60))
def test_a_premedication_notice_exactly_outside_30_to_90_minutes(minutes: int) -> None:
    notice = premed_notice("paracetamol", minutes)
    assert (notice is not None) == (
        minutes < PREMED_MIN_BEFORE_MIN or minutes > PREMED_MAX_BEFORE_MIN
    )


@given(minutes=st.integers(0, 11 * 60))
def test_the_time_typed_is_counted_back_from_now(minutes: int) -> None:
    given_at = NOW.wall_utc - timedelta(minutes=minutes)
    row = {
        "premed1_drug": "paracetamol",
        "premed1_dose": "1000",
        "premed1_unit": "mg",
        "premed1_route": "PO",
        "premed1_time": f"{given_at:%H:%M}",
    }
    record = document(**row)
    (premed,) = record.premedications
    assert premed.minutes_before == minutes
    timing = [n for n in record.notices if "paracetamol" in n]
    assert bool(timing) == (minutes < 30 or minutes > 90)


def test_a_started_premedication_row_must_be_complete_and_typed_well() -> None:
    problems = problems_of(premed2_drug="cetirizine", premed2_dose="ten", premed2_time="25:00")
    assert set(problems) == {"premed2_dose", "premed2_unit", "premed2_route", "premed2_time"}
    assert problems["premed2_time"] == "use HH:MM (24-hour clock)"
    later = problems_of(
        premed1_drug="x",
        premed1_dose="1",
        premed1_unit="mg",
        premed1_route="IV",
        premed1_time="09:30",
    )
    assert later == {"premed1_time": "is later than now"}


def test_pre_hydration_volume_and_route() -> None:
    record = document(hydration_ml="500", hydration_route="IV")
    assert record.prehydration is not None
    assert str(record.prehydration.volume_ml) == "500"
    assert set(problems_of(hydration_ml="0", hydration_route="")) == {
        "hydration_ml",
        "hydration_route",
    }


def test_nothing_required_but_the_expiry_and_the_iga_status() -> None:
    assert set(problems_of(lot_expiry="", iga_status="")) == {"lot_expiry", "iga_status"}
    assert document().premedications == ()
    assert document().prehydration is None


# -- the engine ---------------------------------------------------------------------------------


def opened_session(lot: str = "P100234") -> tuple[InfusionSession, Any]:
    plan = make_plan()
    setup = validate_setup({**GOOD, "lot": lot}, (), PRODUCTS, TODAY, SITE)
    session = InfusionSession(plan, POLICY, "test-session")
    session.open(at(-30), setup=setup)
    return session, plan


def record_for(plan_product: str, **changes: Any) -> PreInfusion:
    base = document("privigen").model_copy(update={"product_id": plan_product})
    return base.model_copy(update=changes)


def test_the_engine_takes_the_documentation_once_before_the_checklist() -> None:
    session, plan = opened_session()
    event = PreInfusionRecorded(at=at(-29), record=record_for(plan.product_id))
    decision = session.handle(event)
    assert decision.refusal is None
    assert parse_event(event_json(event)) == event
    again = session.handle(PreInfusionRecorded(at=at(-28), record=event.record))
    assert again.refusal is not None
    assert "taken once" in again.refusal
    session.answer_checklist(all_confirmed(), at(-27))


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"lot_expiry": date(2026, 11, 19)}, "expired on 2026-11-19"),
        ({"lot": "OTHER"}, "the session's lot is 'P100234'"),
        ({"product_id": "bivigam"}, "but the plan is for"),
        (
            {
                "iga_status": IgaStatus.ANTI_IGA,
                "hypersensitivity_history": True,
                "iga_contraindication": "contraindicated",
            },
            "contraindicates",
        ),
    ],
)
def test_the_engine_refuses_a_record_that_breaks_a_rule(changes: dict[str, Any], why: str) -> None:
    session, plan = opened_session()
    record = record_for(plan.product_id, **changes)
    decision = session.handle(PreInfusionRecorded(at=at(-29), record=record))
    assert decision.refusal is not None
    assert why in decision.refusal
    refused = decision.events[-1]
    assert refused.kind == "input_refused"
    assert getattr(refused, "hard_limit", False)


def test_the_review_timeline_reads_the_record_in_words() -> None:
    from titrator.review.timeline import category, summarise_event

    record = validate_preinfusion(
        {
            **GOOD_DOC,
            "lot_expiry": "2028-05-31",
            "premed1_drug": "cetirizine",
            "premed1_dose": "10",
            "premed1_unit": "mg",
            "premed1_route": "PO",
            "premed1_time": "08:45",
            "hydration_ml": "500",
            "hydration_route": "IV",
        },
        product=PRODUCTS["privigen"],
        lot="AB-123",
        scan=parse_lot_scan(PRIVIGEN_PRINTED),
        today=TODAY,
        now=NOW,
        local=UTC,
    )
    text = summarise_event(PreInfusionRecorded(at=NOW, record=record))
    assert text.startswith("pre-infusion: lot AB-123 expires 2028-05-31, scanned GTIN")
    assert f"scanned GTIN {PRIVIGEN_GTIN} (matched)" in text
    assert "IgA normal; premedication: cetirizine 10 mg PO 15 min before" in text
    assert "pre-hydration 500 mL IV" in text
    assert "NOTICE: cetirizine was given 15 min ago" in text
    assert category("preinfusion_recorded").value == "session"
