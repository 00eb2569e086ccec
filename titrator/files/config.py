"""Site configuration: where the library, policy and audit logs live, and the site's limits.

Read from ``--config FILE``, else ``$TITRATOR_CONFIG``, else ``~/.config/titrator/config.toml``
(``$XDG_CONFIG_HOME`` respected) when it exists; otherwise the defaults below apply. Unknown keys
are refused like in product files.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from titrator.domain.library import PositiveDecimal
from titrator.domain.site import SiteLimits
from titrator.domain.validation_errors import problems_from_validation_error
from titrator.files.library import LibraryFileError, read_toml

DEFAULT_SITE_AT_RISK_CAP_MG_PER_KG_MIN = Decimal(2)


class AppConfig(BaseModel):
    """A site's configuration of titrator."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    station_id: Annotated[str, Field(min_length=1, max_length=64)] = "station"
    """Identifies the workstation in audit logs."""
    library_dirs: tuple[Path, ...] = ()
    """Directories of site product files, loaded with the shipped library."""
    policy_file: Path | None = None
    """The site's reaction policy file; the shipped default policy otherwise."""
    data_dir: Path | None = None
    """Where audit logs are written; a per-user default otherwise."""
    key_file: Path | None = None
    """HMAC key for the audit chain, kept outside the data directory (mode 0600)."""
    site_at_risk_cap_mg_per_kg_min: PositiveDecimal = DEFAULT_SITE_AT_RISK_CAP_MG_PER_KG_MIN
    """Cap for patients at risk of renal dysfunction or thrombosis, applied only to products whose
    label prints no numeric at-risk cap. Default 2 mg/kg/min: the most conservative numeric
    at-risk limit found in US IVIG labelling (Carimune NF: less than 2 mg/kg/min for renal and
    thrombosis risk). Set it to your local policy."""
    site_max_rate_ml_per_h: PositiveDecimal | None = None
    """A ceiling on every pump rate (some sites use 240 mL/h); none by default."""
    pump_resolution_ml_per_h: PositiveDecimal = Decimal("0.1")
    """Rates are rounded down to a multiple of this."""


def site_limits(config: AppConfig) -> SiteLimits:
    """The limits the configuration puts on every plan."""
    return SiteLimits(
        site_at_risk_cap_mg_per_kg_min=config.site_at_risk_cap_mg_per_kg_min,
        site_max_rate_ml_per_h=config.site_max_rate_ml_per_h,
        pump_resolution_ml_per_h=config.pump_resolution_ml_per_h,
    )


def config_path(explicit: Path | None = None) -> Path | None:
    """The configuration file to read, or None when there is none."""
    if explicit is not None:
        return explicit
    env = os.environ.get("TITRATOR_CONFIG")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = base / "titrator" / "config.toml"
    return candidate if candidate.is_file() else None


def load_config(explicit: Path | None = None) -> AppConfig:
    """Load the site configuration (defaults when no file exists).

    Raises:
        LibraryFileError: naming the file, field and value of every problem.
    """
    path = config_path(explicit)
    if path is None:
        return AppConfig()
    data = read_toml(path)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as error:
        hints = {"": list(AppConfig.model_fields)}
        raise LibraryFileError(path, problems_from_validation_error(error, hints)) from error
