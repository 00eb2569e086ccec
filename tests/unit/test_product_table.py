"""The product tables (docs/admin/library.md, and the README's short one) cannot drift.

They show, per product and indication (the README: per product), the planned duration of a
usual and of a first infusion for 70 kg at 0.4 g/kg, generated from the shipped library by
scripts/write_product_table.py.
"""

import re
import subprocess
import sys

from tests.support.paths import ROOT

PAGE = ROOT / "docs" / "admin" / "library.md"
ROW = re.compile(r"^\| `([a-z0-9-]+)` \| .* \| (\d+ h \d\d min|n/a) \| (\d+ h \d\d min|n/a) \|$")


def test_the_product_table_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "write_product_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _rows() -> list[tuple[str, str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- product-table -->", 1)[1].split("<!-- /product-table -->", 1)[0]
    rows = [m.groups() for line in table.splitlines() if (m := ROW.match(line))]
    return [(pid, usual, first) for pid, usual, first in rows]


def _minutes(text: str) -> int:
    hours, minutes = re.findall(r"\d+", text)
    return int(hours) * 60 + int(minutes)


def test_the_table_shows_both_durations_and_first_infusions_are_longer() -> None:
    rows = _rows()
    assert {pid for pid, _, _ in rows} >= {"privigen", "gamunex-c", "gammagard-liquid", "qivigy"}
    shown = [(u, f) for _, u, f in rows if "n/a" not in (u, f)]
    assert len(shown) >= 12
    assert all(_minutes(first) > _minutes(usual) for usual, first in shown)


def test_the_readme_links_the_product_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/admin/library.md#the-products-and-their-first-infusions)" in readme
    assert "## The products and their first infusions" in PAGE.read_text(encoding="utf-8")


README_ROW = re.compile(
    r"^\| ([^|]+) \| ([A-Z]+) \| (\d+ h \d\d min|n/a) \| (\d+ h \d\d min|n/a) \|$"
)


def test_the_readme_table_shows_both_durations_for_every_product() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- product-durations -->", 1)[1].split("<!-- /product-durations", 1)[0]
    rows = [m.groups() for line in table.splitlines() if (m := README_ROW.match(line))]
    assert len(rows) == len({pid for pid, _, _ in _rows()})  # one row per shipped product
    assert all(_minutes(first) > _minutes(usual) for _, _, usual, first in rows)
