"""The order number typed at setup: optional, checked like every identifier, never corrected."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.domain.test_setup import GOOD, PRODUCTS, SITE, TODAY, setup
from titrator.domain.setup import (
    InfusionSetup,
    SetupInvalid,
    identifier_problem,
    validate_setup,
)

_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")


def test_no_order_number_is_none() -> None:
    assert setup().order_id is None
    assert setup(order_id="   ").order_id is None


def test_an_order_number_is_kept_as_typed_and_in_the_raw_fields() -> None:
    result = setup(order_id=" ORD-2026/0042 ")
    assert result.order_id == "ORD-2026/0042"
    assert result.raw["order_id"] == " ORD-2026/0042 "


def test_a_bad_order_number_names_the_field() -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup(order_id="ORD;DROP")
    (problem,) = caught.value.problems
    assert (problem.field, problem.raw) == ("order_id", "ORD;DROP")


def test_the_order_number_round_trips_and_an_older_log_reads_as_none() -> None:
    result = setup(order_id="ORD-7")
    assert InfusionSetup.model_validate_json(result.model_dump_json()).order_id == "ORD-7"
    older = result.model_dump(mode="json")
    del older["order_id"]  # a session_opened written before the field existed
    assert InfusionSetup.model_validate(older).order_id is None


@given(st.text(max_size=50))
def test_any_text_is_accepted_exactly_or_refused(text: str) -> None:
    raw = {**GOOD, "order_id": text}
    if identifier_problem(text) is not None and text.strip():
        with pytest.raises(SetupInvalid) as caught:
            validate_setup(raw, (), PRODUCTS, TODAY, SITE)
        assert [p.field for p in caught.value.problems] == ["order_id"]
        return
    result = validate_setup(raw, (), PRODUCTS, TODAY, SITE)
    stripped = text.strip()
    assert result.order_id == (stripped or None)
    assert stripped == "" or _RULE.match(stripped)
