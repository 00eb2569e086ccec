"""Resuming an unfinished session after a crash or restart: find it, rebuild it, take it over.

What the app calls (the screens are thin over these)::

    sessions = find_unfinished(data_dir, key_file=key)        # the "unfinished sessions" list
    shown = reconstruct(sessions[0].path, key_file=key)        # what to show before resuming
    resumed = resume_session(sessions[0].session_id, station_id=..., nurse_id=...,
                             data_dir=data_dir, key_file=key, clock=clock)
    # resumed.applied.commands: a status read (and a stop if the dose ran out meanwhile);
    # send each with controller.execute_command in a worker and feed the results back through
    # resumed.controller.feed(...), exactly as for any other decision.

Resume is replay: the log's intact prefix is verified, its engine events replayed through a
fresh session (the replay must reproduce every recorded event), the writer takes the log over
(`log_recovered` after a torn tail, else `log_resumed`), and a `session_resumed` input moves the
engine onto the new process's clock and puts the pump in UNCERTAIN until the status read comes
back. Commands whose outcome was never recorded are listed (`Reconstructed.unknown_commands`) and
are never sent again. Damaged logs are listed but never resumed.

`titrator resume` (`--list`, `SESSION --show`, `SESSION` through the app) is
`titrator.cli.resume`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from titrator.audit.keys import load_key
from titrator.audit.paths import DEFAULT_MIN_FREE_BYTES, default_data_dir, session_log_path
from titrator.audit.reconstruct import Reconstructed, ResumeError, UnknownCommand, reconstruct
from titrator.audit.sink import FileOps
from titrator.audit.spool import merge_spool, spool_file
from titrator.audit.unfinished import UnfinishedSession, find_unfinished
from titrator.audit.writer import AuditWriter
from titrator.domain.events import SessionResumed
from titrator.shell.clocks import Clock, SystemClock
from titrator.shell.controller import Applied, InfusionController

__all__ = [
    "Reconstructed",
    "ResumeError",
    "Resumed",
    "UnfinishedSession",
    "UnknownCommand",
    "find_unfinished",
    "reconstruct",
    "resume_session",
]

PathArg = str | os.PathLike[str]


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


@dataclass(frozen=True)
class Resumed:
    """A session taken over and ready for the app.

    Attributes:
        controller: feeds inputs to the session and records them; use it from now on.
        writer: the log's writer (the controller's audit sink).
        applied: the outcome of `session_resumed`: send `applied.commands` (a status read, and
            a stop if the dose volume ran out meanwhile) and feed the results back through the
            controller. Nothing else is sent; no increase is possible until the status read.
        reconstructed: the session as it stood before the restart (what to show the nurse).
    """

    controller: InfusionController
    writer: AuditWriter
    applied: Applied
    reconstructed: Reconstructed


def resume_session(
    session_id: str,
    *,
    station_id: str,
    nurse_id: str,
    data_dir: PathArg | None = None,
    key_file: PathArg | None = None,
    clock: Clock | None = None,
    detail: str = "",
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    sync_each_record: bool = True,
    ops: FileOps | None = None,
    spool_dir: PathArg | None = None,
) -> Resumed:
    """Take an unfinished session over: verify and replay its log, reopen it, resume the engine.

    The log is checked and replayed before anything is written. The writer then takes the log
    over (its lock, `log_recovered` or `log_resumed`), the log is replayed again under the lock
    (the authoritative state), and `session_resumed` is fed through a new controller.

    Args:
        session_id: the session to resume.
        station_id: this workstation.
        nurse_id: the user resuming it (stamped on new records).
        data_dir: the log directory (default `default_data_dir()`).
        key_file: the site key file, when logs are keyed.
        clock: the shell's clock (default the system clock); its monotonic reading is the
            engine's new clock base.
        detail: recorded in `session_resumed` (why the session was taken over).
        min_free_bytes: free space required to continue (default 50 MB).
        sync_each_record: fsync every record (keep True outside tests).
        ops: system-call provider for the writer (fault injection in tests).
        spool_dir: the fallback spool directory: a spool the session left there (its log
            could not be written) is merged into the log before anything else, and the
            resumed writer spools there while its log fails.

    Returns:
        The controller, writer, the commands to send now and the reconstruction.

    Raises:
        ResumeError: the session cannot be resumed (see `reconstruct`).
        AuditError: the log cannot be taken over (locked by another process, key, space, I/O);
            `AuditWriteError` if even the resume record could not be written.
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    path = session_log_path(directory, session_id)
    key = load_key(key_file, log_dir=directory) if key_file is not None else None
    if spool_dir is not None:  # the records the log could not take come first
        merge_spool(path, spool_file(Path(spool_dir), session_id), key, session_id)
    reconstruct(path, key=key)  # refuse before writing anything
    clock = clock or SystemClock()
    writer = AuditWriter.resume(
        session_id,
        station_id=station_id,
        nurse_id=nurse_id,
        data_dir=directory,
        key_file=key_file,
        clock=clock,
        min_free_bytes=min_free_bytes,
        sync_each_record=sync_each_record,
        ops=ops,
        spool_dir=spool_dir,
    )
    try:
        rebuilt = reconstruct(path, key=key)
    except BaseException:
        writer.release()
        raise
    controller = InfusionController(rebuilt.session, writer)
    why = detail or f"taken over on {station_id} by {nurse_id}"
    applied = controller.feed(SessionResumed(at=clock.now(), detail=why))
    return Resumed(controller, writer, applied, rebuilt)
