"""The README and the documentation site: short README, working links, quick start kept in CI.

The README is written by hand (it is no longer generated from docs/). `scripts/check` also
builds the site with `mkdocs build --strict`, which checks the links and anchors inside docs/;
these tests check what mkdocs does not see (the README) and what the pages must say.
"""

import re
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from titrator.domain.events import AUDIT_KINDS

README = ROOT / "README.md"
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "developer" / "architecture.md"
AUDIT_FORMAT = DOCS / "integrator" / "audit-log.md"
DISCLAIMER = (
    "titrator supports decisions; it does not replace the prescriber's order, "
    "the product label or local policy."
)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def quick_start(text: str) -> list[str]:
    block = text.split("<!-- quick-start -->", 1)[1].split("<!-- /quick-start -->", 1)[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "```sh"
    assert lines[-1] == "```"
    return [line for line in lines[1:-1] if line]


def relative_links(path: Path) -> list[str]:
    """Link targets in a Markdown file, outside code blocks, that point into the repository."""
    prose = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [
        target
        for target in LINK.findall(prose)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: ...
    ]


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(path):
        file_part = target.split("#", 1)[0]
        if file_part and not (path.parent / file_part).exists():
            broken.append(target)
    return broken


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_the_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start(readme_text())
    assert len(commands) == 2
    assert all(
        command.startswith("python3 -m venv .venv && .venv/bin/pip install") for command in commands
    )


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quick_start(readme_text())[1] in ci


def test_the_site_shows_the_same_quick_start() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for command in quick_start(readme_text()):
        assert command in index.splitlines()


def test_the_readme_states_the_decision_support_disclaimer_once() -> None:
    flat = " ".join(readme_text().split())
    assert flat.count(DISCLAIMER) == 1


def test_the_readme_is_short() -> None:
    assert len(readme_text().splitlines()) <= 200


def test_the_readme_says_logs_and_exports_hold_patient_identifiers() -> None:
    flat = " ".join(readme_text().split())
    assert re.search(r"logs and every export[^.]*hold patient identifiers", flat)


def test_the_readme_screen_capture_fits_80x24() -> None:
    blocks = re.findall(r"^```text\n(.*?)^```", readme_text(), re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1
    lines = blocks[0].splitlines()
    assert 0 < len(lines) <= 24
    assert max(len(line) for line in lines) <= 80
    assert any("F9 STOP" in line for line in lines)


def test_every_readme_link_resolves() -> None:
    links = relative_links(README)
    assert len(links) >= 10, "the README links into the documentation site"
    assert broken_links(README) == []


@pytest.mark.parametrize("page", doc_pages(), ids=lambda page: str(page.relative_to(DOCS)))
def test_every_docs_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_every_docs_page_is_in_the_site_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "docs_dir: docs" in config
    missing = [
        str(page.relative_to(DOCS))
        for page in doc_pages()
        if f" {page.relative_to(DOCS).as_posix()}\n" not in config
    ]
    assert missing == []


def test_the_architecture_page_names_every_package() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    packages = sorted(
        init.parent.relative_to(ROOT).as_posix()
        for init in (ROOT / "titrator").rglob("__init__.py")
    )
    assert "titrator/domain" in packages
    unnamed = [package for package in packages[1:] if f"{package}/" not in text]
    assert packages[0] == "titrator"
    assert unnamed == [], "add these packages to docs/developer/architecture.md"


def test_the_audit_format_page_names_every_record_kind() -> None:
    text = AUDIT_FORMAT.read_text(encoding="utf-8")
    writer_and_app_kinds = {
        "log_opened",
        "log_resumed",
        "log_recovered",
        "pump_wire",
        "pump_reconnect",
        "training_scenario",
        "training_event",
    }
    missing = sorted(kind for kind in AUDIT_KINDS | writer_and_app_kinds if f"`{kind}`" not in text)
    assert missing == []
