"""`titrator ship [LOG_OR_DIR ...] [--db URL] [--json]`: send verified logs to the ward store.

Each log is verified first (a damaged log is refused with the reason, nothing of it stored),
then its new records and its rebuilt facts go to the store in one transaction, provided they
extend what the store holds (otherwise FORK at seq K, nothing stored). Reshipping changes
nothing. One line per log: `shipped N records`, `up to date`, `FORK at seq K: why`,
`DAMAGED: why` or `ERROR: why`; `--json` prints a list of objects with `file`, `session_id`,
`status`, `records` and `reason`.

Exit 0 when every log is shipped or up to date; 1 otherwise, or when the store cannot be
reached (one line; nothing partial is left behind); 2 bad input (a bad URL, a missing path).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from titrator.cli.parsing import EXIT_USAGE, Parser, add_json
from titrator.cli.site_key import key_for_reading
from titrator.cli.ward import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    add_store_options,
    data_dir,
    find_logs,
    open_for,
    site_config,
    site_key,
    store_url,
)
from titrator.store.db import StoreError
from titrator.store.ship import ShipResult, ship_log

PROG = "titrator ship"


def build_parser() -> Parser:
    """The options of `titrator ship`."""
    parser = Parser(
        prog=PROG,
        description="Verify session logs and ship them to the ward store. Exit codes: 0 every "
        "log shipped or up to date, 1 a log refused (fork, damaged, unreadable) or the store "
        "unreachable, 2 bad input.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="LOG_OR_DIR",
        help="session logs (.jsonl) or folders of them (default: the log directory)",
    )
    add_store_options(parser)
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help="site HMAC key file: MACs are checked and patients pseudonymised with it "
        "(default: the configured site key)",
    )
    add_json(parser, "one object per log")
    return parser


def _run(args: argparse.Namespace) -> int:
    config = site_config(args)
    url = store_url(args, config)
    key = site_key(key_for_reading(args.key_file, config))
    logs = find_logs(args.paths or [data_dir(config)], "LOG_OR_DIR")
    store = open_for(url)
    results: list[ShipResult] = []
    try:
        for log in logs:
            result = ship_log(store, log, key=key, ward=config.ward, now=datetime.now(UTC))
            results.append(result)
            if not args.json:
                sys.stdout.write(result.line() + "\n")
                sys.stdout.flush()
    except StoreError as error:
        raise CliError(str(error), EXIT_FAILED) from None
    finally:
        store.close()
    if args.json:
        sys.stdout.write(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def ship_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator ship` with `argv` (the words after "ship"); returns the exit status."""
    try:
        return _run(build_parser().parse_args(argv))
    except SystemExit as exc:  # --help, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except CliError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        return error.code
