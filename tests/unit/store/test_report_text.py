"""The ward reports' text layout: 80 columns, long cells wrapped, nothing lost."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from titrator.store.reports import Column, Report

COLUMNS = (
    Column("nurse_id", "nurse"),
    Column("reason", "reason"),
    Column("count", "attempts", right=True),
    Column("refusal", "refused because"),
    Column("policy_sha256", "policy"),
)

words = st.text(alphabet="abcdefghij -:()0123456789", min_size=0, max_size=160)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "nurse_id": words,
                "reason": words,
                "count": st.integers(min_value=0, max_value=10**9),
                "refusal": words,
                "policy_sha256": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_text_fits_80_columns_and_keeps_every_word(rows: list[dict[str, object]]) -> None:
    report = Report("refusals", "Hard-limit attempts", COLUMNS, list(rows))

    lines = report.lines()

    assert max(len(line) for line in lines) <= 80
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[2])]
    assert len(spans) == len(COLUMNS)
    body = [line.ljust(80) for line in lines[3:]]
    for n, column in enumerate(COLUMNS):
        start, end = spans[n]
        shown = "".join(line[start:end] for line in body).replace(" ", "")
        cells = [str(row[column.key]) for row in rows]
        if column.key == "policy_sha256":
            cells = [cell[:12] for cell in cells]  # a sha256 shows its first 12 digits
        assert shown == "".join(cells).replace(" ", "")  # wrapped, never cut


def test_no_rows_says_so() -> None:
    report = Report("overrides", "Overrides", COLUMNS, [], ("a note",))
    assert report.lines() == ["Overrides", "  (no rows)", "a note"]
