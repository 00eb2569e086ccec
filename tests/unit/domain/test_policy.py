"""Policy files: the shipped files validate, errors name file/path/value, the schema is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from titrator.domain.policy import Action, Policy
from titrator.files.policy import PolicyFileError, load_policy, policy_dir_files


@pytest.mark.parametrize("path", policy_dir_files(), ids=lambda p: p.name)
def test_every_shipped_policy_file_validates(path: Path) -> None:
    loaded = load_policy(path)
    assert loaded.policy.rules
    assert len(loaded.sha256) == 64


def test_default_policy_is_the_cautious_one() -> None:
    policy = load_policy().policy
    assert policy.restart.after_pause == "finish_at_last_tolerated"
    assert policy.lot_change.restart_ramp
    assert policy.rule("SYM-MILD").action is Action.PAUSE
    site = [rule for rule in policy.rules if rule.site_setting]
    assert {rule.id for rule in site} >= {"HR-SITE-ABS", "RR-SITE-ABS"}
    assert all(rule.description.startswith("SITE DEFAULT") for rule in site)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_text() -> str:
    return (ROOT / "protocols" / "policy" / "default.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("pause_min = 30", "pause_mins = 30", "restart.pause_mins: unknown key; did you mean"),
        ("pause_min = 30", "pause_min = -5", "restart.pause_min: Input should be greater than 0"),
        ('action = "pause"', 'action = "panic"', "rules[0].action: Input should be"),
        ('op = ">=", value = 38 }', 'op = "=>", value = 38 }', "rules[15].condition.absolute.op"),
        ('sources = ["S10"]', 'sources = ["S99"]', "source tags not in [sources]: S99"),
        ('id = "SYM-SKIN"', 'id = "SYM-MILD"', "repeated: SYM-MILD"),
        ("slow_fraction = 0.5", "slow_fraction = 1.5", "restart.slow_fraction"),
        ("schema_version = 1", "schema_version = 2", "schema_version"),
    ],
)
def test_bad_policy_files_name_the_file_the_path_and_the_value(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = _default_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_broken_toml_and_missing_files_fail_closed(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        load_policy(_write(tmp_path, "schema_version = = 1"))
    with pytest.raises(PolicyFileError, match="cannot read"):
        load_policy(tmp_path / "absent.toml")


def test_a_rule_needs_a_source_or_the_site_marker(tmp_path: Path) -> None:
    text = _default_text().replace('sources = ["S21", "S1", "S37c"]\n', "", 1)
    with pytest.raises(PolicyFileError, match="site_setting"):
        load_policy(_write(tmp_path, text))


def test_committed_schema_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "write_policy_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_describes_the_model() -> None:
    schema = Policy.model_json_schema()
    assert "rules" in schema["properties"]
