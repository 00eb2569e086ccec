"""``titrator resume``: list, show, or take over an unfinished session in the app.

`--list` prints the unfinished sessions; `SESSION --show` prints what a resume would take over,
without writing; `SESSION` alone opens the app's resume screen (`titrator.shell.resume` does the
taking over). `--pump`, `--config`, `--library`, `--policy` and `--data-dir` are the app's, as
for `titrator run`; the site configuration's `data_dir` and `key_file` apply unless
`--data-dir` or `--key-file` is given.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from titrator.audit.errors import AuditError, AuditKeyError
from titrator.audit.keys import load_key
from titrator.audit.paths import session_log_path
from titrator.audit.reconstruct import ResumeError, reconstruct
from titrator.audit.spool import default_spool_dir, merge_spool, spool_file
from titrator.audit.unfinished import RESUMABLE, UnfinishedSession, find_unfinished
from titrator.audit.verify import verify_log
from titrator.cli.app import checked_data_dir, data_dir_source, open_resumed
from titrator.cli.parsing import Parser, add_json, error_line
from titrator.cli.site_key import key_for_reading
from titrator.files.config import load_config
from titrator.files.library import LibraryFileError

PROG = "titrator resume"


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _row(entry: UnfinishedSession) -> dict[str, Any]:
    return {
        "session_id": entry.session_id,
        "path": str(entry.path),
        "patient": " / ".join(entry.patient_ids) if entry.patient_ids else None,
        "product": entry.product,
        "indication": entry.indication,
        "last_record_utc": entry.last_record_utc.isoformat() if entry.last_record_utc else None,
        "integrity": entry.integrity_label,
        "resumable": entry.resumable,
        "reason": entry.reason,
    }


def _print_list(entries: list[UnfinishedSession], directory: Path, as_json: bool) -> None:
    if as_json:
        _out(json.dumps([_row(e) for e in entries], indent=2, ensure_ascii=False))
        return
    if not entries:
        _out(f"no unfinished sessions in {directory}")
        return
    header = ("SESSION", "PATIENT", "PRODUCT", "LAST RECORD (UTC)", "INTEGRITY")
    rows = [header]
    for e in entries:
        when = e.last_record_utc.strftime("%Y-%m-%d %H:%M:%S") if e.last_record_utc else "-"
        note = "" if e.resumable else " (not resumable)"
        patient = " / ".join(e.patient_ids) if e.patient_ids else "-"
        rows.append((e.session_id, patient, e.product or "-", when, e.integrity_label + note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        _out("  ".join([*cells, row[-1]]))
    for e in entries:
        if e.integrity not in RESUMABLE:
            _err(f"{e.session_id}: {e.integrity_label}: {e.reason}")


def build_parser() -> Parser:
    """The options of `titrator resume`."""
    from titrator.cli.app import PUMP_HELP, add_app_options

    parser = Parser(
        prog=PROG,
        description="List, show or take over unfinished sessions. Exit codes: 0 ok; 1 a listed "
        "log is damaged or unreadable, or the session cannot be resumed; 2 bad arguments, key "
        "file or data directory.",
    )
    parser.add_argument("session_id", nargs="?", metavar="SESSION", help="session to resume")
    parser.add_argument("--list", action="store_true", help="list unfinished sessions")
    parser.add_argument(
        "--show", action="store_true", help="print SESSION's rebuilt state, without writing"
    )
    add_json(parser, "the --list of unfinished sessions")
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help="site HMAC key file (default: the site config's)",
    )
    parser.add_argument("--pump", default="manual", metavar="PUMP", help=PUMP_HELP)
    add_app_options(parser)
    return parser


def _merge_spool(path: Path, spool_dir: Path, key_file: Path | None, session_id: str) -> int | None:
    """Merge the records a full disk sent to the spool back into the log, and say so.

    Returns:
        None to go on resuming; an exit code when there is nothing more to do (the session's
        closing record was among them: 0) or the merge failed (1).
    """
    spool = spool_file(spool_dir, session_id)
    if not spool.exists():
        return None
    try:
        key = load_key(key_file, log_dir=path.parent) if key_file is not None else None
        merged = merge_spool(path, spool, key, session_id)
        result = verify_log(path, key=key)
    except AuditError as error:
        _err(f"{PROG}: error: the spool {spool} was not merged: {error}")
        return 1
    if merged is not None:
        _err(f"merged {merged.merged} record(s) from the spool {spool} into {path}")
    if result.closed:
        _err(f"session {session_id} is closed; its log is whole: {result.summary()}")
        return 0
    return None


def resume_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator resume` with `argv` (the words after "resume").

    `--list` prints the unfinished sessions; `SESSION --show` prints what a resume would take
    over, without writing; `SESSION` alone opens the app's resume screen.

    Returns:
        0 ok; 1 a listed log is damaged or unreadable, or SESSION cannot be resumed; 2 bad
        arguments, an unsafe key file or an unreadable directory.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.list == (args.session_id is not None):
        _err(error_line(PROG, "SESSION", "give either --list or a SESSION"))
        return 2
    try:
        config = load_config(args.config)  # its data_dir and key_file, unless given here
    except LibraryFileError as error:
        for line in error.lines():
            _err(f"{PROG}: error: {line}")
        return 1
    directory, _, _ = data_dir_source(args, config)
    key_file = key_for_reading(args.key_file, config)
    try:
        if args.list:
            entries = find_unfinished(directory, key_file=key_file)
            _print_list(entries, directory, args.json)
            return 1 if any(e.integrity not in RESUMABLE for e in entries) else 0
        path = session_log_path(directory, args.session_id)
        if args.show:
            rebuilt = reconstruct(path, key_file=key_file)
            _out("\n".join(rebuilt.summary()))
            return 0
    except (AuditKeyError, ValueError, OSError) as error:
        _err(f"{PROG}: error: {error}")
        return 2
    except (ResumeError, AuditError) as error:
        _err(f"{PROG}: error: {error}")
        return 1
    # Taking over writes to the log: the directory must take a write and a lock first.
    if checked_data_dir(PROG, args, config, training=False) is None:
        return 2
    closed = _merge_spool(path, config.spool_dir or default_spool_dir(), key_file, args.session_id)
    if closed is not None:
        return closed
    args.data_dir = directory
    args.key_file = key_file
    return open_resumed(args, args.session_id, key_file)
