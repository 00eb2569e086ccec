"""Plan words the command line needs before anything is planned (no pydantic, no library).

`titrator --help` prints the disclaimer and the `--sex` choices; keeping them here lets it start
without importing the models (issue 17: help faster than `import textual`).
"""

from __future__ import annotations

from enum import StrEnum

DISCLAIMER = (
    "titrator supports decisions; it does not replace the prescriber's order, "
    "the product label or local policy."
)


class Sex(StrEnum):
    """Sex used by the ideal-body-weight formula."""

    FEMALE = "female"
    MALE = "male"
