"""`titrator simulate`: run a whole session headless from a JSON-lines script of events.

This is how a site tests its policy file against its own cases, and how training scenarios and
tests drive the engine. The format is documented in docs/admin/simulate.md. The runner plays a
perfect pump (every command is confirmed at once) and records the pre-infusion checks as done when
the session opens; with --auto-accept it also accepts every prompt that can be accepted, as a nurse
who always follows the recommendations would. Every input goes through `InfusionController`, as in
the app; with --audit-dir the controller records the session's audit log with the real
`AuditWriter`, stamped with the script's simulated time.

The script format lives in `titrator.shell.script`, the runner in `titrator.shell.headless`; this
module holds the command: its options, building the session, running a script and closing the
audit log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from titrator.audit.errors import AuditError, AuditStateError, AuditWriteError
from titrator.audit.spool import default_spool_dir
from titrator.audit.writer import AuditWriter
from titrator.cli.parsing import Parser, add_data_dir, add_library, error_line
from titrator.domain.clock import Clock, Instant
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.domain.session.engine import InfusionSession
from titrator.domain.units import InputError, parse_plain_decimal
from titrator.files.library import LibraryFileError, load_library
from titrator.files.policy import PolicyFileError, load_policy
from titrator.shell.controller import AuditSink, InfusionController
from titrator.shell.headless import TAIL_LIMIT_MS, Runner
from titrator.shell.opening import Opening
from titrator.shell.script import (
    INPUT_KEYS,
    ORIGIN_MONO_MS,
    ScriptError,
    ScriptLine,
    override_reason,
    parse_line,
    parse_script,
)

__all__ = [
    "DEFAULT_START",
    "INPUT_KEYS",
    "ORIGIN_MONO_MS",
    "TAIL_LIMIT_MS",
    "LogSetupError",
    "Runner",
    "ScriptError",
    "ScriptLine",
    "build_parser",
    "build_session",
    "finish_log",
    "override_reason",
    "parse_line",
    "run_script",
    "simulate_main",
]

DEFAULT_START = "2026-01-05T08:00:00Z"
PROG = "titrator simulate"


def build_parser() -> argparse.ArgumentParser:
    """The options of `titrator simulate`."""
    parser = Parser(
        prog="titrator simulate",
        description="Run a whole session headless from a JSON-lines script of events, as a "
        "site does to test its policy against its own cases.",
    )
    parser.add_argument("--product", required=True, help="product id (see `protocols list`)")
    parser.add_argument("--indication", required=True, help="indication id of the product")
    parser.add_argument("--weight-kg", required=True, help="actual body weight, kg")
    parser.add_argument("--dose-g-per-kg", required=True, help="dose for this infusion, g/kg")
    parser.add_argument(
        "--first-infusion", action="store_true", help="naive, switch or gap > 8 weeks"
    )
    parser.add_argument("--at-risk", action="store_true", help="renal or thrombosis risk")
    parser.add_argument(
        "--policy", type=Path, metavar="FILE", help="reaction policy file (default: shipped)"
    )
    add_library(parser)
    parser.add_argument("--auto-accept", action="store_true", help="accept every recommendation")
    parser.add_argument(
        "--events", required=True, metavar="FILE", help="JSON-lines script, or - for stdin"
    )
    parser.add_argument(
        "--start-utc", default=DEFAULT_START, metavar="TIME", help="wall time of t_min 0 (UTC)"
    )
    add_data_dir(parser, "write the session's audit log here (default: no log)", "--audit-dir")
    parser.add_argument("--station", default="headless", help="station id on every record")
    parser.add_argument("--nurse", default="simulate", help="user id on every record")
    parser.add_argument(
        "--key-file", type=Path, metavar="FILE", help="site HMAC key file for the audit log"
    )
    parser.add_argument("--session-id", help="session id and log name (default simulate-PRODUCT)")
    parser.add_argument(
        "--leave-open", action="store_true", help="leave the log unfinished (to try a resume)"
    )
    return parser


def build_session(args: argparse.Namespace) -> tuple[InfusionSession, str, str]:
    """Load the policy and library, build the plan and the session (errors raise)."""
    loaded = load_policy(args.policy)
    library = load_library(args.library)
    product = library.product(args.product)
    request = PlanRequest(
        product_id=args.product,
        indication_id=args.indication,
        weight_kg=parse_plain_decimal(args.weight_kg, "weight_kg"),
        dose_g_per_kg=parse_plain_decimal(args.dose_g_per_kg, "dose_g_per_kg"),
        first_infusion=args.first_infusion,
        at_risk=args.at_risk,
    )
    plan: Plan = build_plan(request, product)
    session_id = getattr(args, "session_id", None) or f"simulate-{args.product}"
    session = InfusionSession(plan, loaded.policy, session_id)
    return session, loaded.sha256, library.sha256.get(args.product, "")


def run_script(
    runner: Runner,
    stream: TextIO,
    shas: tuple[str, str],
    open_log: Callable[[Clock], AuditSink] | None = None,
    *,
    run_on: bool = True,
) -> int:
    """Run a script: open the session at the first line, feed every line, run on after the last.

    Args:
        runner: the runner.
        stream: the script, parsed and validated line by line as it runs.
        shas: the policy's and the product file's SHA-256, recorded in `session_opened`.
        open_log: opens the audit log as the session opens (see `Runner.open`).
        run_on: after the last line, let time run on until nothing more is due.

    Returns:
        0, or 2 after a bad line (reported on stderr; nothing after it runs).
    """
    lines = parse_script(stream, runner.session.policy)
    try:
        runner.run(lines, Opening(*shas), open_log, run_on=run_on)
    except ScriptError as error:
        if runner.out is not None:
            runner.out.flush()
        print(str(error), file=sys.stderr)
        return 2
    return 0


class LogSetupError(Exception):
    """The audit log of a headless run could not be created (bad directory, key or id)."""


def finish_log(writer: AuditWriter, runner: Runner, leave_open: bool) -> int:
    """Close the log (unless the engine did, or asked to leave it open) and report it on stderr.

    A session the script did not bring to its end is closed by the writer itself
    (`closed_by: audit_writer`), so that the log verifies; `leave_open` leaves it unfinished.
    When the log cannot be written the closing record joins the others in the spool, and the
    report says where they are and that `titrator resume` merges them into the log.

    Returns:
        0, or 1 when records could not be written to the log.
    """
    now = runner.current()
    try:
        if leave_open:
            writer.release()
        elif not writer.closed:
            try:
                reason = f"end of script (session {runner.session.state.value})"
                writer.close(reason=reason, now=now.wall_utc, mono_ms=now.mono_ms)
            except AuditStateError:  # the engine's closing record is pending: write it now
                writer.retry()
    except AuditWriteError as error:
        print(f"audit: {error}", file=sys.stderr)
        session = writer.session_id
        if writer.pending_in == "spool":
            writer.abandon()  # the run ends here: its records wait in the spool
            print(
                f"audit: every record is safe in the spool {writer.spool_path}; once the log's "
                f"disk has room, `titrator resume {session}` merges them into {writer.path}",
                file=sys.stderr,
            )
        else:
            print(
                f"audit: {writer.pending_count} record(s) of session {session} could not be "
                "written to the log or the spool and are lost",
                file=sys.stderr,
            )
        return 1
    head = writer.head
    print(f"audit log: {writer.path}", file=sys.stderr)
    if head is not None:
        state = "" if writer.closed else " (unfinished: resume it with titrator resume)"
        print(f"head: {head.hash}{state}", file=sys.stderr)
    return 0


def simulate_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `titrator simulate`. Returns the exit code (0 ok, 1 audit log, 2 input)."""
    words = list(argv) if argv is not None else sys.argv[1:]
    args = build_parser().parse_args(words)
    try:
        start_wall = datetime.fromisoformat(args.start_utc.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        reason = "not an ISO 8601 time such as 2026-01-05T08:00:00Z"
        print(error_line(PROG, "--start-utc", reason, args.start_utc), file=sys.stderr)
        return 2
    try:
        session, policy_sha, library_sha = build_session(args)
    except (PolicyFileError, LibraryFileError) as error:
        for line in error.lines():
            print(f"{PROG}: error: {line}", file=sys.stderr)
        return 2
    except (InputError, PlanError) as error:
        option = "--" + error.field.replace("_", "-")
        got = getattr(args, error.field, None)
        print(error_line(PROG, option, error.reason, got), file=sys.stderr)
        return 2
    except KeyError as error:
        print(error_line(PROG, "--product", str(error.args[0]), args.product), file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    start = Instant(wall_utc=start_wall, mono_ms=ORIGIN_MONO_MS)
    controller = InfusionController(session, None)
    runner = Runner(controller, start, args.auto_accept, sys.stdout)
    writers: list[AuditWriter] = []
    log_option = "--audit-dir" if "--audit-dir" in words else "--data-dir"  # as typed

    def open_log(clock: Clock) -> AuditWriter:
        try:
            writer = AuditWriter.create(
                session.session_id,
                station_id=args.station,
                nurse_id=args.nurse,
                data_dir=args.data_dir,
                key_file=args.key_file,
                clock=clock,
                spool_dir=default_spool_dir(),
            )
        except (AuditError, ValueError) as error:
            raise LogSetupError(f"{log_option}: {error}") from error
        writers.append(writer)
        return writer

    try:
        stream = sys.stdin if args.events == "-" else open(args.events, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        print(f"--events: cannot read {args.events}: {error.strerror}", file=sys.stderr)
        return 2
    with stream:
        log = open_log if args.data_dir is not None else None
        try:
            code = run_script(runner, stream, (policy_sha, library_sha), log)
        except LogSetupError as error:
            print(str(error), file=sys.stderr)
            return 2
    if writers:
        logged = finish_log(writers[0], runner, args.leave_open or code != 0)
        return code or logged
    return code
