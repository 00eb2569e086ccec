"""New US IVIG products (issue 14, item 8): Qivigy, with its label's own first infusion.

Alyglo, Yimmugo and Gammaked are not shipped: their infusion rates could not be verified
against a label (see docs/admin/library.md).
"""

from decimal import Decimal

from titrator.domain.library import Provenance
from titrator.domain.plan import build_plan
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
