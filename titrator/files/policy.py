"""Reading reaction policy files from disk into validated `Policy` models.

The shipped default is ``protocols/policy/default.toml`` (``titrator/_protocols`` in a wheel). A
site may pass its own file. The file is read with the same strict TOML reader as product files
(UTF-8, no BOM, numbers as Decimal), and every problem names the file, the dotted field path and
the offending value; a broken policy refuses to load (fail closed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from titrator.domain.policy import Policy
from titrator.domain.validation_errors import problems_from_validation_error
from titrator.files.library import LibraryFileError, protocols_dir, read_toml

DEFAULT_POLICY_NAME = "default.toml"


class PolicyFileError(LibraryFileError):
    """A policy file that may not be used, with every problem found in it."""


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A validated policy and where it came from.

    Attributes:
        policy: the validated model.
        path: the file it was read from.
        sha256: hex digest of the file's bytes (recorded with each session).
    """

    policy: Policy
    path: Path
    sha256: str


def default_policy_path() -> Path:
    """The shipped default policy file."""
    return protocols_dir() / "policy" / DEFAULT_POLICY_NAME


def policy_dir_files() -> list[Path]:
    """Every shipped policy file (``protocols/policy/*.toml``), sorted by name."""
    return sorted((protocols_dir() / "policy").glob("*.toml"))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()):
        found.extend(_models_in(arg))
    return found


def _allowed_keys(model: type[BaseModel], prefix: str, data: Any) -> dict[str, list[str]]:
    """Field names allowed at each dotted path present in `data` (for 'did you mean')."""
    allowed = {prefix: list(model.model_fields)}
    if not isinstance(data, dict):
        return allowed
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        child = data.get(name)
        items = enumerate(child) if isinstance(child, list) else [(None, child)]
        for index, item in items:
            item_path = path if index is None else f"{path}[{index}]"
            for sub in _models_in(info.annotation):
                tag = item.get("type") if isinstance(item, dict) else None
                sub_prefix = f"{item_path}.{tag}" if isinstance(tag, str) else item_path
                sub_keys = _allowed_keys(sub, sub_prefix, item)
                for key, names in sub_keys.items():
                    allowed.setdefault(key, [])
                    allowed[key] = sorted({*allowed[key], *names})
    return allowed


def parse_policy(data: dict[str, Any], path: Path) -> Policy:
    """Validate parsed TOML as a policy.

    Raises:
        PolicyFileError: every problem, each with its dotted field path and value.
    """
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        hints = _allowed_keys(Policy, "", data)
        raise PolicyFileError(path, problems_from_validation_error(error, hints)) from error


def load_policy(path: Path | None = None) -> LoadedPolicy:
    """Read and validate a policy file (the shipped default when `path` is None).

    Raises:
        PolicyFileError: if the file cannot be read, is not strict UTF-8 TOML, or is invalid.
    """
    source = path if path is not None else default_policy_path()
    try:
        data = read_toml(source)
    except LibraryFileError as error:
        raise PolicyFileError(error.path, error.problems) from error
    policy = parse_policy(data, source)
    return LoadedPolicy(policy, source, hashlib.sha256(source.read_bytes()).hexdigest())
