"""`titrator review` and `titrator export`: reading audit logs after the infusion.

Usage::

    titrator review [PATH ...] [--key-file KEY_FILE]     # the review app (files or folders)
    titrator review --summary DIR [--key-file KEY_FILE]  # per-product summary as a text table
    titrator review --db URL [--include-training]     # the ward store: sessions and reports
    titrator export PATH --format csv|discharge|fhir|html [--out FILE] [--allow-damaged]
                    [--key-file F]  # discharge: the plain-text A4 hand-over sheet

Exit codes: 0 done; 1 the ward store cannot be opened (review --db), or the log is damaged
and `--allow-damaged` was not given (nothing is written); 2 bad input (an option, a path, the
key file, or an output that cannot be written).
A file written with `--out` holds patient identifiers: it is created 0600 (whatever the umask)
through a temporary file in the same directory and an atomic rename.
Errors are one line on standard error and name the option or path at fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import load_key
from titrator.audit.paths import default_data_dir
from titrator.audit.reader import LogChangedError
from titrator.cli.fhir_site import fhir_site
from titrator.cli.parsing import Parser, add_json
from titrator.cli.site_key import key_for_reading
from titrator.files.config import load_config
from titrator.files.library import LibraryFileError
from titrator.files.private import write_private
from titrator.interop.fhir.export import to_fhir_json
from titrator.interop.hl7v2.outgoing import to_hl7v2
from titrator.review.export_csv import to_csv
from titrator.review.export_discharge import to_discharge
from titrator.review.export_html import to_html
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import (
    FolderSummary,
    discover_logs,
    summarise_logs,
    summary_table,
)

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_USAGE = 2

FORMATS: dict[str, Callable[[SessionReview], str]] = {
    "csv": to_csv,
    "discharge": to_discharge,
    "fhir": to_fhir_json,
    "hl7v2": to_hl7v2,
    "html": to_html,
}
"""Export formats and their renderers."""


class _UsageError(Exception):
    """A bad option or argument (exit 2)."""


class _Parser(Parser):
    """The commands' parser, but errors are raised (one line, exit 2) to be reported here."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.one_line(message))


def _err(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)


def summary_json(summary: FolderSummary) -> str:
    """The folder summary as JSON: every figure of `summary_table`, durations in seconds."""

    def plain(value: object) -> object:
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(dataclasses.asdict(summary)), indent=2, ensure_ascii=False) + "\n"


def _key(key_file: str | None, config_file: str | None) -> bytes | None:
    """The key named by --key-file, else the configured site key, else None."""
    try:
        config = load_config(Path(config_file) if config_file is not None else None)
    except LibraryFileError as exc:
        raise _UsageError("--config: " + "; ".join(exc.lines())) from exc
    path = key_for_reading(key_file, config)
    if path is None:
        return None
    option = "--key-file" if key_file is not None else "key_file (site configuration)"
    try:
        return load_key(path)
    except AuditKeyError as exc:
        raise _UsageError(f"{option}: {exc}") from exc


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="site HMAC key file; MACs are then checked (default: the configured site key)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="site configuration file (TOML); names the site key"
    )


def build_review_parser() -> _Parser:
    """The options of `titrator review`."""
    parser = _Parser(
        prog="titrator review",
        description="Review session audit logs: integrity, what happened and when, exports. "
        "Exit codes: 0 done, 2 bad input.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="log files or folders of logs (default: the log directory)",
    )
    parser.add_argument(
        "--summary",
        metavar="DIR",
        help="print the per-product summary of the logs in DIR as a text table and exit",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="open a ward store instead (sqlite:///PATH, a file path or postgresql://...): "
        "its sessions with filters and the ward reports",
    )
    add_json(parser, "the --summary")
    _add_key_options(parser)
    parser.add_argument(
        "--include-training",
        action="store_true",
        help="count demo and training logs in the summary figures (left out by default)",
    )
    return parser


def review_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator review` with `argv` (the words after "review").

    Returns:
        The exit status (see the module docstring).
    """
    prog = "titrator review"
    try:
        args = build_review_parser().parse_args(argv)
        if args.db is not None:
            if args.paths or args.summary is not None:
                raise _UsageError("--db: give the store only, not PATH or --summary too")
            return _review_store(args.db, args.include_training)
        key = _key(args.key_file, args.config)
        if args.summary is not None:
            if args.paths:
                raise _UsageError("--summary: give the folder to --summary only, not PATH too")
            folder = Path(args.summary)
            if not folder.is_dir():
                raise _UsageError(f"--summary: {folder} is not a directory")
            summary = summarise_logs(  # one log at a time: bounded memory, flat time per log
                discover_logs([folder]), key=key, include_training=args.include_training
            )
            sys.stdout.write(summary_json(summary) if args.json else summary_table(summary))
            return EXIT_OK
        paths = [Path(p) for p in args.paths] or [default_data_dir()]
        try:
            logs = discover_logs(paths)
        except FileNotFoundError as exc:
            raise _UsageError(str(exc)) from exc
    except _UsageError as exc:
        _err(prog, str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from titrator.review.ui.app import ReviewApp  # the UI only when it is needed

    result = ReviewApp(logs, key=key, include_training=args.include_training).run()
    return result if isinstance(result, int) else EXIT_OK


def _review_store(text: str, include_training: bool) -> int:
    """The review app over a ward store (exit 1 when it cannot be opened)."""
    from titrator.store.browse import StoreSource
    from titrator.store.db import StoreError, open_store
    from titrator.store.url import StoreUrlError, parse_store_url

    try:
        url = parse_store_url(text)
    except StoreUrlError as exc:
        raise _UsageError(f"--db: {exc}") from None
    try:
        store = open_store(url)
    except StoreError as exc:
        _err("titrator review", str(exc))
        return EXIT_DAMAGED
    from titrator.review.ui.app import ReviewApp  # the UI only when it is needed

    try:
        result = ReviewApp(ward=StoreSource(store), include_training=include_training).run()
    finally:
        store.close()
    return result if isinstance(result, int) else EXIT_OK


def build_export_parser() -> _Parser:
    """The options of `titrator export`."""
    parser = _Parser(
        prog="titrator export",
        description="Export one session log. Exit codes: 0 written, 1 damaged log refused "
        "(use --allow-damaged), 2 bad input.",
    )
    parser.add_argument("path", metavar="PATH", help="the session log (.jsonl)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="output format")
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--allow-damaged",
        action="store_true",
        help="export what is readable from a damaged log (the damage is stated in the output)",
    )
    _add_key_options(parser)
    return parser


def _write(out: str | None, text: str) -> None:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:  # patient identifiers: 0600, through a temporary file and an atomic rename
        write_private(Path(out), text.encode("utf-8"))
    except OSError as exc:
        raise _UsageError(f"--out: cannot write {out}: {exc.strerror or exc}") from exc


def export_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator export` with `argv` (the words after "export").

    Returns:
        The exit status (see the module docstring).
    """
    prog = "titrator export"
    try:
        args = build_export_parser().parse_args(argv)
        key = _key(args.key_file, args.config)
        path = Path(args.path)
        if not path.is_file():
            raise _UsageError(f"{path}: no such file")
        try:
            review = load_review(path, key=key)
        except OSError as exc:
            raise _UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if review.integrity.damaged and not args.allow_damaged:
            _err(
                prog,
                f"{path} is damaged, nothing exported (--allow-damaged exports what is "
                f"readable, with the damage stated): {review.integrity.banner()}",
            )
            return EXIT_DAMAGED
        if args.format == "fhir":  # the site's identifier systems and the product's codes
            try:
                site = fhir_site(args.config, review.header.product_id)
            except LibraryFileError as exc:
                raise _UsageError("; ".join(exc.lines())) from exc
            _write(args.out, to_fhir_json(review, site))
        elif args.format == "hl7v2":  # OBR-2 names the order in the site's order system
            try:
                config = load_config(Path(args.config) if args.config is not None else None)
            except LibraryFileError as exc:
                raise _UsageError("; ".join(exc.lines())) from exc
            _write(args.out, to_hl7v2(review, config.fhir_order_id_system))
        else:
            _write(args.out, FORMATS[args.format](review))
    except _UsageError as exc:
        _err(prog, str(exc))
        return EXIT_USAGE
    except LogChangedError as exc:  # the export reads records again; the log changed meanwhile
        _err(prog, f"{exc}; nothing exported")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.out is not None:
        status = review.integrity.status.label
        print(f"{args.out}: {args.format} export of {path} (integrity: {status})", file=sys.stderr)
    return EXIT_OK
