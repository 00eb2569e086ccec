"""The site key for every command: made on first use, found by every command that reads a log.

`key_for_writing` is used by the commands that start sessions (``run``, ``demo``): when no key is
configured it creates one (see `titrator.files.site_key`) and records it in the user's
configuration. `key_for_reading` is used by ``audit verify|replay``, ``review``, ``export`` and
``resume``: an explicit ``--key-file`` wins, else the configured key, else None (the check is
then by the hash chain only, and says so).
"""

from __future__ import annotations

from pathlib import Path

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import generate_key_file
from titrator.files.config import AppConfig
from titrator.files.site_key import (
    SiteKeyError,
    configured_key_file,
    default_key_path,
    private_key_dir,
    record_key_file,
)


def key_for_reading(explicit: Path | str | None, config: AppConfig) -> Path | None:
    """The key file a reading command uses: ``--key-file``, else the configured site key."""
    if explicit is not None:
        return Path(explicit)
    return configured_key_file(config)


def key_for_writing(explicit: Path | None, config: AppConfig, data_dir: Path) -> tuple[Path, bool]:
    """The key file new sessions are signed with, created on first use.

    Args:
        explicit: ``--key-file``, if given.
        config: the site configuration.
        data_dir: the data directory; a key created on first use is never put inside it.

    Returns:
        The key file and whether it was created just now.

    Raises:
        SiteKeyError: no key is configured and none can be created or recorded.
    """
    named = explicit or configured_key_file(config)
    if named is not None:
        return named, False
    path = default_key_path()
    if path.resolve().is_relative_to(data_dir.resolve()):
        raise SiteKeyError(
            f"the default key place {path} is inside the data directory {data_dir}; "
            "set key_file in the site configuration to a file outside it"
        )
    created = False
    if not path.exists():
        private_key_dir(path.parent)
        try:
            generate_key_file(path)
        except AuditKeyError as error:
            raise SiteKeyError(str(error)) from error
        created = True
    record_key_file(path)
    return path, created
