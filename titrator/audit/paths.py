"""Where session logs live, and the file-system operations that keep them private and durable."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from titrator.audit.errors import AuditOpenError, AuditSpaceError, AuditStateError

ENV_DATA_DIR = "TITRATOR_DATA_DIR"
"""Environment variable that overrides the default session-log directory."""

DEFAULT_MIN_FREE_BYTES = 50 * 1024 * 1024
"""Free space required in the data directory before a session may start (50 MB)."""

LOG_SUFFIX = ".jsonl"
"""File-name suffix of a session log."""

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Return the session-log directory to use when none is given.

    `TITRATOR_DATA_DIR` wins; otherwise `$XDG_DATA_HOME/titrator/sessions`, falling back to
    `~/.local/share/titrator/sessions`.

    Args:
        env: environment to read (defaults to `os.environ`).

    Returns:
        The directory (not created).
    """
    environ = os.environ if env is None else env
    if environ.get(ENV_DATA_DIR):
        return Path(environ[ENV_DATA_DIR]).expanduser()
    xdg = environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "titrator" / "sessions"


def check_session_id(session_id: str) -> str:
    """Check that a session id is safe to use as a file name.

    Args:
        session_id: 1–128 characters of letters, digits, `.`, `_` or `-`, starting with a
            letter or digit.

    Returns:
        The session id unchanged.

    Raises:
        ValueError: the id does not match.
    """
    if not _SESSION_ID.fullmatch(session_id):
        raise ValueError(f"session id {session_id!r} is not a safe file name")
    return session_id


def session_log_path(data_dir: Path, session_id: str) -> Path:
    """Return the log file of a session: `<data_dir>/<session_id>.jsonl`."""
    return data_dir / f"{check_session_id(session_id)}{LOG_SUFFIX}"


SHARED_DIR_MODE = 0o2770
"""Mode of a shared ward data directory: setgid, owner and group read/write/search, no others."""

SHARED_FILE_MODE = 0o660
"""Mode of a session log (and the outbox) in a shared ward data directory."""

PRIVATE_FILE_MODE = 0o600
"""Mode of a session log everywhere else."""


def is_shared_dir(path: Path) -> bool:
    """True for a shared ward data directory: setgid, group rwx, nothing for others (2770).

    Several logins of one ward group use it, so a session started under one can be resumed
    under another (see docs/admin/shared-workstation.md).
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o2000) and mode & 0o070 == 0o070 and not mode & 0o007


def file_mode_for(directory: Path) -> int:
    """The mode of a new log in `directory`: 0660 in a shared ward directory, else 0600."""
    return SHARED_FILE_MODE if is_shared_dir(directory) else PRIVATE_FILE_MODE


def ensure_private_dir(path: Path) -> None:
    """Create `path` and any missing parents with mode 0700, and tighten `path` itself to 0700.

    Existing parents are left alone; the log directory itself never keeps group or other
    permissions, whatever the umask, unless it is a shared ward directory (`is_shared_dir`),
    which keeps its mode 2770.

    Args:
        path: the directory.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # created concurrently; tightened below if it is ours
        os.chmod(directory, 0o700)
    if path.stat().st_mode & 0o077 and not is_shared_dir(path):
        os.chmod(path, 0o700)


def check_free_space(directory: Path, min_free_bytes: int) -> None:
    """Refuse to start when the data directory's file system is nearly full.

    Args:
        directory: an existing directory on the file system to check.
        min_free_bytes: the minimum free space.

    Raises:
        AuditSpaceError: less than `min_free_bytes` are available.
    """
    free = shutil.disk_usage(directory).free
    if free < min_free_bytes:
        raise AuditSpaceError(
            f"only {free // (1024 * 1024)} MB free in {directory}; at least "
            f"{min_free_bytes // (1024 * 1024)} MB are required to start a session. "
            "Free space or choose another data directory."
        )


def fsync_dir(directory: Path) -> None:
    """Make a directory entry change (file created, renamed) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private_file(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Create a new file with mode 0600 (never an existing one) and return its descriptor.

    In a shared ward directory (`is_shared_dir`) the mode is 0660: the ward group may resume it.

    Args:
        path: the file to create.
        flags: open flags besides `O_CREAT | O_EXCL | O_CLOEXEC`.

    Returns:
        The open file descriptor.

    Raises:
        AuditStateError: the file already exists.
    """
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError as exc:
        raise AuditStateError(f"{path} already exists") from exc
    os.fchmod(fd, file_mode_for(path.parent))  # the umask may have removed bits; never adds
    return fd


def quarantine_path(log_path: Path) -> Path:
    """Return a fresh sibling name for a torn tail: `<log>.torn-1`, `<log>.torn-2`, …."""
    n = 1
    while True:
        candidate = log_path.with_name(f"{log_path.name}.torn-{n}")
        if not candidate.exists():
            return candidate
        n += 1


def lock_exclusive(fd: int, path: Path) -> None:
    """Take the single-writer lock on an open log; close `fd` and refuse if it is held.

    Raises:
        AuditStateError: another process (or writer) holds the lock.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise AuditStateError(f"{path} is being written by another process") from exc


@contextlib.contextmanager
def opening(path: Path) -> Iterator[None]:
    """Turn operating-system errors while setting up a log into `AuditOpenError`.

    Raises:
        AuditOpenError: an `OSError` occurred inside the block.
    """
    try:
        yield
    except OSError as exc:
        raise AuditOpenError(f"cannot open the audit log {path}: {exc.strerror or exc}") from exc
