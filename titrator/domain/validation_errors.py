"""Clinician-readable problems from pydantic validation and from semantic checks of data files.

Every problem names the dotted field path (``indications.pi.ladder.rates[2]``), what is wrong
and the offending value, so a clinician editing a product or policy file can find and fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a data file.

    Attributes:
        path: dotted field path, '' for the whole file.
        message: what is wrong, in plain language.
        value: the offending value as text, or None when there is none (a missing field).
    """

    path: str
    message: str
    value: str | None = None

    def render(self, source: str) -> str:
        """One line: ``source: path: message (got value)``."""
        where = f"{source}: {self.path}" if self.path else source
        got = f" (got {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{got}"


def dotted(loc: Sequence[int | str]) -> str:
    """Turn a pydantic location tuple into ``a.b[2].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _known_fields(model_fields: Iterable[str] | None, name: str) -> str:
    if not model_fields:
        return ""
    close = difflib.get_close_matches(name, list(model_fields), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def problems_from_validation_error(
    error: ValidationError, allowed_keys: Mapping[str, Iterable[str]] | None = None
) -> list[Problem]:
    """Convert a pydantic `ValidationError` into `Problem` lines.

    Args:
        error: the validation error.
        allowed_keys: optional map from a dotted parent path to the field names allowed there,
            used to suggest the intended key when an unknown key is found.
    """
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = dotted(loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            parent = dotted(loc[:-1])
            hint = _known_fields((allowed_keys or {}).get(parent), str(loc[-1]))
            problems.append(Problem(path, f"unknown key{hint}", _show(item["input"])))
        elif kind == "missing":
            problems.append(Problem(path, "required field is missing"))
        else:
            message = str(item["msg"])
            # pydantic prefixes custom errors with "Value error, "; clinicians do not need it.
            message = message.removeprefix("Value error, ")
            problems.append(Problem(path, message, _show(item.get("input"))))
    return problems
