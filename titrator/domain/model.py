"""The base of every model of a file, an event or a decision: immutable, unknown keys refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class Frozen(BaseModel):
    """An immutable pydantic model that refuses unknown keys (design.md, "Conventions")."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentedFrozen(Frozen):
    """A `Frozen` model whose attribute docstrings become its fields' descriptions.

    The product library uses it so that the generated JSON schema explains every field. The
    docstrings are read from the source only when a JSON schema is made: pydantic's
    ``use_attribute_docstrings`` parses every model's source file at import, which was 22 ms
    of a 111 ms import of the library and config (issue 17), paid by every `titrator plan`.
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The schema pydantic makes, each field given its attribute docstring as description."""
        # pydantic's own extractor, the one ``use_attribute_docstrings`` calls.
        from pydantic._internal._docs_extraction import extract_docstrings_from_cls

        schema = handler(core_schema)
        target: dict[str, Any] = handler.resolve_ref_schema(schema)
        properties: dict[str, dict[str, Any]] = target.get("properties", {})
        docs: dict[str, str] = {}
        for klass in reversed(cls.__mro__):  # inherited fields keep their own docstrings
            if issubclass(klass, DocumentedFrozen) and klass is not DocumentedFrozen:
                docs.update(extract_docstrings_from_cls(klass, use_inspect=True))
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if name in docs and key in properties and field.description is None:
                properties[key]["description"] = docs[name]
        return schema
