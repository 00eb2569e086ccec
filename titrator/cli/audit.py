"""`titrator audit …`: verify session logs and create key files.

Usage::

    titrator audit verify PATH [PATH ...] [--key-file F] [--expect-head HASH]
    titrator audit replay PATH [PATH ...] [--key-file F]
    titrator audit keygen KEY_FILE

`verify` prints one line per log and exits with the worst outcome's code:

====  ==========  =============================================================
code  outcome     meaning
====  ==========  =============================================================
0     OK          every record intact, session closed, anchor matches if given
3     UNFINISHED  intact but no closing record (crash, still running, tail cut)
4     TORN_TAIL   as UNFINISHED, and the last line is incomplete
2     ERROR       a log or the key file could not be read, or bad arguments
1     DAMAGED     tampering or corruption; names the first bad line and seq
====  ==========  =============================================================

"Worst" ranks DAMAGED > ERROR > TORN_TAIL > UNFINISHED > OK.

`replay` verifies each log, replays its engine events through a fresh session and prints EQUAL,
or DIFFERS with the first differing record (line, seq, recorded and replayed JSON). Exit 0 when
every log replays exactly, 1 when one differs or cannot be replayed (damaged), 2 when a log or
the key file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import generate_key_file, load_key
from titrator.audit.log_replay import replay_log
from titrator.audit.verify import Outcome, verify_log


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="titrator audit", description="Check and manage tamper-evident session logs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify session logs",
        description="Exit codes: 0 ok, 1 damaged, 2 error, 3 unfinished, 4 torn tail "
        "(several logs: the worst).",
    )
    verify.add_argument("paths", nargs="+", metavar="PATH", help="session log (.jsonl)")
    verify.add_argument("--key-file", help="site HMAC key file; MACs are then required")
    verify.add_argument(
        "--expect-head",
        metavar="HASH",
        help="head hash recorded in the chart (64 hex digits, or a prefix of 16 or more)",
    )
    replay = commands.add_parser(
        "replay",
        help="replay session logs through the engine and compare",
        description="Exit codes: 0 every log replays exactly, 1 one differs or is damaged, "
        "2 a log or the key file cannot be read.",
    )
    replay.add_argument("paths", nargs="+", metavar="PATH", help="session log (.jsonl)")
    replay.add_argument("--key-file", help="site HMAC key file; MACs are then checked")
    keygen = commands.add_parser("keygen", help="create a new random key file (mode 0600)")
    keygen.add_argument("key_file", metavar="KEY_FILE")
    return parser


def _key(args: argparse.Namespace) -> bytes | None:
    """The key named by --key-file, or None (raises AuditKeyError)."""
    return load_key(args.key_file) if args.key_file is not None else None


def _replay(args: argparse.Namespace) -> int:
    try:
        key = _key(args)
    except AuditKeyError as exc:
        _err(f"ERROR {exc}")
        return Outcome.ERROR.exit_code
    rank = {0: 0, 2: 1, 1: 2}  # as for verify: a difference outranks an unreadable log
    worst = 0
    for path in args.paths:
        outcome = replay_log(path, key=key)
        for line in outcome.summary():
            _out(line)
        worst = max(worst, outcome.exit_code, key=rank.__getitem__)
    return worst


def _verify(args: argparse.Namespace) -> int:
    if args.expect_head is not None and len(args.paths) != 1:
        _err("--expect-head applies to exactly one log")
        return Outcome.ERROR.exit_code
    try:
        key = _key(args)
    except AuditKeyError as exc:
        _err(f"ERROR {exc}")
        return Outcome.ERROR.exit_code
    worst = Outcome.OK
    for path in args.paths:
        try:
            result = verify_log(path, key=key, expect_head=args.expect_head)
        except ValueError as exc:
            _err(f"ERROR {exc}")
            return Outcome.ERROR.exit_code
        _out(result.summary())
        if result.outcome.rank > worst.rank:
            worst = result.outcome
    return worst.exit_code


def audit_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator audit` with `argv` (the words after "audit").

    Args:
        argv: command-line words, e.g. `["verify", "s1.jsonl", "--key-file", "site.key"]`;
            default `sys.argv[1:]`.

    Returns:
        The exit status (see the module docstring).
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors and --help this way
        return exc.code if isinstance(exc.code, int) else Outcome.ERROR.exit_code
    if args.command == "keygen":
        try:
            ident = generate_key_file(args.key_file)
        except AuditKeyError as exc:
            _err(f"ERROR {exc}")
            return Outcome.ERROR.exit_code
        _out(f"created {args.key_file} (key id {ident}); keep it outside the log directory")
        return 0
    if args.command == "replay":
        return _replay(args)
    return _verify(args)
