"""Site configuration: where the library, policy and audit logs live, and the site's limits.

Two files, read in order, the second overriding the first field by field:

1. the machine-wide file, ``/etc/titrator/config.toml`` (``$TITRATOR_SYSTEM_CONFIG`` names
   another; set to the empty string, none is read), when it exists: a shared ward workstation
   sets the shared data directory, the station, the ward and the store there;
2. the user's: ``--config FILE``, else ``$TITRATOR_CONFIG``, else
   ``~/.config/titrator/config.toml`` (``$XDG_CONFIG_HOME`` respected) when it exists.

Fields neither sets keep the defaults below. Each file is checked on its own, so an error
names the file that holds the bad field. Unknown keys are refused like in product files.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from titrator.domain.library import PositiveDecimal
from titrator.domain.site import SiteLimits
from titrator.domain.validation_errors import problems_from_validation_error
from titrator.files.library import LibraryFileError, read_toml

DEFAULT_SITE_AT_RISK_CAP_MG_PER_KG_MIN = Decimal(2)
DEFAULT_SITE_MAX_DOSE_G_PER_KG = Decimal(2)


PLACEHOLDER_PATIENT_ID_SYSTEM_1 = "urn:titrator:site:patient-id-1"
"""Placeholder FHIR system of patient identifier 1: replace it with your EHR's."""
PLACEHOLDER_PATIENT_ID_SYSTEM_2 = "urn:titrator:site:patient-id-2"
"""Placeholder FHIR system of patient identifier 2: replace it with your EHR's."""
PLACEHOLDER_ORDER_ID_SYSTEM = "urn:titrator:site:order-id"
"""Placeholder FHIR system of order numbers: replace it with your EHR's."""

FhirSystem = Annotated[
    str, Field(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s|]+$", min_length=3, max_length=255)
]
"""An absolute URI naming an identifier system (no spaces, no '|': it goes in a search)."""


class AppConfig(BaseModel):
    """A site's configuration of titrator."""

    # No use_attribute_docstrings: nothing reads these descriptions, and pydantic would parse
    # this file's source on every start (issue 17). The docstrings document the fields here.
    model_config = ConfigDict(frozen=True, extra="forbid")

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
    spool_dir: Path | None = None
    """Where records go (fsynced, in chain order) while the audit log cannot be written, such as
    on a full disk; merged back into the log when it can be written again or on resume. Put it
    on another file system than `data_dir`. Default `$XDG_STATE_HOME/titrator/spool`
    (`~/.local/state/titrator/spool`)."""
    site_at_risk_cap_mg_per_kg_min: PositiveDecimal = DEFAULT_SITE_AT_RISK_CAP_MG_PER_KG_MIN
    """Cap for patients at risk of renal dysfunction or thrombosis, applied only to products whose
    label prints no numeric at-risk cap. Default 2 mg/kg/min: the most conservative numeric
    at-risk limit found in US IVIG labelling (Carimune NF: less than 2 mg/kg/min for renal and
    thrombosis risk). Set it to your local policy."""
    site_max_rate_ml_per_h: PositiveDecimal | None = None
    """A ceiling on every pump rate (some sites use 240 mL/h); none by default."""
    pump_resolution_ml_per_h: PositiveDecimal = Decimal("0.1")
    """Rates are rounded down to a multiple of this."""
    ward: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The ward this workstation belongs to, recorded with every session shipped to the store."""
    ward_db: Annotated[str, Field(min_length=1)] | None = None
    """The ward store (`sqlite:///PATH`, a file path, or `postgresql://...`) that `titrator
    ship` sends verified logs to; `<data dir>/ward.sqlite` otherwise."""
    site_max_dose_g_per_kg: PositiveDecimal = DEFAULT_SITE_MAX_DOSE_G_PER_KG
    """The site's absolute maximum dose for one infusion, g/kg of dosing weight: a hard limit no
    outside-label reason overrides (the label's usual range is a soft limit). Default 2 g/kg:
    the largest single-infusion IVIG dose in common use, for Kawasaki disease: "2 g/kg given as
    a single infusion over 10-12 hours" (Int J Infect Dis 2005;9(4):185-194, table 2,
    https://pmc.ncbi.nlm.nih.gov/articles/PMC7110839/table/tbl2 ; the AHA statement, McCrindle et
    al., Circulation 2017;135:e927-e999, doi:10.1161/CIR.0000000000000484, the same; accessed
    2026-12-05). A site choice, not a label fact: set it to your local policy."""

    fhir_patient_id_system_1: FhirSystem = PLACEHOLDER_PATIENT_ID_SYSTEM_1
    """FHIR identifier system of patient identifier 1 (the MRN, say): the URI your EHR gives
    that identifier, e.g. `urn:oid:...` of your hospital. The default is a placeholder to
    replace: an EHR cannot match a patient by it."""
    fhir_patient_id_system_2: FhirSystem = PLACEHOLDER_PATIENT_ID_SYSTEM_2
    """FHIR identifier system of patient identifier 2 (a placeholder by default, as above)."""
    fhir_order_id_system: FhirSystem = PLACEHOLDER_ORDER_ID_SYSTEM
    """FHIR identifier system of the order numbers typed at setup (a placeholder by default)."""

    @field_validator(
        "library_dirs", "policy_file", "data_dir", "key_file", "spool_dir", mode="after"
    )
    @classmethod
    def _usable_paths(cls, value: Path | tuple[Path, ...] | None) -> Any:
        for path in value if isinstance(value, tuple) else (value,):
            problem = path_problem(path) if path is not None else None
            if problem is not None:
                raise ValueError(problem)
        return value


MAX_NAME_BYTES = 255
"""Longest file or directory name most file systems take (NAME_MAX)."""
MAX_PATH_BYTES = 4095
"""Longest path the system takes (PATH_MAX less the final NUL)."""


def path_problem(path: Path | str) -> str | None:
    """Why `path` can never name a file here (a NUL, a name or a path too long), or None."""
    text = os.fsencode(path)
    if b"\0" in text:
        return "a path must not contain a NUL character"
    if len(text) > MAX_PATH_BYTES:
        return f"path too long ({len(text)} bytes; at most {MAX_PATH_BYTES})"
    longest = max((len(part) for part in text.split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        return f"a name in the path is too long ({longest} bytes; at most {MAX_NAME_BYTES})"
    return None


def site_limits(config: AppConfig) -> SiteLimits:
    """The limits the configuration puts on every plan."""
    return SiteLimits(
        site_at_risk_cap_mg_per_kg_min=config.site_at_risk_cap_mg_per_kg_min,
        site_max_rate_ml_per_h=config.site_max_rate_ml_per_h,
        pump_resolution_ml_per_h=config.pump_resolution_ml_per_h,
        site_max_dose_g_per_kg=config.site_max_dose_g_per_kg,
    )


SYSTEM_CONFIG = Path("/etc/titrator/config.toml")
"""The machine-wide configuration file."""

ENV_SYSTEM_CONFIG = "TITRATOR_SYSTEM_CONFIG"
"""Environment variable naming another machine-wide file (empty: none; tests set it)."""


def system_config_path() -> Path | None:
    """The machine-wide configuration file, or None when there is none."""
    env = os.environ.get(ENV_SYSTEM_CONFIG)
    candidate = SYSTEM_CONFIG if env is None else (Path(env) if env else None)
    return candidate if candidate is not None and candidate.is_file() else None


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


def _checked(path: Path) -> dict[str, Any]:
    """The fields set in `path`, each checked (an error names this file and the field)."""
    data = read_toml(path)
    try:
        AppConfig.model_validate(data)
    except ValidationError as error:
        hints = {"": list(AppConfig.model_fields)}
        raise LibraryFileError(path, problems_from_validation_error(error, hints)) from error
    return data


def config_files(explicit: Path | None = None) -> list[Path]:
    """The files that make the configuration, in the order read: machine-wide, then user's."""
    return [p for p in (system_config_path(), config_path(explicit)) if p is not None]


def field_source(field: str, explicit: Path | None = None) -> Path | None:
    """The file whose value of `field` is in effect (the last that sets it), or None."""
    found = None
    for path in config_files(explicit):
        try:
            if field in read_toml(path):
                found = path
        except LibraryFileError:
            continue
    return found


def load_config(explicit: Path | None = None) -> AppConfig:
    """Load the site configuration: machine-wide file, then the user's, field by field.

    Defaults apply to what neither sets (and when no file exists).

    Raises:
        LibraryFileError: naming the file, field and value of every problem.
    """
    data: dict[str, Any] = {}
    for path in config_files(explicit):
        data.update(_checked(path))
    return AppConfig.model_validate(data)
