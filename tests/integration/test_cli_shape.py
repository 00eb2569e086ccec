"""Issue 12 item 8: one CLI shape. Every parser is walked, so a new option cannot slip back.

Same option names everywhere (`--library`, `--data-dir`; old spellings only as hidden aliases),
help on every option, no developer notes in `--help`, no abbreviated options, one error form
(`titrator CMD: error: --option: reason (got 'text')`), `--json` on every command that reports.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from titrator.cli.main import all_parsers, main
from titrator.cli.train import build_parser as train_parser

OLD_SPELLINGS = {"--library-dir", "--audit-dir"}
HIDDEN_INTERNAL = {"--scenario-dir"}
"""Hidden options that are not aliases: the training scenarios' folder, for tests."""
DEVELOPER_NOTES = ("``", "titrator.", ".md", "Kept apart", "import", "wired by")
REPORTING = {
    "titrator audit verify",
    "titrator audit replay",
    "titrator review",
    "titrator train",
    "titrator protocols list",
    "titrator protocols validate",
    "titrator protocols show",
    "titrator resume",
    "titrator plan",
    "titrator ward report",
}
ERROR_FORM = re.compile(r"^titrator( [a-z]+)*: error: [^ :]+(, [^ :]+)*: .+\n$")
AUDIT = ROOT / "tests" / "data" / "audit"


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


def walk() -> Iterator[argparse.ArgumentParser]:
    """Every parser and subparser of every command (delegated stubs are skipped)."""
    stack = list(all_parsers().values())
    while stack:
        parser = stack.pop()
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(p for p in action.choices.values() if p.add_help)


PARSERS = {parser.prog: parser for parser in walk()}


def test_every_command_is_walked() -> None:
    assert set(PARSERS) >= REPORTING | {
        "titrator",
        "titrator run",
        "titrator demo",
        "titrator simulate",
        "titrator export",
        "titrator audit keygen",
    }


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_no_parser_takes_abbreviations(prog: str) -> None:
    assert PARSERS[prog].allow_abbrev is False


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_option_has_help_and_one_name(prog: str) -> None:
    parser = PARSERS[prog]
    visible = {
        action.dest
        for action in parser._actions
        if action.help != argparse.SUPPRESS and action.option_strings
    }
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        names = action.option_strings or [action.dest]
        if action.help == argparse.SUPPRESS:
            hidden_alias = action.dest in visible and set(names) <= OLD_SPELLINGS
            assert hidden_alias or set(names) <= HIDDEN_INTERNAL, names
            continue
        assert action.help, f"{prog} {names}: no help"
        assert action.help.strip(), f"{prog} {names}: no help"
        assert not set(names) & OLD_SPELLINGS, f"{prog} shows an old spelling {names}"
        if action.dest == "data_dir":
            assert names == ["--data-dir"], names
        if action.dest == "library":
            assert names == ["--library"], names


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_help_has_no_developer_notes(prog: str) -> None:
    text = PARSERS[prog].format_help()
    for note in DEVELOPER_NOTES:
        assert note not in text, f"{prog} --help: {note!r}"
    for old in OLD_SPELLINGS:
        assert old not in text


@pytest.mark.parametrize("prog", sorted(REPORTING))
def test_every_reporting_command_has_json(prog: str) -> None:
    options = {name for action in PARSERS[prog]._actions for name in action.option_strings}
    assert "--json" in options


def _argv(prog: str) -> list[str]:
    return prog.split()[1:]


@pytest.mark.parametrize("prog", sorted(set(PARSERS) - {"titrator"}))
def test_an_unknown_option_is_one_line_in_the_one_form(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_argv(prog), "--no-such-option=1"]) == 2
    captured = capsys.readouterr()
    assert ERROR_FORM.match(captured.err), captured.err
    assert captured.err.startswith(f"{prog}: error: ")
    assert "Traceback" not in captured.err


PLAN = ["plan", "--product", "privigen", "--indication", "pi", "--weight-kg", "70"]


def test_a_prefix_of_an_option_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PLAN, "--dose-g-per", "0.4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("titrator plan: error: --dose-g-per: unknown option")
    assert "(got '--dose-g-per 0.4')" in err
    assert err.count("\n") == 1


def test_a_bad_choice_names_option_choices_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "x.jsonl", "--format", "pdf"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "titrator export: error: --format: must be one of csv, discharge, fhir, hl7v2, html "
        "(got 'pdf')\n"
    )


def test_bare_titrator_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: titrator")
    assert "plan" in captured.out
    assert "demo" in captured.out
    assert captured.err == ""


def test_protocols_show_json_is_pure_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocols", "show", "octagam-10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["product"]["id"] == "octagam-10"
    assert len(data["sha256"]) == 64
    assert data["file"].endswith(".toml")


def test_site_options_come_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.toml"
    config.write_text("site_at_risk_cap_mg_per_kg_min = 3\n")
    dose = ["--dose-g-per-kg", "0.4", "--at-risk", "--json"]
    assert main([*PLAN, *dose, "--config", str(config)]) == 0
    after = json.loads(capsys.readouterr().out)["max_rate_ml_per_h"]
    assert main(["--config", str(config), *PLAN, *dose]) == 0
    before = json.loads(capsys.readouterr().out)["max_rate_ml_per_h"]
    assert after == before == "126"


@pytest.mark.parametrize(
    "argv",
    [
        ["protocols", "list", "--json"],
        ["protocols", "validate", "--json"],
        ["train", "--list", "--json"],
        ["audit", "verify", "--json", str(AUDIT / "uneventful.jsonl")],
        ["audit", "replay", "--json", str(AUDIT / "uneventful.jsonl")],
        ["review", "--summary", str(AUDIT), "--json"],
    ],
)
def test_json_output_is_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 1, 3), captured.err
    json.loads(captured.out)


def test_old_spellings_still_work_hidden() -> None:
    args = train_parser().parse_args(["febrile", "--library-dir", "site"])
    assert args.library == [Path("site")]
    assert "--library-dir" not in train_parser().format_help()
