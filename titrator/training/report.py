"""The debrief as plain text (the terminal) and as a self-contained HTML page (no network)."""

from __future__ import annotations

import html
from pathlib import Path

from titrator.training.debrief import Debrief, ExpectationResult, Status

_MARK = {
    Status.ON_TIME: "✓ on time",
    Status.LATE: "◐ late",
    Status.MISSED: "✗ missed",
    Status.UNSAFE: "⚠ unsafe",
    Status.NOT_REACHED: "– not reached",
}
"""Status words with a symbol: never colour alone."""


def _done(debrief: Debrief, result: ExpectationResult) -> str:
    if result.done is None:
        return "nothing"
    return f"{result.done.text} at {debrief.minutes(result.done.mono_ms)}"


def render_text(debrief: Debrief) -> str:
    """The debrief for a terminal."""
    lines = [
        f"DEBRIEF — TRAINING — {debrief.title} ({debrief.scenario_id})",
        f"Teaches: {debrief.teaches}",
        f"Score: {debrief.score_pct}% ({debrief.points} of {debrief.max_points} points"
        f"{f', {len(debrief.unsafe)} unsafe act(s) -10 each' if debrief.unsafe else ''})",
        "",
        "Expected responses:",
    ]
    for result in debrief.results:
        due = f" (due by {debrief.minutes(result.due_ms)})" if result.due_ms is not None else ""
        lines.append(f"  [{_MARK[result.status]}] {result.what}{due}")
        lines.append(f"      you: {_done(debrief, result)}")
        lines += [f"      note: {note}" for note in result.notes]
    lines.append("")
    lines.append("Overrides:" if debrief.overrides else "Overrides: none")
    lines += [f"  {debrief.minutes(f.mono_ms)}: {f.text}" for f in debrief.overrides]
    lines.append("Unsafe acts:" if debrief.unsafe else "Unsafe acts: none")
    lines += [f"  ⚠ {debrief.minutes(f.mono_ms)}: {f.text}" for f in debrief.unsafe]
    lines.append("What happened to the patient:")
    lines += [f"  {debrief.minutes(a.mono_ms)}: {a.text}" for a in debrief.scripted]
    if not debrief.training_marked:
        lines.append("WARNING: some records of this log are not marked TRAINING.")
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: sans-serif; margin: 2em; max-width: 60em; color: #111; }
h1 { font-size: 1.4em; } .banner { border: 2px solid #000; padding: .3em .6em; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }
.ok { background: #e6f4e6; } .late { background: #fff4d6; }
.bad { background: #fbe0e0; } .na { background: #eee; }
"""
_CLASS = {
    Status.ON_TIME: "ok",
    Status.LATE: "late",
    Status.MISSED: "bad",
    Status.UNSAFE: "bad",
    Status.NOT_REACHED: "na",
}


def render_html(debrief: Debrief) -> str:
    """The debrief as one HTML page: inline style, no scripts, no external resources."""

    def e(text: object) -> str:
        return html.escape(str(text))

    rows = []
    for result in debrief.results:
        notes = "<br>".join(e(n) for n in result.notes)
        due = debrief.minutes(result.due_ms) if result.due_ms is not None else "—"
        rows.append(
            f'<tr class="{_CLASS[result.status]}"><td>{e(_MARK[result.status])}</td>'
            f"<td>{e(result.what)}</td><td>{e(due)}</td><td>{e(_done(debrief, result))}</td>"
            f"<td>{notes}</td><td>{e(result.points)} / {e(result.max_points)}</td></tr>"
        )

    def finding_list(title: str, findings: list[tuple[str, str]]) -> str:
        if not findings:
            return f"<h2>{e(title)}</h2><p>None.</p>"
        items = "".join(f"<li>{e(when)}: {e(text)}</li>" for when, text in findings)
        return f"<h2>{e(title)}</h2><ul>{items}</ul>"

    overrides = [(debrief.minutes(f.mono_ms), f.text) for f in debrief.overrides]
    unsafe = [(debrief.minutes(f.mono_ms), "⚠ " + f.text) for f in debrief.unsafe]
    scripted = [(debrief.minutes(a.mono_ms), a.text) for a in debrief.scripted]
    warning = (
        ""
        if debrief.training_marked
        else "<p><strong>Warning: some records are not marked TRAINING.</strong></p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Debrief — TRAINING — {e(debrief.title)}</title><style>{_CSS}</style></head>"
        f'<body><p class="banner">TRAINING — not a patient record</p>'
        f"<h1>Debrief: {e(debrief.title)}</h1><p>Scenario <code>{e(debrief.scenario_id)}</code>."
        f" Teaches: {e(debrief.teaches)}</p>{warning}"
        f"<p><strong>Score: {debrief.score_pct}%</strong> ({e(debrief.points)} of "
        f"{debrief.max_points} points; {len(debrief.unsafe)} unsafe act(s), -10 each).</p>"
        "<h2>Expected responses</h2><table><tr><th>Result</th><th>Expected</th><th>Due by</th>"
        "<th>What you did</th><th>Notes</th><th>Points</th></tr>"
        f"{''.join(rows)}</table>"
        f"{finding_list('Overrides and their reasons', overrides)}"
        f"{finding_list('Unsafe acts', unsafe)}"
        f"{finding_list('What happened to the patient', scripted)}"
        "<p>Times are minutes after the infusion started.</p></body></html>\n"
    )


def write_html(debrief: Debrief, path: Path) -> Path:
    """Write the HTML debrief to `path` (directories created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(debrief), encoding="utf-8")
    return path
