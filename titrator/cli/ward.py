"""`titrator ward …`: set up and check the ward store.

Usage::

    titrator ward init [--db URL]
    titrator ward verify [--db URL] [--json]
    titrator ward report NAME [--db URL] [--since DATE] [--ward W] [--include-training] [--json]

`init` creates the schema from empty (the migrations) and, on PostgreSQL, the `titrator_ship`
role with its grants. `verify` re-checks every stored chain inside the store and prints one
line per station (exit 0 every chain intact, 1 a chain broken or the store unreachable, 2 bad
input). `report` runs one ward report over the facts (`titrator.store.reports`): text that
fits 80 columns, or `--json` a list of row objects; training sessions are left out unless
`--include-training` (exit 0, 1 the store unreachable, 2 bad input). The store is `--db`, else
the config's `ward_db`, else `<data dir>/ward.sqlite`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import load_key
from titrator.audit.paths import default_data_dir
from titrator.cli.parsing import EXIT_USAGE, Parser, add_json, subcommands
from titrator.files.config import AppConfig, load_config
from titrator.files.library import LibraryFileError
from titrator.store.db import Store, StoreError, grant_ship_role, open_store
from titrator.store.reports import REPORTS, ReportFilter, run_report
from titrator.store.url import StoreUrl, StoreUrlError, parse_store_url
from titrator.store.witness import verify_store

EXIT_OK = 0
EXIT_FAILED = 1


class CliError(Exception):
    """A one-line error for `prog: error: MESSAGE`, with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def find_logs(paths: Sequence[Path], argument: str) -> list[Path]:
    """The logs named, folders expanded to their `*.jsonl` files (sorted).

    A path that is neither is a usage error naming `argument` (the command's positional name).
    """
    logs: list[Path] = []
    for path in paths:
        if path.is_dir():
            logs.extend(sorted(path.glob("*.jsonl")))
        elif path.is_file():
            logs.append(path)
        else:
            raise CliError(f"{argument}: no such file or folder (got {str(path)!r})", EXIT_USAGE)
    return logs


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """`--db URL` and `--config FILE`."""
    parser.add_argument(
        "--db",
        metavar="URL",
        help="the ward store: sqlite:///PATH, a file path or postgresql://... "
        "(default: the config's ward_db, else DATA_DIR/ward.sqlite)",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="site configuration file")


def site_config(args: argparse.Namespace) -> AppConfig:
    """The site configuration (`--config`, else the usual places)."""
    try:
        return load_config(args.config)
    except LibraryFileError as error:
        raise CliError("; ".join(error.lines()), EXIT_FAILED) from None


def data_dir(config: AppConfig) -> Path:
    """The log directory: the config's `data_dir`, else the default."""
    return config.data_dir if config.data_dir is not None else default_data_dir()


def store_url(args: argparse.Namespace, config: AppConfig) -> StoreUrl:
    """The store URL: `--db`, else the config's `ward_db`, else `<data dir>/ward.sqlite`."""
    if args.db is not None:
        text, option = args.db, "--db"
    elif config.ward_db is not None:
        text, option = config.ward_db, "ward_db (config)"
    else:
        return parse_store_url(str(data_dir(config) / "ward.sqlite"))
    try:
        return parse_store_url(text)
    except StoreUrlError as error:
        raise CliError(f"{option}: {error}", EXIT_USAGE) from None


def site_key(key_file: Path | None) -> bytes | None:
    """The site key from its file, or None when no key file is configured."""
    if key_file is None:
        return None
    try:
        return load_key(key_file)
    except AuditKeyError as error:
        raise CliError(f"--key-file: {error}", EXIT_USAGE) from None


def open_for(url: StoreUrl) -> Store:
    """Open the store; an unreachable store is a one-line error (exit 1)."""
    try:
        return open_store(url)
    except StoreError as error:
        raise CliError(str(error), EXIT_FAILED) from None


def since_arg(text: str) -> datetime:
    """An argparse type for `--since`: a date YYYY-MM-DD, as its first instant in UTC."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD (got {shown!r})")
    return datetime.combine(day, time(0), tzinfo=UTC)


def build_parser() -> Parser:
    """The options of `titrator ward` and its subcommands."""
    parser = Parser(prog="titrator ward", description="Set up and check the ward store.")
    commands = subcommands(parser, "command")
    init = commands.add_parser(
        "init",
        help="create the store's schema (and the PostgreSQL shipping role)",
        description="Create the ward store's schema from empty and, on PostgreSQL, the "
        "titrator_ship role (SELECT and INSERT on the evidence). Exit 0 done, 1 failed, "
        "2 bad input.",
    )
    add_store_options(init)
    init.set_defaults(parser=init)
    verify = commands.add_parser(
        "verify",
        help="re-check every stored chain, per station",
        description="Re-check every stored chain inside the store and report per station. "
        "Exit 0 every chain intact, 1 a chain broken or the store unreachable, 2 bad input.",
    )
    add_store_options(verify)
    add_json(verify, "one object per station")
    verify.set_defaults(parser=verify)
    report = commands.add_parser(
        "report",
        help="one ward report over the stored facts",
        description="Run one report over the stored sessions (UTC): "
        + ", ".join(REPORTS)
        + ". Training sessions are left out unless --include-training; patients never "
        "appear. Exit 0 done, 1 the store unreachable, 2 bad input.",
    )
    report.add_argument("name", choices=list(REPORTS), metavar="NAME", help="the report")
    add_store_options(report)
    report.add_argument(
        "--since", type=since_arg, metavar="DATE", help="sessions opened on or after DATE (UTC)"
    )
    report.add_argument("--ward", metavar="W", help="only the sessions of ward W")
    report.add_argument(
        "--include-training",
        action="store_true",
        help="include training and demo sessions (left out by default)",
    )
    add_json(report, "a list of row objects")
    report.set_defaults(parser=report)
    return parser


def _report(args: argparse.Namespace, store: Store) -> int:
    filt = ReportFilter(args.since, args.ward, args.include_training)
    try:
        report = run_report(store, args.name, filt)
    except StoreError as error:
        raise CliError(str(error), EXIT_FAILED) from None
    if args.json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in report.lines()))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    url = store_url(args, site_config(args))
    store = open_for(url)
    try:
        if args.command == "init":
            try:
                grant_ship_role(store)
            except StoreError as error:
                raise CliError(str(error), EXIT_FAILED) from None
            role = " and the titrator_ship role" if store.is_postgres else ""
            sys.stdout.write(f"ward store ready: {url.shown} (schema{role})\n")
            return EXIT_OK
        if args.command == "report":
            return _report(args, store)
        try:
            reports = verify_store(store)
        except StoreError as error:
            raise CliError(str(error), EXIT_FAILED) from None
    finally:
        store.close()
    if args.json:
        sys.stdout.write(json.dumps([r.as_json() for r in reports], indent=2) + "\n")
    else:
        if not reports:
            sys.stdout.write(f"{url.shown}: no records stored yet\n")
        for report in reports:
            sys.stdout.write("".join(line + "\n" for line in report.lines()))
    return EXIT_OK if all(report.ok for report in reports) else EXIT_FAILED


def ward_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator ward` with `argv` (the words after "ward"); returns the exit status."""
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # named by the subcommand they were given to
            args.parser.error("unrecognized arguments: " + " ".join(extra))
        return _run(args)
    except SystemExit as exc:  # --help, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except CliError as error:
        sys.stderr.write(f"titrator ward: error: {error}\n")
        return error.code
