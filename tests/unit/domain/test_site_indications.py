"""Off-label and site indications (issue 14 item 6): merged into a product, never above its label.

A site indication file adds an indication to a product of the library; it is refused above the
product's label maximum rate, on an id the product already has, and where it claims the label.
Every plan of it says "off-label: site protocol" with its source, in text and JSON.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain._dose_products import shipped
from titrator.domain.library import Product, semantic_problems
from titrator.domain.plan import build_plan
from titrator.domain.plan_format import plan_json, plan_table
from titrator.domain.plan_model import CapKind, Plan, PlanRequest
from titrator.domain.site_indications import (
    SiteIndicationFile,
    indication_label,
    label_max_rate,
    merge,
    site_file_problems,
)
from titrator.files.library import protocols_dir, read_toml

EXAMPLE = protocols_dir() / "site-examples" / "kawasaki-privigen.toml"
SHA = "ab" * 32
AHA = "American Heart Association scientific statement 2017"


@cache
def _example_data() -> dict[str, Any]:
    return read_toml(EXAMPLE)


def example_data() -> dict[str, Any]:
    """The shipped Kawasaki example as parsed TOML (a fresh copy to edit)."""
    return copy.deepcopy(_example_data())


def kawasaki(data: dict[str, Any]) -> dict[str, Any]:
    indication: dict[str, Any] = data["indications"]["kawasaki"]
    return indication


def site_file(data: dict[str, Any] | None = None) -> SiteIndicationFile:
    return SiteIndicationFile.model_validate(example_data() if data is None else data)


def merged_privigen() -> Product:
    site = site_file()
    assert site_file_problems(site, shipped("privigen")) == []
    return merge(shipped("privigen"), site, SHA)


def plan(product: Product, indication: str = "kawasaki", **extra: Any) -> Plan:
    request = PlanRequest.model_validate(
        {
            "product_id": product.id,
            "indication_id": indication,
            "weight_kg": Decimal(20),
            "dose_g_per_kg": Decimal(2),
            **extra,
        }
    )
    return build_plan(request, product)


def paths(site: SiteIndicationFile, product: Product) -> dict[str, str | None]:
    return {p.path: p.value for p in site_file_problems(site, product)}


# --- loading and merging ------------------------------------------------------------------------


def test_the_example_adds_kawasaki_to_privigen_beside_its_label_indications() -> None:
    privigen = shipped("privigen")
    merged = merged_privigen()
    assert list(merged.indications) == ["pi", "itp", "cidp", "kawasaki"]
    for ind_id in ("pi", "itp", "cidp"):
        assert merged.indications[ind_id] == privigen.indications[ind_id]
        assert merged.indications[ind_id].site_protocol is None
    assert merged.version == privigen.version
    kaw = merged.indications["kawasaki"]
    protocol = kaw.site_protocol
    assert protocol is not None
    assert (protocol.file_id, protocol.file_version, protocol.file_sha256) == (
        "kawasaki-privigen",
        "2026.12.06",
        SHA,
    )
    assert protocol.source.startswith(AHA)
    assert protocol.url == "https://doi.org/10.1161/CIR.0000000000000484"
    # AHA 2017: 2 g/kg as a single infusion.
    assert kaw.dose.min_g_per_kg == kaw.dose.max_g_per_kg == Decimal(2)
    assert kaw.courses == ()
    assert indication_label(kaw) == "Kawasaki disease (off-label: site protocol)"
    assert indication_label(privigen.indications["pi"]) == privigen.indications["pi"].name


def test_the_label_maximum_is_the_highest_a_label_indication_prints() -> None:
    privigen = shipped("privigen")
    top = label_max_rate(privigen)
    assert (top.value, str(top.unit)) == (Decimal(8), "mg/kg/min")  # PI and CIDP; ITP is 4
    assert label_max_rate(merged_privigen()) == top  # a site indication never raises it


# --- refusals ---------------------------------------------------------------------------------


def test_a_maximum_above_the_label_maximum_rate_is_refused_naming_field_and_value() -> None:
    data = example_data()
    kaw = kawasaki(data)
    kaw["max_rate"] = {"value": Decimal(10), "unit": "mg/kg/min"}
    kaw["ladder"]["rates"] = [Decimal("0.5"), Decimal(1), Decimal(2), Decimal(4), Decimal(10)]
    problems = site_file_problems(site_file(data), shipped("privigen"))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.path == "indications.kawasaki.max_rate.value"
    assert problem.value == "10 mg/kg/min"
    assert "above the Privigen label's maximum rate (8 mg/kg/min)" in problem.message
    line = problem.render("site/kawasaki-privigen.toml")
    assert "\n" not in line
    assert line.startswith("site/kawasaki-privigen.toml: indications.kawasaki.max_rate.value: ")


def test_a_second_printed_maximum_above_the_label_maximum_is_refused_too() -> None:
    data = example_data()
    kawasaki(data)["max_rate"] = {
        "value": Decimal(8),
        "unit": "mg/kg/min",
        "also_printed": {"value": Decimal("0.09"), "unit": "mL/kg/min"},  # 9 mg/kg/min at 10 %
    }
    found = paths(site_file(data), shipped("privigen"))
    assert found == {"indications.kawasaki.max_rate.also_printed.value": "0.09 mL/kg/min"}


def test_the_label_maximum_itself_is_allowed() -> None:
    data = example_data()
    kaw = kawasaki(data)
    kaw["max_rate"] = {"value": Decimal("0.08"), "unit": "mL/kg/min"}  # = 8 mg/kg/min at 10 %
    assert site_file_problems(site_file(data), shipped("privigen")) == []


def test_a_ladder_above_its_own_maximum_is_refused_as_in_a_product_file() -> None:
    data = example_data()
    kawasaki(data)["ladder"]["rates"] = [Decimal("0.5"), Decimal(1), Decimal(2), Decimal(6)]
    found = paths(site_file(data), shipped("privigen"))
    assert found == {"indications.kawasaki.ladder.rates[3]": "6 mg/kg/min"}


@pytest.mark.parametrize("clash", ["pi", "itp", "cidp"])
def test_an_id_the_product_already_has_is_refused(clash: str) -> None:
    data = example_data()
    data["indications"] = {clash: data["indications"]["kawasaki"]}
    problems = site_file_problems(site_file(data), shipped("privigen"))
    assert [(p.path, p.value) for p in problems] == [(f"indications.{clash}", clash)]
    assert "already has this indication (the Privigen label)" in problems[0].message


def test_the_same_indication_added_twice_names_the_first_site_file() -> None:
    problems = site_file_problems(site_file(), merged_privigen())
    assert [p.path for p in problems] == ["indications.kawasaki"]
    assert "site file 'kawasaki-privigen'" in problems[0].message


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda k: k["ladder"].update(source="label"), "ladder.source"),
        (lambda k: k["first_infusion"].update(source="label"), "first_infusion.source"),
    ],
)
def test_nothing_of_an_off_label_indication_may_claim_the_label(edit: Any, path: str) -> None:
    data = example_data()
    edit(kawasaki(data))
    found = paths(site_file(data), shipped("privigen"))
    assert found[f"indications.kawasaki.{path}"] == "label"


def test_a_product_file_may_not_carry_a_site_protocol() -> None:
    problems = semantic_problems(merged_privigen())
    assert [(p.path, p.value) for p in problems] == [
        ("indications.kawasaki.site_protocol", "kawasaki-privigen")
    ]


# --- the plan says so ---------------------------------------------------------------------------


def test_the_plan_text_and_json_say_off_label_site_protocol_with_the_source() -> None:
    product = merged_privigen()
    the_plan = plan(product)
    text = plan_table(the_plan, product)
    assert f"OFF-LABEL: site protocol ({AHA}" in text
    assert "site file kawasaki-privigen version 2026.12.06" in text
    assert the_plan.notes[0].startswith(f"off-label: site protocol ({AHA}")
    data = plan_json(the_plan)
    off = data["off_label"]
    assert off["site_protocol"] is True
    assert off["source"].startswith(AHA)
    assert off["marker"].startswith("off-label: site protocol (")
    assert (off["file"], off["file_version"], off["file_sha256"]) == (
        "kawasaki-privigen",
        "2026.12.06",
        SHA,
    )
    assert data["total_dose_g"] == "40"


def test_a_label_indication_plan_carries_no_marker() -> None:
    product = merged_privigen()
    the_plan = plan(product, "pi", dose_g_per_kg=Decimal("0.4"))
    assert the_plan.off_label is None
    assert plan_json(the_plan)["off_label"] is None
    assert "off-label" not in plan_table(the_plan, product).lower()


def test_the_plan_is_capped_by_the_site_maximum_and_the_label_maximum() -> None:
    product = merged_privigen()
    usual = plan(product)
    kinds = {cap.kind for cap in usual.caps}
    assert {CapKind.LABEL_MAX, CapKind.SITE_PROTOCOL} <= kinds
    assert usual.binding_cap.kind is CapKind.SITE_PROTOCOL
    assert usual.max_rate_ml_per_h == Decimal(48)  # 4 mg/kg/min at 20 kg, 10 %
    first = plan(product, first_infusion=True)
    assert first.binding_cap.kind is CapKind.FIRST_INFUSION
    assert first.max_rate_ml_per_h == Decimal(36)  # 3 mg/kg/min
    # About 12 hours for 2 g/kg: the 10-12 hours of published regimens.
    assert Decimal(11 * 60) < first.estimated_duration_min <= Decimal(12 * 60 + 5)
    assert first.estimated_duration_min > usual.estimated_duration_min


# --- the property: never above the label maximum ---------------------------------------------

PRODUCTS = ("privigen", "gamunex-c", "octagam-5", "gammagard-liquid", "gammaplex-5", "panzyga")


@st.composite
def site_indications(draw: st.DrawFn) -> tuple[Product, dict[str, Any], Decimal, bool]:
    """A product, a site indication for it (any maximum, over or under the label's), a weight
    and the first-infusion flag."""
    product = shipped(draw(st.sampled_from(PRODUCTS)))
    initial = next(iter(product.indications.values())).initial_rate
    top_tenths = draw(st.integers(11, 240))  # 1.1 to 24 times the initial rate
    below = draw(st.lists(st.integers(11, top_tenths), max_size=4, unique=True))
    tenths = sorted({*below, top_tenths})
    rungs = [initial.value, *(initial.value * t / 10 for t in tenths)]
    top = rungs[-1]
    first: dict[str, Any] = {
        "source": "site",
        "note": "Slower steps (test).",
        "step_interval_min": 45,
    }
    if draw(st.booleans()):
        index = draw(st.integers(0, len(rungs) - 1))
        first["max_rate"] = {"value": rungs[index], "unit": str(initial.unit)}
    indication = {
        "name": "Generated site indication",
        "dose": {"min_g_per_kg": Decimal(1), "max_g_per_kg": Decimal(2), "regimen": "test"},
        "initial_rate": {"value": initial.value, "unit": str(initial.unit)},
        "initial_duration_min": 30,
        "initial_duration_source": "site",
        "step_interval_min": 30,
        "step_interval_source": "site",
        "max_rate": {"value": top, "unit": str(initial.unit)},
        "ladder": {"source": "site", "unit": str(initial.unit), "rates": rungs, "note": "test"},
        "first_infusion": first,
        "protocol": {"source": "Test protocol", "url": "https://example.org/p", "reason": "test"},
    }
    data = {
        "schema_version": 1,
        "id": "generated",
        "version": "2026.12.06",
        "product": product.id,
        "sources": [{"url": "https://example.org/p", "title": "Test", "accessed": "2026-12-06"}],
        "indications": {"generated": indication},
    }
    weight = Decimal(draw(st.integers(20, 3000))) / 10
    return product, data, weight, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(site_indications())
def test_no_site_indication_plan_ever_exceeds_the_label_maximum_rate(
    case: tuple[Product, dict[str, Any], Decimal, bool],
) -> None:
    product, data, weight, first = case
    site = SiteIndicationFile.model_validate(data)
    conc = product.concentration
    ceiling = label_max_rate(product)
    over = site.indications["generated"].max_rate.weight_rate().exact_ml_per_kg_h(
        conc
    ) > ceiling.exact_ml_per_kg_h(conc)
    problems = site_file_problems(site, product)
    # The loader refuses exactly the files whose maximum is above the label's.
    assert over == any(p.path == "indications.generated.max_rate.value" for p in problems)
    # And even a file merged without the loader's check never plans above it.
    merged = merge(product, site, SHA)
    request = PlanRequest(
        product_id=product.id,
        indication_id="generated",
        weight_kg=weight,
        dose_g_per_kg=Decimal(1),
        first_infusion=first,
    )
    the_plan = build_plan(request, merged)
    limit = ceiling.ml_per_h(weight, conc)
    assert the_plan.max_rate_ml_per_h <= limit
    assert all(step.rate_ml_per_h <= limit for step in the_plan.steps)
    assert the_plan.off_label is not None
