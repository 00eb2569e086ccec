"""Write protocols/policy/schema.json from the Policy model (run after changing the model).

Usage: .venv/bin/python scripts/write_policy_schema.py [--check]
With --check, exit 1 if the committed schema is stale instead of writing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from titrator.domain.policy import Policy

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "protocols" / "policy" / "schema.json"


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    schema = Policy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "titrator reaction policy"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is stale: run scripts/write_policy_schema.py")
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
