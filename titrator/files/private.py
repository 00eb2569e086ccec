"""Writing a file that holds patient data: private (0600), complete or not at all.

The content goes to a temporary file created 0600 in the target's directory, is synced, and is
renamed over the target in one step; the directory entry is then synced. Whatever the umask, no
other user can read it at any moment, and a reader never sees half a file. Only regular files
are replaced: a device, a pipe or a directory at the target is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

PRIVATE_MODE = 0o600
"""Mode of every file that holds patient data."""


def write_private(path: Path, data: bytes, *, mode: int = PRIVATE_MODE) -> None:
    """Write `data` to `path` (mode 0600) through a temporary file and an atomic rename.

    `mode` may add group read and write (0660: a file of a shared ward data directory); never
    any permission for others.

    Raises:
        OSError: the directory cannot take the file, or `path` is not a regular file
            (`strerror` says why in plain words).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file; give a file name")
    directory = path.parent
    temp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    if mode & ~0o660:
        raise ValueError(f"mode {mode:04o} gives more than owner and group read/write")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the system allows it
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
