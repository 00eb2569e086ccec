"""Disks that fill up on demand: a real small tmpfs, and ENOSPC injected at `os.write`.

`TmpfsDisk` mounts a small tmpfs (it needs the right to mount, which CI has as root) and fills
it with a filler file until the kernel answers ENOSPC; `InjectedDisk` is an ordinary directory
whose writes raise ENOSPC while it is "full" (it always runs, with or without mount rights).
Both give a data directory and the `FileOps` to write there, `fill()` and `free()`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from titrator.audit import FileOps

TMPFS_SIZE = "512k"
"""The small file system's size: a few session logs' worth."""


class DiskOps(FileOps):
    """The system calls of one disk; writes raise ENOSPC while `full` (injected disks only)."""

    def __init__(self, disk: Disk) -> None:
        self.disk = disk

    def write(self, fd: int, data: bytes) -> int:
        """Write, or raise ENOSPC when the injected disk is full."""
        if self.disk.injected and self.disk.full:
            self.disk.failed_writes += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        try:
            return super().write(fd, data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self.disk.failed_writes += 1
            raise


class Disk:
    """A directory on a disk that can be filled and freed."""

    injected = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.full = False
        self.failed_writes = 0
        """Writes the disk refused with ENOSPC."""
        self.ops = DiskOps(self)
        """The system calls a writer on this disk makes."""

    @property
    def data_dir(self) -> Path:
        """Where the logs go."""
        return self.root / "logs"

    def fill(self) -> None:
        """Leave no free space."""
        self.full = True

    def free(self) -> None:
        """Make room again."""
        self.full = False


class InjectedDisk(Disk):
    """An ordinary directory whose writes (through `ops`) fail with ENOSPC while full."""

    injected = True


class TmpfsDisk(Disk):
    """A real tmpfs of `TMPFS_SIZE`, filled by a filler file until the kernel refuses a byte."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.filler = root / "filler"

    @classmethod
    def mount(cls, root: Path, size: str = TMPFS_SIZE) -> TmpfsDisk | None:
        """Mount a tmpfs of `size` at `root`; None when this machine does not let us mount."""
        root.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(root)],
                capture_output=True,
                check=False,
            )
        except OSError:
            return None
        return cls(root) if done.returncode == 0 else None

    def unmount(self) -> None:
        """Unmount it (lazily, should a descriptor still be open)."""
        subprocess.run(["umount", "-l", str(self.root)], capture_output=True, check=True)

    def fill(self) -> None:
        """Write the filler until ENOSPC, in ever smaller pieces down to one byte."""
        super().fill()
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                chunk = b"\0" * size
                while True:
                    try:
                        os.write(fd, chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)

    def free(self) -> None:
        """Remove the filler."""
        super().free()
        self.filler.unlink(missing_ok=True)


@contextlib.contextmanager
def disk_of(kind: str, root: Path, size: str = TMPFS_SIZE) -> Iterator[Disk]:
    """A disk for a test: "injected", or "tmpfs" (the test is skipped only where this machine
    cannot mount one; the injected disk covers the same cases everywhere)."""
    if kind == "injected":
        yield InjectedDisk(root)
        return
    mounted = TmpfsDisk.mount(root, size)
    if mounted is None:
        pytest.skip("cannot mount a tmpfs here (no mount rights); the injected disk runs")
    try:
        yield mounted
    finally:
        mounted.unmount()
