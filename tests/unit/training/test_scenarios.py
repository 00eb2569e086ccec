"""Every shipped scenario validates; a corpus of bad files (one fault each) is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import (
    RISK_FACTORS,
    SYMPTOM_IDS,
    ScenarioError,
    load_scenario,
    scenario_paths,
)
from tests.support import paths as support_paths
from titrator.domain.setup import RiskFactor
from titrator.domain.site import SiteLimits
from titrator.domain.vitals import Symptom
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy
from titrator.training.runner import TODAY
from titrator.training.scenarios import load_training_scenario

BAD = support_paths.DATA / "training" / "bad"
SHIPPED = scenario_paths()


def test_the_vocabularies_match_the_engine() -> None:
    assert {s.value for s in Symptom} == SYMPTOM_IDS
    assert {r.value for r in RiskFactor} == RISK_FACTORS


def test_at_least_ten_scenarios_ship() -> None:
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_scenario_validates(path: Path, library: Library, policy: LoadedPolicy) -> None:
    training = load_training_scenario(path, library, policy.policy, TODAY)
    assert training.id == path.stem
    assert len(training.sha256) == 64
    assert training.setup(library, TODAY, SiteLimits()).raw["training"] == "true"


def _expected_field(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ").strip()


BAD_FILES = sorted(BAD.glob("*.toml"))


def test_the_bad_corpus_is_there() -> None:
    assert len(BAD_FILES) >= 15


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_a_bad_scenario_is_refused_naming_the_field(
    path: Path, library: Library, policy: LoadedPolicy
) -> None:
    field = _expected_field(path)
    with pytest.raises(ScenarioError) as caught:
        load_training_scenario(path, library, policy.policy, TODAY)
    lines = caught.value.lines()
    assert all(line.startswith(str(path)) for line in lines)
    if field:
        assert any(line.startswith(f"{path}: {field}:") for line in lines), lines
    else:
        assert any("not valid TOML" in line for line in lines), lines


def test_a_bad_value_is_quoted(library: Library, policy: LoadedPolicy) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BAD / "bad-baseline-temp.toml")
    assert "(got 366)" in str(caught.value)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="file is empty"):
        load_scenario(path)
