"""GTINs from NDCs (issue 14 item 7): a US drug's GTIN-14 embeds its NDC, so a product whose file
cites its NDCs has GTINs, and a carton of another product is refused by its GTIN."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from biip.checksums import gs1_standard_check_digit
from biip.gtin import Gtin, GtinFormat
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.clock import Instant
from titrator.domain.gtin import gtin_from_ndc, gtins_from_ndcs, ndc_digits, ndc_in_gtin
from titrator.domain.library import Gtins, Product
from titrator.domain.lot_scan import (
    GtinCheck,
    LotScanError,
    gtin_check,
    gtin_check_text,
    parse_lot_scan,
)
from titrator.domain.preinfusion import PreInfusionInvalid, validate_preinfusion
from titrator.files.library import load_library

PRODUCTS = load_library().products
WITH_NDCS = sorted(pid for pid, p in PRODUCTS.items() if p.codes is not None)
WITHOUT_NDCS = sorted(pid for pid, p in PRODUCTS.items() if p.codes is None)

PRIVIGEN_5G = "00344206436059"
"""Privigen 50 mL (NDC 44206-436-05) at the unit of sale: 0, 03, 4420643605, check digit 9."""
OCTAGAM_10_CASE = "50300696002018"
"""Octagam 10% (NDC 0069-6002-01) at the case level (indicator 5)."""
GS1_EXAMPLE = "09501101530003"
"""GS1's own example GTIN (prefix 950, GS1 Global Office): no US NDC in it."""
FRENCH_MEDICINE = "03453120000011"
"""A GS1 France medicine pack's GTIN (prefix 345): after the indicator, 34, not 03."""
VARIABLE_MEASURE = f"9034420643605{gs1_standard_check_digit('9034420643605')}"
"""Indicator 9 (a variable-measure item, never a drug package) before 03 and Privigen's NDC."""


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


# An NDC in each of its three printed configurations (4-4-2, 5-3-2, 5-4-1).
NDCS = st.one_of(
    st.builds("{}-{}-{}".format, digits(4), digits(4), digits(2)),
    st.builds("{}-{}-{}".format, digits(5), digits(3), digits(2)),
    st.builds("{}-{}-{}".format, digits(5), digits(4), digits(1)),
)


@given(ndc=NDCS, indicator=st.integers(0, 8))
def test_every_derived_gtin_parses_with_biip_and_round_trips_to_its_ndc(
    ndc: str, indicator: int
) -> None:
    gtin = gtin_from_ndc(ndc, indicator)
    parsed = Gtin.parse(gtin)  # biip checks the check digit
    assert len(gtin) == 14
    assert parsed.as_gtin_14() == gtin
    assert parsed.prefix is not None
    assert parsed.prefix.usage == "GS1 US"
    if indicator == 0:  # the unit of sale: a UPC-A GTIN-12, "3" + NDC + check digit
        assert parsed.format is GtinFormat.GTIN_12
        assert parsed.as_gtin_12() == f"3{ndc_digits(ndc)}{gtin[-1]}"
    else:
        assert parsed.packaging_level == indicator
    assert ndc_in_gtin(gtin) == ndc.replace("-", "")


@given(ndcs=st.lists(NDCS, min_size=1, max_size=12))
def test_the_gtins_of_ndcs_are_their_units_of_sale_in_order(ndcs: list[str]) -> None:
    gtins = gtins_from_ndcs(ndcs)
    assert gtins == tuple(dict.fromkeys(gtin_from_ndc(ndc, 0) for ndc in ndcs))
    assert all(g.startswith("003") for g in gtins)


def test_real_products_gtins() -> None:
    assert gtin_from_ndc("44206-436-05") == PRIVIGEN_5G
    assert gtin_from_ndc("0069-6002-01", 5) == OCTAGAM_10_CASE
    assert ndc_in_gtin(OCTAGAM_10_CASE) == "0069600201"


@pytest.mark.parametrize("gtin", [GS1_EXAMPLE, FRENCH_MEDICINE, VARIABLE_MEASURE])
def test_a_gtin_without_03_after_indicator_0_to_8_holds_no_ndc(gtin: str) -> None:
    assert ndc_in_gtin(gtin) is None


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda: gtin_from_ndc("44206-436-5"), "not a 10-digit NDC"),
        (lambda: gtin_from_ndc("44206-436-05", 9), "packaging indicator must be 0 to 8"),
        (lambda: ndc_in_gtin("00344206436050"), "Invalid GTIN check digit"),
    ],
)
def test_bad_input_says_why(call: Callable[[], object], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        call()


# -- the check against the chosen product ------------------------------------------------------


@given(data=st.data(), indicator=st.integers(0, 8))
def test_every_gtin_of_a_products_ndcs_is_matched_at_any_packaging_level(
    data: st.DataObject, indicator: int
) -> None:
    product = PRODUCTS[data.draw(st.sampled_from(WITH_NDCS))]
    assert product.codes is not None
    ndc = data.draw(st.sampled_from(product.codes.ndc))
    gtin = gtin_from_ndc(ndc, indicator)
    assert gtin_check(product, gtin, PRODUCTS.values()) is GtinCheck.MATCHED
    assert gtin_check(product, gtin) is GtinCheck.MATCHED


@given(data=st.data(), indicator=st.integers(0, 8))
def test_a_gtin_of_another_products_ndc_is_refused_naming_both(
    data: st.DataObject, indicator: int
) -> None:
    owner = PRODUCTS[data.draw(st.sampled_from(WITH_NDCS))]
    chosen = PRODUCTS[data.draw(st.sampled_from(sorted(set(PRODUCTS) - {owner.id})))]
    assert owner.codes is not None
    ndc = data.draw(st.sampled_from(owner.codes.ndc))
    gtin = gtin_from_ndc(ndc, indicator)
    with pytest.raises(LotScanError) as caught:
        gtin_check(chosen, gtin, PRODUCTS.values())
    reason = caught.value.reason
    assert (
        reason == f"GTIN {gtin} is {owner.name}'s (NDC {ndc}), not {chosen.name}'s: wrong product"
    )
    assert "\n" not in reason


def test_the_wrong_products_real_gtin_is_refused() -> None:
    with pytest.raises(LotScanError, match=r"is Octagam 10%'s \(NDC 0069-6002-01\), not Privigen"):
        gtin_check(PRODUCTS["privigen"], OCTAGAM_10_CASE, PRODUCTS.values())
    # Without the library to name it, the NDC is still not Privigen's: refused all the same.
    with pytest.raises(LotScanError, match="holds NDC 0069600201, not one of Privigen's NDCs"):
        gtin_check(PRODUCTS["privigen"], OCTAGAM_10_CASE)


def test_an_ndc_on_nobodys_file_is_refused_only_where_the_product_cites_its_ndcs() -> None:
    unknown = gtin_from_ndc("12345-678-90")
    with pytest.raises(LotScanError, match="wrong product or a pack not on file"):
        gtin_check(PRODUCTS["privigen"], unknown, PRODUCTS.values())
    for product_id in WITHOUT_NDCS:
        assert gtin_check(PRODUCTS[product_id], unknown, PRODUCTS.values()) is (
            GtinCheck.NOT_ON_FILE
        )


@pytest.mark.parametrize("gtin", [GS1_EXAMPLE, FRENCH_MEDICINE])
def test_a_gtin_without_a_us_ndc_cannot_be_checked_without_listed_gtins(gtin: str) -> None:
    for product in PRODUCTS.values():
        assert gtin_check(product, gtin, PRODUCTS.values()) is GtinCheck.NOT_ON_FILE
    privigen, gamunex = PRODUCTS["privigen"], PRODUCTS["gamunex-c"]
    assert "it holds no US NDC" in gtin_check_text(privigen, GtinCheck.NOT_ON_FILE)
    assert "no GTIN on file for Gamunex-C" in gtin_check_text(gamunex, GtinCheck.NOT_ON_FILE)


def test_listed_gtins_add_to_the_ndcs_and_refuse_the_rest() -> None:
    gtins = Gtins(values=(GS1_EXAMPLE,), url="https://example.invalid/label", text="test pack")
    product: Product = PRODUCTS["privigen"].model_copy(update={"gtins": gtins})
    assert gtin_check(product, GS1_EXAMPLE) is GtinCheck.MATCHED
    assert gtin_check(product, PRIVIGEN_5G) is GtinCheck.MATCHED
    with pytest.raises(LotScanError, match=f"GTIN {FRENCH_MEDICINE} is not Privigen's"):
        gtin_check(product, FRENCH_MEDICINE)


def test_a_misread_gtin_is_refused() -> None:
    with pytest.raises(LotScanError, match=r"the GTIN \(01\) is misread"):
        gtin_check(PRODUCTS["privigen"], "00344206436050")


# -- in the pre-infusion documentation ---------------------------------------------------------


def _validate(product_id: str, gtin: str) -> GtinCheck | None:
    return validate_preinfusion(
        {"lot_expiry": "2028-05-31", "iga_status": "normal"},
        product=PRODUCTS[product_id],
        lot="AB-123",
        scan=parse_lot_scan(f"(01){gtin}(17)280531(10)AB-123"),
        today=date(2026, 11, 20),
        now=Instant(wall_utc=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), mono_ms=1_000_000),
        local=UTC,
        others=PRODUCTS.values(),
    ).gtin_check


def test_the_documentation_records_a_matched_gtin_and_refuses_another_products() -> None:
    assert _validate("privigen", PRIVIGEN_5G) is GtinCheck.MATCHED
    assert _validate("octagam-10", OCTAGAM_10_CASE) is GtinCheck.MATCHED
    with pytest.raises(PreInfusionInvalid) as caught:
        _validate("gamunex-c", PRIVIGEN_5G)  # no NDCs on file, but the GTIN is Privigen's
    (problem,) = caught.value.problems
    assert problem.field == "lot"
    assert problem.reason == (
        f"GTIN {PRIVIGEN_5G} is Privigen's (NDC 44206-436-05), not Gamunex-C's: wrong product"
    )
