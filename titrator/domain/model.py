"""The base of every model of a file, an event or a decision: immutable, unknown keys refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable pydantic model that refuses unknown keys (design.md, "Conventions")."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentedFrozen(Frozen):
    """A `Frozen` model whose attribute docstrings become its fields' descriptions.

    The product library uses it so that the generated JSON schema explains every field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
