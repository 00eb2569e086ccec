"""Build README.md from the documents in docs/ (the single source of the user documentation).

Run after editing a document: ``.venv/bin/python scripts/build_readme.py``. With ``--check`` it
writes nothing and exits 1 if README.md is stale (a test runs that).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = (
    "intro.md",
    "app.md",
    "cli.md",
    "library.md",
    "simulate.md",
    "audit.md",
    "pump.md",
    "training.md",
    "review.md",
    "development.md",
)
NOTICE = "<!-- Generated from docs/*.md by scripts/build_readme.py: edit those files. -->\n"


def render() -> str:
    """The README: the parts in order, separated by one blank line."""
    texts = [(ROOT / "docs" / name).read_text(encoding="utf-8").strip() for name in PARTS]
    intro, rest = texts[0], texts[1:]
    title, _, body = intro.partition("\n")
    return "\n\n".join([f"{title}\n{NOTICE}{body.strip()}", *rest]) + "\n"


def main(argv: list[str]) -> int:
    """Write README.md (or, with --check, report whether it is stale)."""
    text = render()
    readme = ROOT / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if current == text:
        return 0
    if "--check" in argv:
        print("stale: README.md (run scripts/build_readme.py)")
        return 1
    readme.write_text(text, encoding="utf-8")
    print("wrote README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
