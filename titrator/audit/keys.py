"""The site's HMAC key: loading it safely, naming it, creating one.

The key turns the plain hash chain (which anyone can recompute after editing a log) into an
HMAC chain that only the key holder can produce. It must therefore live *outside* the log
directory and be readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from titrator.audit.errors import AuditKeyError

MIN_KEY_BYTES = 32
"""Shortest key accepted (256 bits, the HMAC-SHA256 block-strength recommendation)."""

_KEY_ID_LABEL = b"titrator-audit key id v1"


def key_id(key: bytes) -> str:
    """Return a short public name for a key (16 hex digits), stored in every keyed record.

    It lets the verifier say "wrong key" rather than "every record altered". It is an HMAC of a
    fixed label, so it reveals nothing usable about the key.

    Args:
        key: the raw key bytes.

    Returns:
        16 lowercase hex digits.
    """
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _ward_group_key(info: os.stat_result) -> bool:
    """A shared ward workstation's key: mode 0640, owned by another account (the administrator).

    Every login of the ward group reads it; none of them can change or replace it. A user's own
    key must stay 0600.
    """
    return stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid != os.geteuid()


def load_key(key_file: str | os.PathLike[str], *, log_dir: Path | None = None) -> bytes:
    """Read a key file after checking that it is safe to use.

    Args:
        key_file: path of the key file; its whole content (at least 32 bytes) is the key.
        log_dir: the log directory; a key file inside it is refused.

    Returns:
        The key bytes.

    Raises:
        AuditKeyError: the file is missing, not a regular file, readable or writable by group
            or others (except a ward group's key: 0640, owned by another account), inside the
            log directory, or shorter than `MIN_KEY_BYTES`.
    """
    path = Path(key_file)
    try:
        resolved = path.resolve(strict=True)
        info = resolved.stat()
    except OSError as exc:
        raise AuditKeyError(f"key file {path} cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise AuditKeyError(f"key file {path} is not a regular file")
    if info.st_mode & 0o077 and not _ward_group_key(info):
        raise AuditKeyError(
            f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}; "
            f"it must be 0600 (run: chmod 600 {path})"
        )
    if log_dir is not None and resolved.is_relative_to(log_dir.resolve()):
        raise AuditKeyError(
            f"key file {path} is inside the log directory {log_dir}; keep it elsewhere, "
            "otherwise whoever can rewrite the logs can also re-sign them"
        )
    try:
        key = resolved.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"key file {path} cannot be read: {exc.strerror or exc}") from exc
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(
            f"key file {path} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
        )
    return key


def generate_key_file(key_file: str | os.PathLike[str]) -> str:
    """Create a new random key file (mode 0600); never overwrites an existing file.

    Args:
        key_file: where to create it.

    Returns:
        The new key's `key_id`.

    Raises:
        AuditKeyError: the file exists or cannot be created.
    """
    path = Path(key_file)
    key = secrets.token_bytes(MIN_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise AuditKeyError(f"cannot create key file {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key_id(key)
