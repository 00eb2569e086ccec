"""Checking the data directory before anything is asked of the nurse.

A session must not be set up (patient, product, checklist) only to find that its audit log
cannot be written. `check_data_dir` proves, by doing it, that the directory exists or can be
created, is a directory, takes a new file that is written, synced and exclusively locked, and
has room for a session. The probe is a real write, so the answer is the same for every user,
root included (permission bits do not stop root; a read-only file system or a file does).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
from pathlib import Path

PROBE_PREFIX = ".titrator-probe-"
"""Name prefix of the probe file (removed again at once)."""


class DataDirError(Exception):
    """The data directory cannot hold a session log; `reason` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _why(error: OSError) -> str:
    if error.errno == errno.EROFS:
        return "is on a read-only file system"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "is not writable (permission denied)"
    if error.errno == errno.ENOTDIR:
        return "is not a directory (a part of the path is a file)"
    if error.errno == errno.ENOSPC:
        return "has no space left"
    return f"cannot be used: {error.strerror or error}"


def _shared(directory: Path) -> bool:
    """A shared ward directory: setgid, group rwx, nothing for others (2770).

    The same test as `titrator.audit.paths.is_shared_dir` (that layer is not importable here).
    """
    mode = directory.stat().st_mode
    return bool(mode & 0o2000) and mode & 0o070 == 0o070 and not mode & 0o007


def _create(directory: Path) -> None:
    """Create `directory` and its missing parents, each private (0700).

    Below a shared ward directory (2770) they are shared too (2770, the group inherited), so
    that `training/` made by one login takes the others' sessions.
    """
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():  # a dangling link: do not create its target behind its back
            raise DataDirError("is a broken symbolic link")
        missing.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DataDirError(f"cannot be created: {probe} is a file, not a directory")
    for path in reversed(missing):
        shared = _shared(path.parent)
        try:
            path.mkdir(mode=0o700)
            if shared:
                os.chmod(path, 0o2770)  # noqa: S103 (the ward group only; others nothing)
        except FileExistsError:
            continue
        except OSError as error:
            raise DataDirError(f"cannot be created: {path} {_why(error)}") from error


def _probe(directory: Path) -> None:
    """Create, write, sync, lock and remove a file in `directory`."""
    path = directory / f"{PROBE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise DataDirError(_why(error)) from error
    try:
        os.write(fd, b"probe\n")
        os.fsync(fd)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        reason = "cannot be locked" if isinstance(error, BlockingIOError) else _why(error)
        raise DataDirError(reason) from error
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()


def check_data_dir(directory: Path, min_free_bytes: int) -> None:
    """Make sure a session log can be written in `directory`, creating it if it is missing.

    Args:
        directory: the data directory (created, private, with missing parents, if need be).
        min_free_bytes: the free space a session needs.

    Raises:
        DataDirError: it is a file, cannot be created, written, synced or locked, or is full.
    """
    if directory.exists() and not directory.is_dir():
        raise DataDirError("is a file, not a directory")
    if not directory.exists():
        _create(directory)
    _probe(directory)
    free = shutil.disk_usage(directory).free
    if free < min_free_bytes:
        raise DataDirError(
            f"has only {free // (1024 * 1024)} MB free; a session needs "
            f"{min_free_bytes // (1024 * 1024)} MB"
        )
