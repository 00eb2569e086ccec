"""Clinical values and the bundled files every layer of the suite uses: vitals, library, policy."""

from __future__ import annotations

from functools import cache

from titrator.domain.policy import Policy
from titrator.files.library import Library, load_library
from titrator.files.policy import LoadedPolicy, load_policy

NORMAL: dict[str, str] = {
    "temp_c": "36.8",
    "hr_bpm": "76",
    "sbp_mmhg": "122",
    "dbp_mmhg": "78",
    "rr_bpm": "16",
    "spo2_pct": "98",
}
"""A normal adult vitals set, as typed (the engine's and the app's form fields)."""

FEVER: dict[str, str] = {**NORMAL, "temp_c": "38.1", "hr_bpm": "96"}
"""A temperature of 38.1 °C (TEMP-ABS-38 and a rise of more than 1 °C: mild, pause)."""


@cache
def library() -> Library:
    """The bundled product library (loaded once per worker)."""
    return load_library()


@cache
def loaded_policy() -> LoadedPolicy:
    """The bundled default policy as loaded: the policy, its SHA-256 and where it came from."""
    return load_policy()


def policy() -> tuple[Policy, str]:
    """The bundled default policy and its SHA-256 (loaded once per worker)."""
    loaded = loaded_policy()
    return loaded.policy, loaded.sha256


POLICY: Policy = policy()[0]
"""The bundled default policy."""
