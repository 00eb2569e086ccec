"""Crash files: the traceback of an unexpected error, kept private, never shown on screen.

The screen gets one short message (`crash_message`) that names no patient and no value; the
traceback goes to a new file with mode 0600 in a private (0700) directory. The traceback is the
standard one, without local variables (a rich or textual traceback would print them: patient
identifiers, the nurse's id). An exception's own message may still hold such data, which is why
the file is private and the message on screen does not repeat it.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

ENV_CRASH_DIR = "TITRATOR_CRASH_DIR"
"""Environment variable that overrides where crash files are written."""


def default_crash_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$TITRATOR_CRASH_DIR``, else ``$XDG_STATE_HOME/titrator/crash`` (``~/.local/state``)."""
    environ = os.environ if env is None else env
    if environ.get(ENV_CRASH_DIR):
        return Path(environ[ENV_CRASH_DIR]).expanduser()
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "titrator" / "crash"


def _private_dir(directory: Path) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        os.chmod(directory, 0o700)
    return directory


def crash_text(error: BaseException, when: datetime) -> str:
    """The crash file's text: when, the program's version, the traceback without locals."""
    from titrator import __version__

    lines = [
        f"titrator {__version__} crash at {when.isoformat()}",
        "",
        *traceback.format_exception(error),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def write_crash_file(error: BaseException, directory: Path | None = None) -> Path | None:
    """Write `error`'s traceback to a new private file; return its path (None if impossible).

    Tries `directory` (default `default_crash_dir()`), then the system's temporary directory.
    """
    when = datetime.now(UTC)
    text = crash_text(error, when).encode("utf-8", "backslashreplace")
    stem = f"crash-{when:%Y%m%dT%H%M%SZ}-{os.getpid()}-"
    for candidate in (directory or default_crash_dir(), Path(tempfile.gettempdir())):
        try:
            fd, name = tempfile.mkstemp(prefix=stem, suffix=".txt", dir=_private_dir(candidate))
        except OSError:
            continue
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text)
            os.fsync(fd)
        except OSError:
            continue
        finally:
            os.close(fd)
        return Path(name)
    return None


def crash_message(
    prog: str, crash_file: Path | None, error: BaseException, session_id: str | None = None
) -> str:
    """The short message shown after a crash: no traceback, no value from the session.

    Args:
        prog: the command, e.g. ``titrator run``.
        crash_file: where the traceback was written, or None when no file could be written.
        error: the error (only its type is named).
        session_id: the open session, if one was open (its log is left to be resumed).
    """
    where = (
        f"details (private, mode 0600): {crash_file}"
        if crash_file is not None
        else "no crash file could be written"
    )
    resume = (
        f"take session {session_id} over with `titrator resume {session_id}`"
        if session_id is not None
        else "no session was open"
    )
    return (
        f"{prog}: error: stopped on an unexpected error ({type(error).__name__}). "
        f"titrator did not stop the pump: check the pump now. Records already written are kept; "
        f"{resume}. {where}"
    )
