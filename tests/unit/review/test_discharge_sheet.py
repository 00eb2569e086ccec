"""Issue 13 item 6: delayed reactions are handed over, from the policy file, cited: on the
discharge sheet (`titrator export --format discharge`), in the HTML report and on the summary
screen's source (the policy's `discharge` section)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from tests.support.clinical import POLICY
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.test_medication_given import record_anaphylaxis_with_medicines
from titrator.cli.review import export_main
from titrator.review.export_discharge import to_discharge
from titrator.review.export_html import to_html
from titrator.review.model import load_review

DELAYED = ("Aseptic meningitis", "Haemolysis", "Thrombosis", "Kidney problems (renal failure)")


def test_the_policy_names_the_delayed_reactions_with_their_sources() -> None:
    advice = POLICY.discharge
    assert advice is not None
    names = [w.name for w in advice.watch]
    for name in DELAYED:
        assert any(n.startswith(name) for n in names), name
    meningitis = advice.watch[0]
    assert "2 days" in meningitis.when
    assert "stiff neck" in meningitis.watch_for
    assert "10 days" in advice.watch[1].when
    for item in advice.watch:
        assert item.sources
        assert all(tag in POLICY.sources for tag in item.sources)
    assert "call" in advice.call.lower()


def test_the_sheet_lists_what_to_watch_for_whom_to_call_and_the_sources(tmp_path: Path) -> None:
    text = to_discharge(load_review(record_anaphylaxis_with_medicines(tmp_path)))
    assert text.startswith("IVIG INFUSION: DISCHARGE SHEET\n")
    assert "Patient: MRN-0001 / 1970-01-01" in text
    assert "Reaction at 08:38:00 UTC: severe" in text
    assert "Medicine given: adrenaline (epinephrine) 1 mg/mL 0.5 mg IM at 08:39:00 UTC" in text
    assert "AFTER YOU LEAVE, WATCH FOR" in text
    for name in DELAYED:
        assert f"* {name}" in text
    assert "WHOM TO CALL" in text
    assert "JOLLES1998: Jolles S, Hill H." in text
    assert "From the reaction policy 'default'" in text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 78
    assert len(lines) <= 66  # one A4 page at 10 pt


def test_a_training_log_is_marked_on_the_first_line(tmp_path: Path) -> None:
    log = build_log(tmp_path, LogSpec(session_id="train-0001", training=True))
    text = to_discharge(load_review(log))
    assert text.splitlines()[0].startswith("TRAINING: NOT A REAL PATIENT.")
    assert "Reactions: none recorded." in text
    assert "Medicines given: none recorded." in text


def test_the_html_report_hands_over_the_delayed_reactions(tmp_path: Path) -> None:
    html = to_html(load_review(build_log(tmp_path, LogSpec(session_id="done-0001"))))
    section = html.split("<h2>After the patient leaves</h2>", 1)[1].split("<h2>", 1)[0]
    for name in DELAYED:
        assert name in section
    assert "Whom to call:" in section
    assert "S32a: Prospective observational study of IVIG-mediated haemolysis" in section


def test_export_writes_the_discharge_sheet(tmp_path: Path) -> None:
    log = build_log(tmp_path, LogSpec(session_id="done-0002"))
    out = tmp_path / "sheet.txt"
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert export_main([str(log), "--format", "discharge", "--out", str(out)]) == 0
    assert "discharge export" in err.getvalue()
    text = out.read_text(encoding="utf-8")
    assert "AFTER YOU LEAVE, WATCH FOR" in text
    assert out.stat().st_mode & 0o777 == 0o600
