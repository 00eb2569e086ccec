"""`titrator send [LOG ...] --mllp HOST:PORT`: the live IHE PCD feed to an interface engine.

Each log is verified first (a damaged log is refused with the reason, nothing of it queued);
its PCD-10 `ORU^R42` infusion events and PCD-04 `ORU^R40` pump alarms, in time order
(`titrator.interop.hl7v2.outgoing`), join the outbox, which keeps
the messages of earlier runs; then the outbox is sent in order over MLLP, each message waiting
for its application acknowledgement (`titrator.interop.hl7v2.feed`). `AA` delivers; `AE`/`AR`
is reported with its text and the message stays in the outbox as refused; a connection that
fails is retried with backoff for `--retry-for` seconds, then left pending for the next run.
With no LOG the outbox alone is sent (after a restart, say). The bedside app never runs this.

Output: one line per message tried (`delivered`, `REFUSED AE: text`, `waiting: why`), then a
summary; `--json` prints one object with `delivered`, `refused`, `pending` and `messages`.

Exit 0 when nothing is left pending or refused; 1 when a message was refused or is still
waiting (the engine unreachable), or a log is damaged; 2 bad input (a bad HOST:PORT, a missing
log, a bad option). Errors are one line and carry no patient data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import load_key
from titrator.cli.parsing import EXIT_USAGE, Parser, add_json
from titrator.cli.site_key import key_for_reading
from titrator.cli.ward import EXIT_FAILED, EXIT_OK, CliError, data_dir, find_logs, site_config
from titrator.interop.hl7v2.feed import (
    Endpoint,
    Feed,
    FeedError,
    Outbox,
    Sent,
    locked,
    parse_endpoint,
)
from titrator.interop.hl7v2.outgoing import outgoing
from titrator.review.model import load_review

PROG = "titrator send"
OUTBOX_NAME = "hl7v2-outbox.json"
"""The outbox's file name in the log directory (default of `--outbox`)."""


def endpoint_arg(text: str) -> Endpoint:
    """An argparse type for `--mllp`: HOST:PORT."""
    try:
        return parse_endpoint(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error} (got {text!r})") from None


def seconds_arg(text: str) -> float:
    """An argparse type for a number of seconds, 0 or more (`--retry-for`, `--timeout`)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not text.replace(".", "", 1).isdigit() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more (got {text!r})")
    return value


def build_parser() -> Parser:
    """The options of `titrator send`."""
    parser = Parser(
        prog=PROG,
        description="Send session logs as IHE PCD-10 ORU^R42 infusion events and PCD-04 "
        "ORU^R40 pump alarms over MLLP, each waiting "
        "for its acknowledgement, through an outbox that survives restarts. Exit codes: 0 "
        "everything delivered, 1 a message refused or still waiting, or a log damaged, "
        "2 bad input.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="LOG",
        help="session logs (.jsonl) or folders of them to queue (none: send the outbox only)",
    )
    parser.add_argument(
        "--mllp",
        required=True,
        type=endpoint_arg,
        metavar="HOST:PORT",
        help="the interface engine's MLLP listener",
    )
    parser.add_argument(
        "--outbox",
        type=Path,
        metavar="FILE",
        help=f"the outbox file (default: {OUTBOX_NAME} in the log directory)",
    )
    parser.add_argument(
        "--retry-for",
        type=seconds_arg,
        default=60.0,
        metavar="SECONDS",
        help="keep retrying an unreachable engine this long, then leave the rest queued "
        "(default 60)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg,
        default=10.0,
        metavar="SECONDS",
        help="wait this long for a connection and for each acknowledgement (default 10)",
    )
    parser.add_argument(
        "--key-file", type=Path, metavar="FILE", help="site HMAC key file (MACs are checked)"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="site configuration (TOML)")
    add_json(parser, "one object: counts and every message's status")
    return parser


def _key(args: argparse.Namespace) -> bytes | None:
    path = key_for_reading(args.key_file, site_config(args))
    if path is None:
        return None
    try:
        return load_key(path)
    except AuditKeyError as error:
        raise CliError(f"--key-file: {error}", EXIT_USAGE) from None


def queue_logs(
    outbox: Outbox, logs: Sequence[Path], key: bytes | None, order_id_system: str
) -> tuple[int, list[str]]:
    """Add the logs' messages to `outbox`; returns (messages added, damaged-log lines).

    OBR-2 names the order typed at setup in `order_id_system` (the site's).
    """
    added, damaged = 0, []
    for log in logs:
        try:
            review = load_review(log, key=key)
        except OSError as error:
            raise CliError(f"LOG: cannot read {log}: {error.strerror}", EXIT_USAGE) from None
        if review.integrity.damaged:
            damaged.append(f"{log}: DAMAGED, nothing queued: {review.integrity.banner()}")
            continue
        added += outbox.add(
            [
                (m.control_id, review.session_id, m.what, m.er7)
                for m in outgoing(review, order_id_system)
            ]
        )
    return added, damaged


def _line(sent: Sent) -> str:
    e = sent.entry
    if sent.outcome == "delivered":
        return f"delivered {e.what} ({e.control_id})"
    if sent.outcome == "refused":
        return f"REFUSED {e.detail} — kept in the outbox ({e.what}, {e.control_id})"
    return f"waiting: {e.detail} (try {e.attempts}; {e.what}, {e.control_id})"


def send_logs(
    args: argparse.Namespace,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Queue and send (the command without its error handling); clock and sleep injectable."""
    config = site_config(args)
    key = _key(args)
    logs = find_logs(args.paths, "LOG")
    outbox_path = args.outbox if args.outbox is not None else data_dir(config) / OUTBOX_NAME
    with locked(outbox_path):
        outbox = Outbox.load(outbox_path)
        added, damaged = queue_logs(outbox, logs, key, config.fhir_order_id_system)
        for entry in outbox.with_status("pending"):
            entry.next_try = 0.0  # a new run tries at once; the backoff paces one run's retries
        outbox.save()
        for line in damaged:
            sys.stderr.write(f"{PROG}: {line}\n")
        feed = Feed(outbox, args.mllp, clock=clock, timeout_s=args.timeout)
        sent = feed.drain(args.retry_for, sleep)
    if not args.json:
        for item in sent:
            sys.stdout.write(_line(item) + "\n")
    counts = {s: len(outbox.with_status(s)) for s in ("delivered", "refused", "pending")}
    if args.json:
        whole = {
            "endpoint": str(args.mllp),
            "outbox": str(outbox_path),
            "queued": added,
            **counts,
            "damaged_logs": len(damaged),
            "messages": [
                {k: getattr(e, k) for k in ("control_id", "what", "status", "attempts", "detail")}
                for e in outbox.entries
            ],
        }
        sys.stdout.write(json.dumps(whole, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(
            f"{added} queued; outbox {outbox_path}: {counts['delivered']} delivered, "
            f"{counts['refused']} refused, {counts['pending']} waiting\n"
        )
    ok = not damaged and counts["refused"] == 0 and counts["pending"] == 0
    return EXIT_OK if ok else EXIT_FAILED


def send_main(argv: Sequence[str] | None = None) -> int:
    """Run `titrator send` with `argv` (the words after "send"); returns the exit status."""
    try:
        return send_logs(build_parser().parse_args(argv))
    except SystemExit as exc:  # --help, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except CliError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        return error.code
    except FeedError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        return EXIT_FAILED
