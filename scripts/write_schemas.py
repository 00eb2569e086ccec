"""Write the JSON schema of the product file (and any other data file models) into protocols/.

Run after changing a model: ``.venv/bin/python scripts/write_schemas.py``. With ``--check`` it
writes nothing and exits 1 if a committed schema is stale (a test runs that).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from titrator.domain.library import Product
from titrator.domain.site_indications import SiteIndicationFile

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS: dict[Path, type[BaseModel]] = {
    ROOT / "protocols" / "products" / "schema.json": Product,
    ROOT / "protocols" / "site-examples" / "schema.json": SiteIndicationFile,
}
SCHEMA_IDS: dict[type[BaseModel], str] = {
    Product: "https://titrator.invalid/schemas/product.json",
    SiteIndicationFile: "https://titrator.invalid/schemas/site-indications.json",
}


def render(model: type[BaseModel]) -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    schema = model.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_IDS[model]
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
