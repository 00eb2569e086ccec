"""Fork a child that reports progress through a pipe, SIGKILL it at a random point, collect.

The crash harnesses (the audit writer's and the whole session's) share this. The driver reads
some of the child's reports, busy-waits a few loops (no sleep: it only varies where the kill
lands), kills the child, and drains what the child wrote before it died. The driver must be
single-threaded, so forking it is safe.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Killed(Generic[T]):
    """What one forked run left.

    Attributes:
        before: what `read` returned before the kill.
        rest: the bytes the child wrote that `read` had not taken.
        killed: the child died of our SIGKILL (not on its own).
        status: its wait status.
    """

    before: T
    rest: bytes
    killed: bool
    status: int


def fork_and_kill(
    child: Callable[[int], None], read: Callable[[int], T], jitter_loops: int
) -> Killed[T]:
    """Run `child(report_fd)` in a fork; `read(fd)` its reports, then kill it.

    A child that raises exits with status 70 and says why on stderr.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into the driver's code
        os.close(read_fd)
        code = 0
        try:
            child(write_fd)
        except BaseException as exc:  # report any failure through the exit status
            sys.stderr.write(f"crash child failed: {exc!r}\n")
            code = 70
        os._exit(code)
    os.close(write_fd)
    try:
        before = read(read_fd)
        for _ in range(jitter_loops):
            pass  # jitter so the kill lands anywhere inside the child's work
    finally:
        os.kill(pid, signal.SIGKILL)  # also on a timeout: never leave a child running
        _, status = os.waitpid(pid, 0)
    rest = b"".join(iter(lambda: os.read(read_fd, 4096), b""))
    os.close(read_fd)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return Killed(before, rest, killed, status)
