"""The `titrator simulate` script format: parsing and validating its JSON lines.

One JSON object per line (docs/admin/simulate.md): `t_min` and exactly one input (vitals, symptoms,
severity, decision, lot, pause, stop). A `severity` line grades the free text ("other") of the
symptom checklist recorded last: the engine asks for that grade before it decides on free text.
`parse_line` checks a line's shape, its time and its vitals or symptom values against the policy;
`override_reason` reads a decision's reason; `script_lines` picks the lines to parse out of a
stream (skipping blanks and # comments); `parse_script` reads a whole script, one validated line
at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

from titrator.domain.clock import MS_PER_MIN
from titrator.domain.decisions import OverrideReason
from titrator.domain.policy import Policy, Severity
from titrator.domain.units import InputError, decimal_bound_problem
from titrator.domain.vitals import VitalsError, parse_symptoms, parse_vitals

ORIGIN_MONO_MS = 24 * 60 * MS_PER_MIN
"""Monotonic reading at t_min = 0 (a day in, so negative t_min stay non-negative)."""
INPUT_KEYS = ("vitals", "symptoms", "severity", "decision", "lot", "pause", "stop")
SEVERITIES = tuple(s.value for s in Severity)


class ScriptError(ValueError):
    """A malformed or out-of-range script line.

    Attributes:
        line: 1-based line number.
        field: the field at fault.
    """

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(f"line {line}: {field}: {reason}")
        self.line = line
        self.field = field


@dataclass(frozen=True)
class ScriptLine:
    """One validated script line."""

    number: int
    t_ms: int
    data: dict[str, Any]


_MAX_INT_TEXT = 64
"""Longest JSON integer read (longer ones are refused before Python converts them)."""


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_INT_TEXT:
        raise ValueError(f"a number with {len(text)} digits is too long")
    return int(text)


def _raw_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    return None


def parse_line(number: int, text: str, policy: Policy, last_ms: int | None) -> ScriptLine:
    """Validate one script line (shape, time, and vitals/symptoms values).

    Raises:
        ScriptError: naming the line and the field.
    """
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise ScriptError(number, "line", f"not valid JSON ({error.msg})") from error
    except ValueError as error:  # an integer too long to read (a JSON number of 5,000 digits)
        raise ScriptError(number, "line", str(error)) from error
    if not isinstance(data, dict):
        raise ScriptError(number, "line", "each line must be a JSON object")
    t_min = data.get("t_min")
    if isinstance(t_min, bool) or not isinstance(t_min, int | Decimal):
        raise ScriptError(number, "t_min", "a number of minutes is required")
    problem = decimal_bound_problem(Decimal(t_min))  # bounded before any arithmetic
    if problem is not None:
        raise ScriptError(number, "t_min", f"{problem} (got {str(t_min)[:40]!r})")
    t_ms = ORIGIN_MONO_MS + int(Decimal(t_min) * MS_PER_MIN)
    if t_ms < 0:
        raise ScriptError(number, "t_min", "too far before the start")
    if last_ms is not None and t_ms < last_ms:
        raise ScriptError(number, "t_min", "time must not go backwards")
    present = [key for key in INPUT_KEYS if key in data]
    if "symptoms" in present and "severity" in present:  # there it grades the 'other' text
        present.remove("severity")
    if len(present) != 1:
        raise ScriptError(number, "line", f"exactly one of {', '.join(INPUT_KEYS)} is required")
    key = present[0]
    extra = {"decision": {"reason", "note"}, "symptoms": {"other", "severity"}}
    allowed = {"t_min", key} | extra.get(key, set())
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScriptError(number, unknown[0], "unknown key")
    _check_input(number, key, data, policy)
    return ScriptLine(number, t_ms, data)


def _check_input(number: int, key: str, data: dict[str, Any], policy: Policy) -> None:
    value = data[key]
    if key == "vitals":
        if not isinstance(value, dict):
            raise ScriptError(number, "vitals", "an object of field: value is required")
        raw: dict[str, str] = {}
        for name, item in value.items():
            text = _raw_text(item)
            if text is None:
                raise ScriptError(number, f"vitals.{name}", "a number or a string is required")
            raw[name] = text
        try:
            parse_vitals(raw, policy.monitoring.required_vitals)
        except VitalsError as error:
            first = error.errors[0]
            got = f" (got {first.raw!r})" if first.raw else ""
            raise ScriptError(number, f"vitals.{first.field}", first.reason + got) from error
        data[key] = raw
    elif key == "symptoms":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScriptError(number, "symptoms", "a list of symptom ids is required")
        try:
            parse_symptoms(value)
        except InputError as error:
            raise ScriptError(number, "symptoms", f"{error.reason} (got {error.raw!r})") from error
        if not isinstance(data.get("other", ""), str):
            raise ScriptError(number, "other", "free text is required")
        if "severity" in data:
            _check_severity(number, data["severity"])
            if not str(data.get("other", "")).strip():
                raise ScriptError(number, "severity", "grades the 'other' free text: none given")
    elif key == "severity":
        _check_severity(number, value)
    elif key == "decision":
        if value not in ("accept", "override"):
            raise ScriptError(number, "decision", "must be 'accept' or 'override'")
        if value == "override" and not str(data.get("reason", "")).strip():
            raise ScriptError(number, "reason", "an override needs a reason")
    elif not isinstance(value, str) or not value.strip():
        raise ScriptError(number, key, "a non-empty string is required")


def _check_severity(number: int, value: object) -> None:
    if value not in SEVERITIES:
        got = f" (got {value!r})"
        raise ScriptError(number, "severity", f"must be one of {', '.join(SEVERITIES)}{got}")


def override_reason(text: str, note: str = "") -> tuple[OverrideReason, str]:
    """'prescriber_order', 'prescriber_order: Dr A', or free text (reason 'other')."""
    code, _, rest = text.partition(":")
    known = {r.value: r for r in OverrideReason}
    if code.strip() in known:
        return known[code.strip()], " ".join(p for p in (rest.strip(), note.strip()) if p)
    return OverrideReason.OTHER, " ".join(p for p in (text.strip(), note.strip()) if p)


def script_lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line that is not blank or a # comment."""
    for number, text in enumerate(stream, start=1):
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def parse_script(stream: TextIO, policy: Policy) -> Iterator[ScriptLine]:
    """Every line of a script, validated as it is read (for `Runner.run`).

    Args:
        stream: the script (JSON lines; blank lines and # comments are skipped).
        policy: the reaction policy the vitals and symptoms are checked against.

    Yields:
        Each line, once it is valid, so the lines before a bad one can run first.

    Raises:
        ScriptError: at the first bad line, naming the line and the field.
    """
    last_ms: int | None = None
    for number, text in script_lines(stream):
        line = parse_line(number, text, policy, last_ms)
        last_ms = line.t_ms
        yield line
