"""New US IVIG products and the label data left over (issue 14, item 8).

Qivigy is shipped, with its label's own first infusion. Alyglo, Yimmugo and Gammaked are not:
their infusion rates could not be verified against a label (see docs/admin/library.md). The
label data added to the shipped files (IgA contraindications, ages, vial sizes, NDCs) is
checked here against the numbers the cited sources print.
"""

from decimal import Decimal
from pathlib import Path

import pytest

from titrator.domain.library import Provenance
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.files.library import load_library

D = Decimal
LIBRARY = load_library()


def qivigy(weight: str, dose: str, *, first: bool) -> Plan:
    request = PlanRequest(
        product_id="qivigy",
        indication_id="pi",
        weight_kg=D(weight),
        dose_g_per_kg=D(dose),
        first_infusion=first,
    )
    return build_plan(request, LIBRARY.product("qivigy"))


def test_qivigy_is_shipped_with_every_field_the_others_have() -> None:
    product = LIBRARY.product("qivigy")
    privigen = LIBRARY.product("privigen")
    assert product.concentration_mg_per_ml == 100
    assert set(product.indications) == {"pi"}
    assert product.sources
    assert all(s.url.startswith("https://") for s in product.sources)
    # Every top-level and indication field a shipped file sets, the new file sets too.
    shipped = privigen.model_dump(exclude_defaults=True)
    mine = product.model_dump(exclude_defaults=True)
    # `codes` (NDC/GTIN) is set only where a label source gives them; none was found for Qivigy.
    assert set(shipped) - {"label_date", "codes"} <= set(mine)
    pi = product.indications["pi"]
    assert (pi.dose.min_g_per_kg, pi.dose.max_g_per_kg) == (D("0.3"), D("0.8"))
    assert (pi.initial_rate.value, pi.max_rate.value) == (D(2), D(8))
    assert (pi.initial_duration_min, pi.step_interval_min) == (15, 15)
    assert pi.initial_duration_source is Provenance.LABEL
    assert pi.step_interval_source is Provenance.LABEL


def test_qivigy_first_infusion_is_the_labels_own() -> None:
    rule = LIBRARY.product("qivigy").indications["pi"].first_infusion
    assert rule.source is Provenance.LABEL
    assert rule.initial_rate is not None
    assert rule.initial_rate.value == 1
    assert (rule.initial_duration_min, rule.step_interval_min) == (30, 30)
    assert rule.ladder is not None
    assert list(rule.ladder.rates) == [1, 2, 4, 6, 8]
    assert not rule.label_requires_same_ramp


def test_qivigy_golden_first_infusion_70_kg_400_mg_per_kg() -> None:
    # The manufacturer calculator's first-infusion schedule at 70 kg, 400 mg/kg (28 g):
    # 1, 2, 4, 6 mg/kg/min for 30 min each (2.1, 4.2, 8.4, 12.6 g), then 8 mg/kg/min for the
    # last 0.7 g (1.25 min).
    p = qivigy("70", "0.4", first=True)
    assert [s.rate_mg_per_kg_min for s in p.steps] == [1, 2, 4, 6, 8]
    assert [s.rate_ml_per_h for s in p.steps] == [42, 84, 168, 252, 336]
    assert [s.start_min for s in p.steps] == [0, 30, 60, 90, 120]
    assert [s.volume_ml for s in p.steps] == [21, 42, 84, 126, 7]
    assert p.total_dose_g == 28
    assert p.estimated_duration_min == D("121.25")


def test_qivigy_golden_subsequent_infusion_70_kg_400_mg_per_kg() -> None:
    p = qivigy("70", "0.4", first=False)
    assert [s.rate_mg_per_kg_min for s in p.steps] == [2, 4, 6, 8]
    assert [s.start_min for s in p.steps] == [0, 15, 30, 45]
    assert [s.volume_ml for s in p.steps] == [21, 42, 63, 154]
    assert p.estimated_duration_min == D("72.50")


def test_qivigy_golden_first_infusion_100_kg_800_mg_per_kg() -> None:
    # 80 g = 800 mL: 30, 60, 120, 180 mL in the four 30-min steps, then 410 mL at 480 mL/h.
    p = qivigy("100", "0.8", first=True)
    assert [s.rate_ml_per_h for s in p.steps] == [60, 120, 240, 360, 480]
    assert [s.volume_ml for s in p.steps] == [30, 60, 120, 180, 410]
    assert p.estimated_duration_min == D("171.25")


# -- label data left over (ages, vials, codes, IgA contraindications) --------------------------

NOT_ADDED = ("Alyglo", "Yimmugo", "Gammaked")
LIBRARY_DOC = Path(__file__).resolve().parents[3] / "docs" / "admin" / "library.md"


def plan(product_id: str, indication: str, dose: str, **extra: object) -> Plan:
    request = PlanRequest.model_validate(
        {
            "product_id": product_id,
            "indication_id": indication,
            "weight_kg": D("70"),
            "dose_g_per_kg": D(dose),
            **extra,
        }
    )
    return build_plan(request, LIBRARY.product(product_id))


def test_unverified_products_are_not_shipped_and_the_docs_say_why() -> None:
    names = {p.name for p in LIBRARY.products.values()}
    text = LIBRARY_DOC.read_text(encoding="utf-8")
    for name in NOT_ADDED:
        assert name not in names
        assert f"not added: {name}" in text


def test_privigen_label_ages_per_indication() -> None:
    privigen = LIBRARY.product("privigen")
    ages = {ind_id: ind.age for ind_id, ind in privigen.indications.items()}
    assert ages["pi"] is not None
    assert (ages["pi"].min_years, ages["pi"].max_years) == (None, None)
    assert ages["itp"] is not None
    assert ages["itp"].min_years == 15
    assert ages["itp"].source is Provenance.LABEL
    assert ages["cidp"] is not None
    assert ages["cidp"].min_years == 18
    assert ages["cidp"].source is Provenance.SITE  # the label says "adults"
    with pytest.raises(PlanError) as caught:
        plan("privigen", "itp", "1", age_years=14)
    assert "15 years and over" in caught.value.reason
    at_15 = plan("privigen", "itp", "1", age_years=15)
    assert at_15.age_text == "15 years (label: 15 years and over)"
    assert plan("privigen", "pi", "0.4", age_years=1).age_text == (
        "1 years (label: no age limit printed)"
    )


def test_panzyga_ages_and_bottles() -> None:
    panzyga = LIBRARY.product("panzyga")
    mins = {ind_id: ind.age.min_years for ind_id, ind in panzyga.indications.items() if ind.age}
    assert mins == {"pi": 2, "itp": 18, "cidp": 18}
    assert panzyga.vials is not None
    assert list(panzyga.vials.sizes_g) == [1, D("2.5"), 5, 10, 20, 30]
    # 28 g ordered at 70 kg is made exactly (20 + 5 + 2 x 1 g), so nothing is rounded.
    p = plan("panzyga", "pi", "0.4", round_to_vials=True)
    assert p.total_dose_g == 28
    assert p.rounding_pct == 0


def test_asceniv_comes_in_5_g_vials_only() -> None:
    asceniv = LIBRARY.product("asceniv")
    assert asceniv.vials is not None
    assert list(asceniv.vials.sizes_g) == [5]
    p = plan("asceniv", "pi", "0.4", round_to_vials=True)  # 28 g ordered
    assert p.total_dose_g == 30  # 6 vials; 25 g is 3 g away, 30 g is 2 g away
    assert p.vials is not None
    assert [(v.size_g, v.count) for v in p.vials] == [(D(5), 6)]


def test_bivigam_vials_and_octagam_10_adult_ages() -> None:
    bivigam = LIBRARY.product("bivigam")
    assert bivigam.vials is not None
    assert list(bivigam.vials.sizes_g) == [5, 10]
    octagam = LIBRARY.product("octagam-10")
    for ind in octagam.indications.values():
        assert ind.age is not None
        assert ind.age.min_years == 18
        assert "adults" in ind.age.text


def test_qivigy_ndcs_are_its_two_cartons_and_two_vials() -> None:
    codes = LIBRARY.product("qivigy").codes
    assert codes is not None
    assert codes.ndc == ("76179-010-01", "76179-010-02", "76179-010-03", "76179-010-04")
    assert codes.url.startswith("https://api.fda.gov/drug/ndc.json")


def test_every_iga_contraindication_quotes_the_label_condition() -> None:
    for product in LIBRARY.products.values():
        rule = product.iga_contraindication
        if rule is None:
            continue
        assert "antibodies" in rule.text, product.id
        assert "IgA" in rule.text, product.id
        assert "hypersensitivity" in rule.text, product.id
        assert rule.url.startswith(("https://", "http://")), product.id
    uncited = {p.id for p in LIBRARY.products.values() if p.iga_contraindication is None}
    assert uncited == {"flebogamma-5-dif", "flebogamma-10-dif", "gammaplex-10", "octagam-5"}


def test_changed_files_carry_a_new_version() -> None:
    for product_id in ("privigen", "asceniv", "panzyga", "octagam-10", "qivigy", "bivigam"):
        assert LIBRARY.product(product_id).version == "2026.12.06", product_id
    assert LIBRARY.product("gammaplex-5").version == "2026.12.06"
