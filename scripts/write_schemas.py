"""Write the JSON schemas of the data files (protocols/) and of the audit record (docs/).

Run after changing a model: ``.venv/bin/python scripts/write_schemas.py``. With ``--check`` it
writes nothing and exits 1 if a committed schema is stale (a test runs that).

The audit record schema (`docs/integrator/audit-record.schema.json`, JSON Schema 2020-12) is
the v3 envelope with one payload schema per record kind: the engine's events and the training
records from their pydantic models, and the records the audit writer and the app build as
plain dicts (`log_opened`, `pump_wire`, `manual_pump` ...) from `NON_MODEL_PAYLOADS` below,
which mirrors the code that builds them (tests validate real logs against the result).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter

from titrator.domain.events import AuditEvent
from titrator.domain.library import Product
from titrator.domain.site_indications import SiteIndicationFile
from titrator.training.records import TrainingRecord

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS: dict[Path, type[BaseModel]] = {
    ROOT / "protocols" / "products" / "schema.json": Product,
    ROOT / "protocols" / "site-examples" / "schema.json": SiteIndicationFile,
}
SCHEMA_IDS: dict[type[BaseModel], str] = {
    Product: "https://titrator.invalid/schemas/product.json",
    SiteIndicationFile: "https://titrator.invalid/schemas/site-indications.json",
}


AUDIT_SCHEMA = ROOT / "docs" / "integrator" / "audit-record.schema.json"
AUDIT_SCHEMA_ID = "https://titrator.invalid/schemas/audit-record-v3.json"

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TEXT = {"type": "string"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": sorted(required),
        "additionalProperties": False,
    }


NON_MODEL_PAYLOADS: dict[str, dict[str, Any]] = {
    # titrator/audit/writer.py (`software_version` on all three) and audit/recovery.py
    "log_opened": _object({"software_version": _TEXT}),
    "log_resumed": _object({"software_version": _TEXT, "after_seq": {"type": ["integer", "null"]}}),
    "log_recovered": _object(
        {
            "software_version": _TEXT,
            "after_seq": {"type": ["integer", "null"]},
            "quarantine_file": _TEXT,
            "torn_bytes": {"type": "integer", "minimum": 0},
            "torn_sha256": _HEX64,
        }
    ),
    # titrator/shell/controller.py wire_record (a titrator.pump.base.WireRecord)
    "pump_wire": _object(
        {
            "direction": {"enum": ["tx", "rx"]},
            "data_hex": _TEXT,
            "monotonic_ms": {"type": "integer"},
            "requester": _TEXT,
            "reason": _TEXT,
            "command": _TEXT,
            "note": _TEXT,
        }
    ),
    # titrator/tui/reconnect.py reconnect_record
    "pump_reconnect": _object(
        {
            "requester": _TEXT,
            "outcome": {"enum": ["requested", "refused", "connected", "failed"]},
            "detail": _TEXT,
        }
    ),
    # titrator/tui/manual_instructions.py answer_record
    "manual_pump": _object(
        {
            "instruction_id": {"type": "integer"},
            "action": {"enum": ["set_rate", "start", "stop", "set_vtbi", "read_status"]},
            "instruction": _TEXT,
            "ordered_ml_per_h": {"type": ["string", "null"]},
            "nurse": _TEXT,
            "choice": {"enum": ["confirmed", "declined"]},
            "typed_rate": {"type": ["string", "null"]},
            "infusing": {"type": ["boolean", "null"]},
            "note": _TEXT,
        }
    ),
}
WRITER_CLOSE = _object({"closed_by": {"const": "audit_writer"}, "reason": _TEXT})
"""`session_closed` written by `AuditWriter.close()` without an engine event."""


def _members(union: Any) -> list[type[BaseModel]]:
    return list(get_args(get_args(union)[0]))


def audit_record_schema() -> dict[str, Any]:
    """The v3 record: envelope, then the payload's schema chosen by `kind`."""
    defs: dict[str, Any] = {}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    unions: tuple[Any, ...] = (AuditEvent, TrainingRecord)
    for union in unions:
        adapter: TypeAdapter[Any] = TypeAdapter(union)
        schema = adapter.json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.get("$defs", {}))
        for model in _members(union):
            kind = str(model.model_fields["kind"].default)
            name = model.__name__
            definition = defs[name]
            definition["properties"].pop("kind", None)
            if "required" in definition:
                definition["required"] = [f for f in definition["required"] if f != "kind"]
            by_kind.setdefault(kind, []).append({"$ref": f"#/$defs/{name}"})
    for kind, payload in NON_MODEL_PAYLOADS.items():
        by_kind.setdefault(kind, []).append(payload)
    by_kind["session_closed"].append(WRITER_CLOSE)
    rules = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {
                "properties": {"payload": choices[0] if len(choices) == 1 else {"anyOf": choices}}
            },
        }
        for kind, choices in sorted(by_kind.items())
    ]
    envelope = {
        "v": {"const": 3},
        "seq": {"type": "integer", "minimum": 0},
        "ts": {"type": "string", "format": "date-time"},
        "mono": {"type": "integer", "minimum": 0},
        "session_id": _TEXT,
        "station_id": _TEXT,
        "nurse_id": _TEXT,
        "kind": {"enum": sorted(by_kind)},
        "payload": {"type": "object"},
        "prev_hash": _HEX64,
        "hash": _HEX64,
    }
    keyed = {"key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "prev_mac": _HEX64,
             "mac": _HEX64}  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": AUDIT_SCHEMA_ID,
        "title": "titrator audit record, envelope v3",
        "description": (
            "One line of a titrator audit log (docs/integrator/audit-log.md). Generated by "
            "scripts/write_schemas.py from the event models; do not edit."
        ),
        **_object(envelope, keyed),
        "dependentRequired": {
            "key_id": ["prev_mac", "mac"],
            "prev_mac": ["key_id", "mac"],
            "mac": ["key_id", "prev_mac"],
        },
        "allOf": rules,
        "$defs": defs,
    }


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(model: type[BaseModel]) -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    schema = model.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_IDS[model]
    return _dump(schema)


def main(argv: list[str]) -> int:
    """Write every schema (or, with --check, report the stale ones)."""
    check = "--check" in argv
    stale = 0
    texts = {path: render(model) for path, model in SCHEMAS.items()}
    texts[AUDIT_SCHEMA] = _dump(audit_record_schema())
    for path, text in texts.items():
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
