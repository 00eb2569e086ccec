"""Folder summary and the `review` / `export` entry functions (exit codes, one-line errors)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from titrator.cli.review import export_main, review_main
from titrator.review.model import load_review
from titrator.review.summary import discover_logs, load_all, summarise, summary_table


def test_summary_groups_and_counts(logs: dict[str, Path], damaged: Path) -> None:
    reviews, problems = load_all([*logs.values(), damaged])
    summary = summarise(reviews, problems)
    (group,) = summary.groups
    assert group.product == "Privigen"
    assert group.infusions == 7
    assert group.reactions == {"mild": 2, "moderate": 0, "severe": 1, "not graded": 0}
    assert group.overrides == 1
    assert (group.damaged, group.unfinished) == (1, 1)
    assert group.to_final_rate == timedelta(hours=2, minutes=7, seconds=30)  # 2 h and 2 h 15 min
    assert group.to_final_rate_n == 2
    assert group.chair_time_n == 6
    assert summary.damaged == (damaged,)


def test_summary_table_is_plain_text_with_units_and_notes(logs: dict[str, Path]) -> None:
    reviews, _ = load_all(list(logs.values()))
    table = summary_table(summarise(reviews))
    # the label wraps in its column (the table fits 80 columns), never cut
    assert "Privigen — Primary humoral" in table
    assert "immunodeficiency (PI)" in table
    assert "2 h 7 min (n=2)" in table
    assert "6 log(s)" in table


def test_discover_logs_walks_folders_and_refuses_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.jsonl").write_text("")
    (tmp_path / "a" / "y.jsonl.torn-1").write_text("")
    assert discover_logs([tmp_path]) == [tmp_path / "a" / "b" / "x.jsonl"]
    with pytest.raises(FileNotFoundError):
        discover_logs([tmp_path / "nope"])


def test_unreadable_files_are_reported_not_fatal(tmp_path: Path) -> None:
    locked = tmp_path / "locked.jsonl"
    locked.mkdir()  # a directory named like a log cannot be opened as a file
    reviews, problems = load_all([locked])
    assert reviews == []
    assert problems[0].path == locked


def test_review_summary_prints_the_table(
    logs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = logs["completed"].parent
    assert review_main(["--summary", str(folder)]) == 0
    assert "Median chair time" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--summary", "/nonexistent/dir"], "--summary: /nonexistent/dir is not a directory"),
        (["/nonexistent/x.jsonl"], "/nonexistent/x.jsonl: no such file or directory"),
        (["--key-file", "/nonexistent/key", "--summary", "/tmp"], "--key-file:"),
        (["--bogus"], "--bogus: unknown option"),
    ],
)
def test_review_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert review_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert err.startswith("titrator review: ")


@pytest.mark.parametrize("fmt", ["csv", "fhir", "html"])
def test_export_writes_each_format(logs: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    assert export_main([str(logs["fever"]), "--format", fmt, "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        assert (
            len(list(csv.reader(text.splitlines()))) == len(load_review(logs["fever"]).timeline) + 2
        )
    elif fmt == "fhir":
        Bundle.model_validate(json.loads(text))
    else:
        assert text.startswith("<!DOCTYPE html>")


def test_export_to_stdout(logs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert export_main([str(logs["stopped"]), "--format", "fhir"]) == 0
    assert json.loads(capsys.readouterr().out)["resourceType"] == "Bundle"


def test_a_damaged_log_is_refused_without_allow_damaged(
    damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.csv"
    assert export_main([str(damaged), "--format", "csv", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is damaged, nothing exported" in err
    assert "line 60" in err
    assert err.count("\n") == 1
    assert not out.exists()
    assert (
        export_main([str(damaged), "--format", "html", "--out", str(out), "--allow-damaged"]) == 0
    )
    assert "DAMAGED at line 60" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["x.jsonl", "--format", "pdf"],
            "--format: must be one of csv, discharge, fhir, hl7v2, html (got 'pdf')",
        ),
        (["x.jsonl"], "--format: required"),
        (["/nonexistent.jsonl", "--format", "csv"], "/nonexistent.jsonl: no such file"),
    ],
)
def test_export_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert err.startswith("titrator export: ")


def test_export_to_an_unwritable_place_names_out(
    logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "dir" / "x.csv"
    assert export_main([str(logs["fever"]), "--format", "csv", "--out", str(target)]) == 2
    assert "--out: cannot write" in capsys.readouterr().err


def test_the_pure_part_and_the_exports_do_not_import_textual() -> None:
    code = (
        "import sys; import titrator.review.model, titrator.review.summary, "
        "titrator.review.export_csv, titrator.interop.fhir.export, titrator.review.export_html, "
        "titrator.cli.review; "
        "ui = ('textual', 'textual_plotext'); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ui); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
