"""Write the JSON schema of the product file (and any other data file models) into protocols/.

Run after changing a model: ``.venv/bin/python scripts/write_schemas.py``. With ``--check`` it
writes nothing and exits 1 if a committed schema is stale (a test runs that).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from titrator.domain.library import Product

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {ROOT / "protocols" / "products" / "schema.json": Product}


def render(model: type[Product]) -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    schema = model.model_json_schema(mode="validation")
    schema["$id"] = "https://titrator.invalid/schemas/product.json"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write every schema (or, with --check, report the stale ones)."""
    check = "--check" in argv
    stale = 0
    for path, model in SCHEMAS.items():
        text = render(model)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale += 1
            if check:
                print(f"stale: {path.relative_to(ROOT)} (run scripts/write_schemas.py)")
            else:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
