"""``titrator resume``: list, show, or take over an unfinished session in the app.

`--list` prints the unfinished sessions; `SESSION --show` prints what a resume would take over,
without writing; `SESSION` alone opens the app's resume screen (`titrator.shell.resume` does the
taking over). `--pump`, `--config`, `--library` and `--policy` are the app's, as for
`titrator run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from titrator.audit.errors import AuditError, AuditKeyError
from titrator.audit.paths import default_data_dir, session_log_path
from titrator.audit.reconstruct import ResumeError, reconstruct
from titrator.audit.unfinished import RESUMABLE, UnfinishedSession, find_unfinished
from titrator.cli.app import open_resumed


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="titrator resume",
        description="List or resume unfinished sessions. Exit codes: 0 ok; 1 a listed log is "
        "damaged or unreadable, or the session cannot be resumed; 2 bad arguments or key file.",
    )
    parser.add_argument("session_id", nargs="?", metavar="SESSION", help="session to resume")
    parser.add_argument("--list", action="store_true", help="list unfinished sessions")
    parser.add_argument("--show", action="store_true", help="print SESSION's rebuilt state")
    parser.add_argument("--json", action="store_true", help="--list as JSON")
    parser.add_argument("--data-dir", type=Path, help="log directory (default: TITRATOR_DATA_DIR)")
    parser.add_argument("--key-file", type=Path, help="site HMAC key file")
    # The app's own options, as for `titrator run`.
    parser.add_argument("--pump", default="manual", help="manual (default), sim, or a serial URL")
    parser.add_argument("--config", type=Path, help="site configuration file")
    parser.add_argument("--library", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument("--policy", type=Path, help="reaction policy file (site)")
    return parser


def resume_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator resume` with `argv` (the words after "resume").

    `--list` prints the unfinished sessions; `SESSION --show` prints what a resume would take
    over, without writing; `SESSION` alone opens the app's resume screen.

    Returns:
        0 ok; 1 a listed log is damaged or unreadable, or SESSION cannot be resumed; 2 bad
        arguments, an unsafe key file or an unreadable directory.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    directory: Path = args.data_dir if args.data_dir is not None else default_data_dir()
    if args.list == (args.session_id is not None):
        _err("titrator resume: give either --list or a SESSION")
        return 2
    try:
        if args.list:
            entries = find_unfinished(directory, key_file=args.key_file)
            _print_list(entries, directory, args.json)
            return 1 if any(e.integrity not in RESUMABLE for e in entries) else 0
        path = session_log_path(directory, args.session_id)
        if args.show:
            rebuilt = reconstruct(path, key_file=args.key_file)
            _out("\n".join(rebuilt.summary()))
            return 0
    except (AuditKeyError, ValueError, OSError) as error:
        _err(f"titrator resume: {error}")
        return 2
    except (ResumeError, AuditError) as error:
        _err(f"titrator resume: {error}")
        return 1
    args.data_dir = directory
    return open_resumed(args, args.session_id, args.key_file)
