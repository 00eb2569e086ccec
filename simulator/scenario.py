"""Training scenario files: a simulated patient, the infusion, scripted events, expected responses.

One TOML file per scenario in `simulator/scenarios/` (documented in docs/trainer/scenarios.md). The
models and vocabularies (`simulator.scenario_schema`, re-exported here) are frozen and reject
unknown keys; this module reads and finds the files, checks the cross-references between fields, and
`load_scenario` reports every problem as ``file: dotted.field: message (got value)``. The simulator
imports nothing from titrator, so the checks against the product library and the reaction policy
(product, indication, rule ids) are made by `titrator.training.scenarios`; the symptom and risk-
factor vocabularies are checked against the engine's by a test.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from simulator.scenario_schema import (
    REACTION_ACTIONS,
    RISK_FACTORS,
    SYMPTOM_IDS,
    VITAL_FIELDS,
    Action,
    Escalation,
    Event,
    Expectation,
    Infusion,
    LotChangeEvent,
    Patient,
    PumpFaultEvent,
    ReactionEvent,
    Scenario,
    Vitals,
    VitalsChange,
    VitalsCourse,
)

__all__ = [
    "REACTION_ACTIONS",
    "RISK_FACTORS",
    "SCENARIO_DIR",
    "SYMPTOM_IDS",
    "VITAL_FIELDS",
    "Action",
    "Escalation",
    "Event",
    "Expectation",
    "Infusion",
    "LotChangeEvent",
    "Patient",
    "PumpFaultEvent",
    "ReactionEvent",
    "Scenario",
    "ScenarioError",
    "ScenarioProblem",
    "Vitals",
    "VitalsChange",
    "VitalsCourse",
    "find_scenario",
    "load_scenario",
    "parse_scenario",
    "problems_of",
    "read_scenario_bytes",
    "reference_problems",
    "scenario_paths",
    "scenario_sha256",
]

SCENARIO_DIR: Final = Path(__file__).resolve().parent / "scenarios"
"""Where the bundled scenarios live."""


@dataclass(frozen=True)
class ScenarioProblem:
    """One thing wrong with a scenario file: the dotted field, what, and the value."""

    field: str
    message: str
    value: str | None = None

    def render(self, source: str) -> str:
        """``source: field: message (got value)``."""
        where = f"{source}: {self.field}" if self.field else source
        got = f" (got {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{got}"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; `lines()` names the file, field and value."""

    def __init__(self, path: Path, problems: list[ScenarioProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem."""
        return [problem.render(str(self.path)) for problem in self.problems]


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"reaction", "occlusion", "comms_loss", "power_reset", "lot_change"}:
            continue  # the union's tag pydantic puts in the location
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: Any) -> str | None:
    if isinstance(value, dict):
        return None  # a whole table: the message names the fields
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def problems_of(error: ValidationError) -> list[ScenarioProblem]:
    """Turn a pydantic error into scenario problems (dotted path, message, value)."""
    problems = []
    for item in error.errors(include_url=False):
        path = _dotted(tuple(item["loc"]))
        kind = item["type"]
        if kind == "extra_forbidden":
            problems.append(ScenarioProblem(path, "unknown key", _show(item["input"])))
        elif kind == "missing":
            problems.append(ScenarioProblem(path, "required field is missing"))
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(ScenarioProblem(path, message, _show(item.get("input"))))
    return problems


def parse_scenario(data: dict[str, Any], path: Path) -> Scenario:
    """Validate parsed TOML as a scenario (the id must match the file name).

    Raises:
        ScenarioError: naming the file, every bad field and its value.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(path, problems_of(error)) from error
    problems = reference_problems(scenario)
    if scenario.id != path.stem:
        problems.insert(
            0, ScenarioProblem("id", f"must match the file name {path.stem!r}", repr(scenario.id))
        )
    if problems:
        raise ScenarioError(path, problems)
    return scenario


def reference_problems(scenario: Scenario) -> list[ScenarioProblem]:
    """Ids used twice, and expectations whose `after` (or `slower_than`) names no such event."""
    problems = []
    seen: set[str] = set()
    for index, event in enumerate(scenario.events):
        if event.id in seen:
            problems.append(ScenarioProblem(f"events[{index}].id", "used twice", repr(event.id)))
        seen.add(event.id)
    known = {"open", "start", *seen}
    names: set[str] = set()
    for index, expectation in enumerate(scenario.expect):
        if expectation.id in names:
            problems.append(
                ScenarioProblem(f"expect[{index}].id", "used twice", repr(expectation.id))
            )
        names.add(expectation.id)
        if expectation.after not in known:
            problems.append(
                ScenarioProblem(
                    f"expect[{index}].after",
                    "no such event (use 'open', 'start' or an event id)",
                    repr(expectation.after),
                )
            )
        slower = expectation.slower_than
        if slower is not None and not any(
            event.id == slower and event.kind == "reaction" for event in scenario.events
        ):
            problems.append(
                ScenarioProblem(
                    f"expect[{index}].slower_than", "no such reaction event", repr(slower)
                )
            )
    return problems


def read_scenario_bytes(path: Path) -> bytes:
    """The file's bytes (for its SHA-256), or a ScenarioError."""
    try:
        return path.read_bytes()
    except OSError as error:
        problem = ScenarioProblem("", f"cannot read file: {error.strerror or error}")
        raise ScenarioError(path, [problem]) from error


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file.

    Raises:
        ScenarioError: unreadable, not UTF-8 TOML, or invalid (every problem named).
    """
    raw = read_scenario_bytes(path)
    if not raw.strip():
        raise ScenarioError(path, [ScenarioProblem("", "file is empty")])
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as error:
        raise ScenarioError(
            path, [ScenarioProblem("", f"not UTF-8 (byte {error.start})")]
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(path, [ScenarioProblem("", f"not valid TOML: {error}")]) from error
    return parse_scenario(data, path)


def scenario_sha256(path: Path) -> str:
    """SHA-256 of the file (recorded in the training log)."""
    return hashlib.sha256(read_scenario_bytes(path)).hexdigest()


def scenario_paths(directory: Path = SCENARIO_DIR) -> list[Path]:
    """Every scenario file in `directory`, sorted by name."""
    return sorted(p for p in directory.glob("*.toml") if p.is_file())


def find_scenario(name: str, directory: Path = SCENARIO_DIR) -> Path:
    """A scenario by id (file stem in `directory`) or by path.

    Raises:
        KeyError: no such scenario.
    """
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    path = directory / f"{name}.toml"
    if path.is_file():
        return path
    raise KeyError(name)
