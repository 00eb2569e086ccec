"""A scenario's briefing and history name the condition its order is for, and no other.

Every shipped scenario is checked (not only the one once found saying "CIDP" over an order for
primary immunodeficiency), and a file whose words and order disagree is refused by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import ScenarioError, load_scenario, scenario_paths
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy
from titrator.training.runner import TODAY
from titrator.training.scenarios import load_training_scenario

SHIPPED = scenario_paths()

_FILE = """schema_version = 1
id = "words"
title = "Words and order"
teaches = "Nothing: a test file."
briefing = "{briefing}"

[patient]
name = "Ms W. Words"
patient_id_1 = "TRN-9998"
patient_id_2 = "1970-01-01"
age_years = 55
weight_kg = 70
history = "{history}"
first_infusion = false
last_infusion_weeks_ago = 4
last_product_id = "privigen"

[infusion]
product_id = "privigen"
indication_id = "pi"
dose_g_per_kg = 0.4
lot = "P1"

[vitals]
baseline = {{ temp_c = 36.6, hr_bpm = 72, sbp_mmhg = 124, dbp_mmhg = 78, rr_bpm = 14, \
spo2_pct = 98 }}

[[expect]]
id = "complete"
action = "complete"
what = "Give the full dose"
within_min = 300
"""


def _scenario(tmp_path: Path, briefing: str, history: str) -> Path:
    """A scenario ordering Privigen for primary immunodeficiency (PI), with these words."""
    path = tmp_path / "words.toml"
    path.write_text(_FILE.format(briefing=briefing, history=history), encoding="utf-8")
    return path


def test_a_briefing_and_history_that_match_the_order_load(
    tmp_path: Path, library: Library, policy: LoadedPolicy
) -> None:
    path = _scenario(
        tmp_path, "Ms Words has CVID.", "Common variable immunodeficiency on monthly Privigen."
    )
    assert load_training_scenario(path, library, policy.policy, TODAY).id == "words"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_briefing_names_its_indication_and_no_other(
    path: Path, library: Library, policy: LoadedPolicy
) -> None:
    scenario = load_scenario(path)
    product = library.product(scenario.infusion.product_id)
    indication = product.indications[scenario.infusion.indication_id]
    # load_training_scenario refuses a scenario whose words and order disagree.
    load_training_scenario(path, library, policy.policy, TODAY)
    words = f"{scenario.briefing} {scenario.patient.history}".lower()
    # ... and, independently of that check: no other indication's abbreviation is named.
    others = {
        key
        for p in library.products.values()
        for key in p.indications
        if key != scenario.infusion.indication_id
    }
    assert not [key for key in others if f"{key} " in words or f"{key})" in words], indication.name
    assert "secondary" not in words, "secondary immunodeficiency is not primary (PI)"


def test_a_briefing_naming_another_indication_is_refused(
    tmp_path: Path, library: Library, policy: LoadedPolicy
) -> None:
    # The defect once shipped: the order is for PI, the briefing said the patient has CIDP.
    path = _scenario(
        tmp_path,
        "Ms Words has CIDP and has had Privigen monthly.",
        "Primary immunodeficiency on monthly Privigen.",
    )
    with pytest.raises(ScenarioError) as caught:
        load_training_scenario(path, library, policy.policy, TODAY)
    lines = caught.value.lines()
    assert any(
        line.startswith(f"{path}: briefing: names CIDP") and "indication 'pi'" in line
        for line in lines
    ), lines


def test_a_history_of_secondary_immunodeficiency_is_refused(
    tmp_path: Path, library: Library, policy: LoadedPolicy
) -> None:
    path = _scenario(
        tmp_path,
        "Ms Words has a primary immunodeficiency.",
        "Secondary hypogammaglobulinaemia after rituximab, on monthly Privigen.",
    )
    with pytest.raises(ScenarioError) as caught:
        load_training_scenario(path, library, policy.policy, TODAY)
    lines = caught.value.lines()
    assert any(
        line.startswith(f"{path}: patient.history: names secondary hypogammaglobulinaemia")
        for line in lines
    ), lines


def test_words_that_never_say_what_the_infusion_is_for_are_refused(
    tmp_path: Path, library: Library, policy: LoadedPolicy
) -> None:
    path = _scenario(tmp_path, "Ms Words is well today.", "On monthly Privigen.")
    with pytest.raises(ScenarioError) as caught:
        load_training_scenario(path, library, policy.policy, TODAY)
    lines = caught.value.lines()
    assert any(
        line.startswith(f"{path}: briefing: does not say what the infusion is for")
        for line in lines
    ), lines
