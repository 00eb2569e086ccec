"""Where the site's HMAC key lives and how the configuration names it.

The key is found, in order: the ``key_file`` of the configuration in effect (the machine-wide
``/etc/titrator/config.toml``, overridden field by field by ``--config``, ``$TITRATOR_CONFIG``
or the user's ``config.toml``), else the ``key_file`` recorded in the user's ``config.toml``.
On first use, when neither names a key, the app creates one at
``$XDG_CONFIG_HOME/titrator/keys/site.key`` (directory 0700, file 0600; outside the data
directory) and records its path in the user's ``config.toml``.

Creating the key itself belongs to `titrator.audit.keys`; this module only knows paths and the
configuration file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from titrator.files.config import AppConfig

KEY_DIR = "keys"
"""Directory of the site key, below the user's titrator configuration directory."""

KEY_NAME = "site.key"
"""File name of the site key created on first use."""


class SiteKeyError(Exception):
    """The site key cannot be found or recorded; `reason` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's titrator configuration directory (``$XDG_CONFIG_HOME/titrator``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "titrator"


def user_config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The user's configuration file (it may not exist)."""
    return user_config_dir(environ) / "config.toml"


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the key created on first use goes."""
    return user_config_dir(environ) / KEY_DIR / KEY_NAME


def _recorded_in_user_config() -> Path | None:
    path = user_config_file()
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    value = data.get("key_file")
    return Path(value) if isinstance(value, str) and value else None


def configured_key_file(config: AppConfig) -> Path | None:
    """The site key the configuration names: the config in effect, else the user's config."""
    if config.key_file is not None:
        return config.key_file
    return _recorded_in_user_config()


def record_key_file(key_path: Path, config_file: Path | None = None) -> Path:
    """Record ``key_file = "KEY_PATH"`` at the top of the user's configuration file.

    The file is created (0600, directory 0700) when missing; an existing file keeps its content
    and mode and is replaced atomically. A top-level key goes first so that it never falls into
    a TOML table.

    Returns:
        The configuration file written.

    Raises:
        SiteKeyError: it cannot be written.
    """
    target = config_file or user_config_file()
    line = f"key_file = {json.dumps(str(key_path), ensure_ascii=False)}\n"
    note = "# the site's audit key, created on first use (keep it outside the data directory)\n"
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            old = target.read_text(encoding="utf-8")
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            old, mode = "", 0o600
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, mode)
            os.write(fd, (note + line + old).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(temp, target)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    except OSError as error:
        raise SiteKeyError(
            f"cannot record the key in {target}: {error.strerror or error}"
        ) from error
    return target


def private_key_dir(directory: Path) -> None:
    """Create the key's directory (and missing parents) private, 0700.

    Raises:
        SiteKeyError: it cannot be created or made private.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    except OSError as error:
        raise SiteKeyError(
            f"cannot create the key directory {directory}: {error.strerror or error}"
        ) from error
