"""`titrator audit …`: verify session logs and create key files.

Usage::

    titrator audit verify PATH [PATH ...] [--key-file F] [--expect-head HASH] [--json]
    titrator audit replay PATH [PATH ...] [--key-file F] [--json]
    titrator audit keygen KEY_FILE

Both `verify` and `replay` use the site key named by the configuration (``--config``,
``$TITRATOR_CONFIG`` or the user's ``config.toml``) unless ``--key-file`` is given. A log checked
with neither a key nor ``--expect-head`` is reported as CHAIN-ONLY ("hash chain only: not
protected against rewriting; give the site key or the head hash"), never as verified; its exit
code is 0 like OK, since nothing wrong was found.

`verify` prints one line per log and exits with the worst outcome's code:

====  ==========  =============================================================
code  outcome     meaning
====  ==========  =============================================================
0     OK          every record intact, session closed, MACs checked or anchor matched
0     CHAIN-ONLY  as OK, but checked by the hash chain only (no key, no anchor)
3     UNFINISHED  intact but no closing record (crash, still running, tail cut)
4     TORN_TAIL   as UNFINISHED, and the last line is incomplete
2     ERROR       a log or the key file could not be read, or bad arguments
1     DAMAGED     tampering or corruption; names the first bad line and seq
====  ==========  =============================================================

"Worst" ranks DAMAGED > ERROR > TORN_TAIL > UNFINISHED > OK. An unfinished log whose records
wait in the spool (the configured `spool_dir`: its disk was full) is noted on stderr, with the
`titrator resume` that merges them.

`replay` verifies each log, replays its engine events through a fresh session and prints EQUAL,
or DIFFERS with the first differing record (line, seq, recorded and replayed JSON). Exit 0 when
every log replays exactly, 1 when one differs or cannot be replayed (damaged), 2 when a log or
the key file cannot be read.

With `--json` both print one JSON array, one object per log, instead of the lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import generate_key_file, load_key
from titrator.audit.log_replay import LogReplay, replay_log
from titrator.audit.paths import LOG_SUFFIX
from titrator.audit.spool import default_spool_dir, spool_file
from titrator.audit.verify import Outcome, VerifyResult, verify_log
from titrator.cli.parsing import Parser, add_json, error_line, subcommands
from titrator.cli.site_key import key_for_reading
from titrator.files.config import load_config
from titrator.files.library import LibraryFileError


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="site configuration file (TOML); names the site key"
    )


def build_parser() -> Parser:
    """The options of `titrator audit` and its subcommands."""
    parser = Parser(
        prog="titrator audit", description="Check and manage tamper-evident session logs."
    )
    commands = subcommands(parser, "command")
    verify = commands.add_parser(
        "verify",
        help="verify session logs",
        description="Verify session logs. Exit codes: 0 ok, 1 damaged, 2 error, 3 unfinished, "
        "4 torn tail (several logs: the worst).",
    )
    verify.add_argument("paths", nargs="+", metavar="PATH", help="session log (.jsonl)")
    verify.add_argument(
        "--key-file",
        metavar="FILE",
        help="site HMAC key file; MACs are then required (default: the configured site key)",
    )
    _add_config(verify)
    verify.add_argument(
        "--expect-head",
        metavar="HASH",
        help="head hash recorded in the chart (64 hex digits, or a prefix of 16 or more)",
    )
    add_json(verify, "one result per log")
    replay = commands.add_parser(
        "replay",
        help="replay session logs through the engine and compare",
        description="Replay session logs through the engine and compare. Exit codes: 0 every "
        "log replays exactly, 1 one differs or is damaged, 2 a log or the key file cannot be read.",
    )
    replay.add_argument("paths", nargs="+", metavar="PATH", help="session log (.jsonl)")
    replay.add_argument(
        "--key-file",
        metavar="FILE",
        help="site HMAC key file; MACs are then checked (default: the configured site key)",
    )
    _add_config(replay)
    add_json(replay, "one result per log")
    keygen = commands.add_parser(
        "keygen",
        help="create a new random key file (mode 0600)",
        description="Create a new random HMAC key file (mode 0600); keep it outside the log "
        "directory.",
    )
    keygen.add_argument("key_file", metavar="KEY_FILE", help="the key file to create")
    return parser


def verify_json(result: VerifyResult) -> dict[str, Any]:
    """One verification as a JSON object."""
    return {
        "path": str(result.path),
        "outcome": result.label,
        "protected": result.protected,
        "exit_code": result.exit_code,
        "reason": result.reason,
        "records": result.records,
        "line": result.line,
        "seq": result.seq,
        "head": result.head.hash if result.head is not None else None,
        "session_id": result.session_id,
        "keyed": result.keyed,
        "mac_checked": result.mac_checked,
        "closed": result.closed,
    }


def replay_json(outcome: LogReplay) -> dict[str, Any]:
    """One replay as a JSON object."""
    diff = outcome.difference
    return {
        "path": str(outcome.path),
        "result": "equal" if outcome.equal else "differs",
        "exit_code": outcome.exit_code,
        "problem": outcome.problem,
        "verification": outcome.verification.label,
        "inputs": len(outcome.result.decisions) if outcome.result is not None else 0,
        "events": len(outcome.events),
        "skipped": dict(sorted(outcome.skipped.items())),
        "unrecorded": [event.kind for event in outcome.unrecorded],
        "difference": None
        if diff is None
        else {
            "line": diff.line,
            "seq": diff.seq,
            "input_line": diff.input_line,
            "input_seq": diff.input_seq,
            "input_kind": diff.input_kind,
            "recorded": diff.recorded,
            "replayed": diff.replayed,
        },
    }


def _print_json(rows: list[dict[str, Any]]) -> None:
    _out(json.dumps(rows, indent=2, ensure_ascii=False))


def _key(args: argparse.Namespace) -> bytes | None:
    """The key named by --key-file, else the configured site key, else None.

    Raises:
        AuditKeyError: the key file is unsafe or unreadable, or the configuration is invalid.
    """
    try:
        config = load_config(Path(args.config) if args.config is not None else None)
    except LibraryFileError as error:
        raise AuditKeyError("; ".join(error.lines())) from error
    key_file = key_for_reading(args.key_file, config)
    return load_key(key_file) if key_file is not None else None


def _spool_dir(args: argparse.Namespace) -> Path:
    """The configured `spool_dir`, else the default spool directory."""
    try:
        config = load_config(Path(args.config) if args.config is not None else None)
    except LibraryFileError:  # already reported by `_key`
        return default_spool_dir()
    return config.spool_dir or default_spool_dir()


def _spool_note(result: VerifyResult, path: str, spool_dir: Path) -> None:
    """Say so when records of an unfinished log wait in the spool (its disk was full)."""
    if result.outcome not in (Outcome.UNFINISHED, Outcome.TORN_TAIL):
        return
    session = result.session_id or Path(path).name.removesuffix(LOG_SUFFIX)
    try:
        spool = spool_file(spool_dir, session)
        waiting = len(spool.read_bytes().splitlines()) if spool.exists() else 0
    except (ValueError, OSError):
        return
    if waiting:
        _err(
            f"{path}: {waiting} record(s) of session {session} wait in the spool {spool} "
            f"(the log could not be written): `titrator resume {session}` merges them"
        )


def _key_error(command: str, exc: AuditKeyError, args: argparse.Namespace) -> int:
    option = "--key-file" if args.key_file is not None else "key_file (site configuration)"
    _err(error_line(f"titrator audit {command}", option, str(exc)))
    return Outcome.ERROR.exit_code


def _replay(args: argparse.Namespace) -> int:
    try:
        key = _key(args)
    except AuditKeyError as exc:
        return _key_error("replay", exc, args)
    rank = {0: 0, 2: 1, 1: 2}  # as for verify: a difference outranks an unreadable log
    worst = 0
    rows: list[dict[str, Any]] = []
    for path in args.paths:
        outcome = replay_log(path, key=key)
        if args.json:
            rows.append(replay_json(outcome))
        else:
            for line in outcome.summary():
                _out(line)
        worst = max(worst, outcome.exit_code, key=rank.__getitem__)
    if args.json:
        _print_json(rows)
    return worst


def _verify(args: argparse.Namespace) -> int:
    prog = "titrator audit verify"
    if args.expect_head is not None and len(args.paths) != 1:
        _err(error_line(prog, "--expect-head", "applies to exactly one log"))
        return Outcome.ERROR.exit_code
    try:
        key = _key(args)
    except AuditKeyError as exc:
        return _key_error("verify", exc, args)
    spool_dir = _spool_dir(args)
    worst = Outcome.OK
    rows: list[dict[str, Any]] = []
    for path in args.paths:
        try:
            result = verify_log(path, key=key, expect_head=args.expect_head)
        except ValueError as exc:
            _err(error_line(prog, "--expect-head", str(exc), args.expect_head))
            return Outcome.ERROR.exit_code
        if args.json:
            rows.append(verify_json(result))
        else:
            _out(result.summary())
        _spool_note(result, path, spool_dir)
        if result.outcome.rank > worst.rank:
            worst = result.outcome
    if args.json:
        _print_json(rows)
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
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors and --help this way
        return exc.code if isinstance(exc.code, int) else Outcome.ERROR.exit_code
    if args.command == "keygen":
        try:
            ident = generate_key_file(args.key_file)
        except AuditKeyError as exc:
            _err(error_line("titrator audit keygen", "KEY_FILE", str(exc), args.key_file))
            return Outcome.ERROR.exit_code
        _out(f"created {args.key_file} (key id {ident}); keep it outside the log directory")
        return 0
    if args.command == "replay":
        return _replay(args)
    return _verify(args)
