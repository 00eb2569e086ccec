"""`titrator simulate`: run a whole session headless from a JSON-lines script of events.

This is how a site tests its policy file against its own cases, and how training scenarios and
tests drive the engine. The format is documented in docs/simulate.md. The runner plays a perfect
pump (every command is confirmed at once) and records the pre-infusion checks as done when the
session opens; with --auto-accept it also accepts every prompt that can be accepted, as a nurse
who always follows the recommendations would. Every input goes through `InfusionController`, as
in the app; with --audit-dir the controller records the session's audit log with the real
`AuditWriter`, stamped with the script's simulated time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from titrator.audit.errors import AuditError, AuditWriteError
from titrator.audit.writer import AuditWriter
from titrator.controller import InfusionController
from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import MS_PER_MIN, Instant
from titrator.domain.decisions import (
    Choice,
    Decision,
    OverrideReason,
    PromptKind,
    PumpCommand,
    PumpCommandKind,
    SessionState,
)
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    LotRecorded,
    NurseDecided,
    PauseRequested,
    PumpOutcome,
    PumpStatusRead,
    SessionOpened,
    StopRequested,
    SymptomsEntered,
    Tick,
    VitalsEntered,
)
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.domain.policy import Policy
from titrator.domain.session import InfusionSession
from titrator.domain.units import InputError, parse_plain_decimal, plain
from titrator.domain.vitals import VitalsError, parse_symptoms, parse_vitals
from titrator.library_files import LibraryFileError, load_library
from titrator.policy_files import PolicyFileError, load_policy

ORIGIN_MONO_MS = 24 * 60 * MS_PER_MIN
"""Monotonic reading at t_min = 0 (a day in, so negative t_min stay non-negative)."""
DEFAULT_START = "2026-01-05T08:00:00Z"
TAIL_LIMIT_MS = 48 * 60 * MS_PER_MIN
"""After the last line, time runs on at most this long (or until nothing more is due)."""
INPUT_KEYS = ("vitals", "symptoms", "decision", "lot", "pause", "stop")


class ScriptError(ValueError):
    """A malformed or out-of-range script line.

    Attributes:
        line: 1-based line number.
        field: the field at fault.
    """

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(f"line {line}: {field}: {reason}")
        self.line = line
        self.field = field


@dataclass(frozen=True)
class ScriptLine:
    """One validated script line."""

    number: int
    t_ms: int
    data: dict[str, Any]


def _json(value: object) -> str:
    """JSON with Decimals written as plain numbers (never through float)."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _raw_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    return None


def parse_line(number: int, text: str, policy: Policy, last_ms: int | None) -> ScriptLine:
    """Validate one script line (shape, time, and vitals/symptoms values).

    Raises:
        ScriptError: naming the line and the field.
    """
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ScriptError(number, "line", f"not valid JSON ({error.msg})") from error
    if not isinstance(data, dict):
        raise ScriptError(number, "line", "each line must be a JSON object")
    t_min = data.get("t_min")
    if isinstance(t_min, bool) or not isinstance(t_min, int | Decimal):
        raise ScriptError(number, "t_min", "a number of minutes is required")
    t_ms = ORIGIN_MONO_MS + int(Decimal(t_min) * MS_PER_MIN)
    if t_ms < 0:
        raise ScriptError(number, "t_min", "too far before the start")
    if last_ms is not None and t_ms < last_ms:
        raise ScriptError(number, "t_min", "time must not go backwards")
    present = [key for key in INPUT_KEYS if key in data]
    if len(present) != 1:
        raise ScriptError(number, "line", f"exactly one of {', '.join(INPUT_KEYS)} is required")
    key = present[0]
    allowed = {"t_min", key} | {"decision": {"reason", "note"}, "symptoms": {"other"}}.get(
        key, set()
    )
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScriptError(number, unknown[0], "unknown key")
    _check_input(number, key, data, policy)
    return ScriptLine(number, t_ms, data)


def _check_input(number: int, key: str, data: dict[str, Any], policy: Policy) -> None:
    value = data[key]
    if key == "vitals":
        if not isinstance(value, dict):
            raise ScriptError(number, "vitals", "an object of field: value is required")
        raw: dict[str, str] = {}
        for name, item in value.items():
            text = _raw_text(item)
            if text is None:
                raise ScriptError(number, f"vitals.{name}", "a number or a string is required")
            raw[name] = text
        try:
            parse_vitals(raw, policy.monitoring.required_vitals)
        except VitalsError as error:
            first = error.errors[0]
            got = f" (got {first.raw!r})" if first.raw else ""
            raise ScriptError(number, f"vitals.{first.field}", first.reason + got) from error
        data[key] = raw
    elif key == "symptoms":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScriptError(number, "symptoms", "a list of symptom ids is required")
        try:
            parse_symptoms(value)
        except InputError as error:
            raise ScriptError(number, "symptoms", f"{error.reason} (got {error.raw!r})") from error
        if not isinstance(data.get("other", ""), str):
            raise ScriptError(number, "other", "free text is required")
    elif key == "decision":
        if value not in ("accept", "override"):
            raise ScriptError(number, "decision", "must be 'accept' or 'override'")
        if value == "override" and not str(data.get("reason", "")).strip():
            raise ScriptError(number, "reason", "an override needs a reason")
    elif not isinstance(value, str) or not value.strip():
        raise ScriptError(number, key, "a non-empty string is required")


def override_reason(text: str, note: str = "") -> tuple[OverrideReason, str]:
    """'prescriber_order', 'prescriber_order: Dr A', or free text (reason 'other')."""
    code, _, rest = text.partition(":")
    known = {r.value: r for r in OverrideReason}
    if code.strip() in known:
        return known[code.strip()], " ".join(p for p in (rest.strip(), note.strip()) if p)
    return OverrideReason.OTHER, " ".join(p for p in (text.strip(), note.strip()) if p)


class ScriptClock:
    """The audit writer's clock in a headless run: the script's simulated time."""

    def __init__(self, read: Callable[[], Instant]) -> None:
        self._read = read

    def now(self) -> datetime:
        """Simulated UTC wall time."""
        return self._read().wall_utc

    def monotonic(self) -> float:
        """Simulated monotonic reading, in seconds."""
        return self._read().mono_ms / 1000


class Runner:
    """Drives one session from script lines and prints one JSON line per decision.

    Every input goes through an `InfusionController`, which records its events before releasing
    any command, exactly as in the app.
    """

    def __init__(
        self, controller: InfusionController, start: Instant, auto_accept: bool, out: TextIO
    ):
        self.controller = controller
        self.session = controller.session
        self.start = start
        self.auto_accept = auto_accept
        self.out = out
        self.now_ms: int | None = None
        self.pump_rate_ml_per_h = Decimal(0)
        """What the pump really runs at (commands withheld by the controller never reach it)."""

    def instant(self, t_ms: int) -> Instant:
        """The instant at monotonic `t_ms` (wall clock in step with it)."""
        return self.start.after_ms(t_ms - self.start.mono_ms)

    def current(self) -> Instant:
        """The simulated time now."""
        return self.instant(self.start.mono_ms if self.now_ms is None else self.now_ms)

    def emit(self, decision: Decision, trigger: str) -> None:
        """Print a decision (quiet ticks print nothing)."""
        if not decision.events:
            return
        t_min = Decimal(decision.events[0].at.mono_ms - ORIGIN_MONO_MS) / MS_PER_MIN
        line: dict[str, object] = {
            "t_min": Decimal(plain(t_min, 3)),
            "trigger": trigger,
            "state": decision.state.value,
            "step": decision.step,
            "rate_ml_per_h": decision.rate_ml_per_h,
            "volume_ml": Decimal(plain(decision.volume_ml, 1)),
            "prompt": decision.prompt.kind.value if decision.prompt else None,
        }
        rec = decision.recommendation
        if rec is not None:
            line["recommendation"] = {
                "action": rec.action.value,
                "rule_ids": list(rec.rule_ids),
                "reason": rec.reason,
            }
        if decision.refusal is not None:
            line["refused"] = decision.refusal
        if decision.alarms:
            line["alarms"] = [a.value for a in decision.alarms]
        self.out.write(_json(line) + "\n")

    def feed(self, event: InputEvent, trigger: str) -> None:
        """Feed one input; print, send the released commands, then auto-accept if asked."""
        if self.controller.closing:
            # The engine closed the session and its log: later inputs are refused, not logged.
            self.emit(self.session.handle(event), trigger)
            return
        applied = self.controller.feed(event)
        self.emit(applied.decision, trigger)
        self.send(applied.commands, event.at)
        if self.auto_accept and self._acceptable(event.at):
            self.feed(NurseDecided(at=event.at, choice=Choice.ACCEPT), "auto-accept")

    def send(self, commands: Sequence[PumpCommand], now: Instant) -> None:
        """Send commands to the pump and feed its replies back (silently)."""
        for command in commands:
            for reply in self.pump_replies(command, now):
                self.send(self.controller.feed(reply).commands, now)

    def pump_replies(self, command: PumpCommand, now: Instant) -> list[InputEvent]:
        """A perfect pump: every command is confirmed at once, a status read tells the truth."""
        if command.kind is PumpCommandKind.READ_STATUS:
            rate = self.pump_rate_ml_per_h
            return [PumpStatusRead(at=now, running=rate > 0, rate_ml_per_h=rate)]
        self.pump_rate_ml_per_h = command.rate_ml_per_h or Decimal(0)
        return [
            PumpOutcome(
                at=now,
                command_id=command.command_id,
                outcome="confirmed",
                reported_rate_ml_per_h=command.rate_ml_per_h,
            )
        ]

    def _acceptable(self, now: Instant) -> bool:
        prompt = self.session.prompt
        if prompt is None or not prompt.accept:
            return False
        # The infusion starts at t_min 0: a baseline taken earlier waits for it.
        return prompt.kind is not PromptKind.START or now.mono_ms >= ORIGIN_MONO_MS

    def advance(self, until_ms: int, inclusive: bool = True) -> None:
        """Tick at every moment something may fall due, up to `until_ms`.

        Before a script line the moment of the line itself is excluded: an input that arrives
        exactly when it falls due is on time. A failing audit log is retried at every tick.
        """
        for _ in range(10_000):
            after = self.now_ms if self.now_ms is not None else until_ms
            candidates = [*self.session.upcoming_ms(), ORIGIN_MONO_MS]
            due = sorted(
                t
                for t in candidates
                if after < t and (t <= until_ms if inclusive else t < until_ms)
            )
            if not due:
                break
            self.now_ms = due[0]
            now = self.instant(due[0])
            retried = self.controller.retry_audit(now)
            if retried is not None:
                self.send(retried.commands, now)
            self.feed(Tick(at=now), "tick")
        self.now_ms = until_ms

    def open(self, at: Instant, policy_sha256: str, library_sha256: str) -> None:
        """Open the session and record the pre-infusion checks as done."""
        s = self.session
        self.now_ms = at.mono_ms
        opened = SessionOpened(
            at=at,
            session_id=s.session_id,
            plan=s.plan,
            policy=s.policy,
            policy_sha256=policy_sha256,
            library_sha256=library_sha256,
        )
        self.feed(opened, "open")
        if s.state is SessionState.PRE_CHECKS:
            self.feed(
                ChecklistAnswered(at=at, answers=tuple(all_confirmed())), "pre-infusion checks"
            )

    def run_line(self, line: ScriptLine) -> None:
        """Let time pass to the line, then feed its input."""
        self.advance(line.t_ms, inclusive=False)
        now = self.instant(line.t_ms)
        data = line.data
        event: InputEvent
        if "vitals" in data:
            event = VitalsEntered(at=now, raw=dict(data["vitals"]))
        elif "symptoms" in data:
            event = SymptomsEntered(
                at=now, symptoms=tuple(data["symptoms"]), other=data.get("other", "")
            )
        elif "decision" in data:
            if data["decision"] == "accept":
                event = NurseDecided(at=now, choice=Choice.ACCEPT)
            else:
                reason, note = override_reason(str(data["reason"]), str(data.get("note", "")))
                event = NurseDecided(at=now, choice=Choice.OVERRIDE, reason=reason, note=note)
        elif "lot" in data:
            event = LotRecorded(at=now, lot=data["lot"])
        elif "pause" in data:
            event = PauseRequested(at=now, reason=data["pause"])
        else:
            event = StopRequested(at=now, reason=data["stop"])
        self.feed(event, f"line {line.number}")

    def finish(self) -> None:
        """Run on after the last line until nothing more is due (bounded)."""
        assert self.now_ms is not None
        limit = self.now_ms + TAIL_LIMIT_MS
        while self.session.state not in (SessionState.CLOSED, SessionState.ABORTED):
            due = [t for t in self.session.upcoming_ms() if self.now_ms < t <= limit]
            if not due:
                break
            self.advance(due[0])


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(stream, start=1):
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def build_parser() -> argparse.ArgumentParser:
    """The options of `titrator simulate`."""
    parser = argparse.ArgumentParser(prog="titrator simulate", description=__doc__.split("\n")[0])
    parser.add_argument("--product", required=True, help="product id (file name in the library)")
    parser.add_argument("--indication", required=True, help="indication id in the product file")
    parser.add_argument("--weight-kg", required=True, help="actual body weight, kg")
    parser.add_argument("--dose-g-per-kg", required=True, help="dose for this infusion, g/kg")
    parser.add_argument(
        "--first-infusion", action="store_true", help="naive, switch or gap > 8 weeks"
    )
    parser.add_argument("--at-risk", action="store_true", help="renal or thrombosis risk")
    parser.add_argument("--policy", type=Path, help="reaction policy file (default: shipped)")
    parser.add_argument(
        "--library-dir", type=Path, action="append", default=[], help="site products"
    )
    parser.add_argument("--auto-accept", action="store_true", help="accept every recommendation")
    parser.add_argument("--events", required=True, help="JSON-lines script, or - for stdin")
    parser.add_argument("--start-utc", default=DEFAULT_START, help="wall time of t_min 0 (UTC)")
    parser.add_argument("--audit-dir", type=Path, help="write the session's audit log here")
    parser.add_argument("--station", default="headless", help="station id on every record")
    parser.add_argument("--nurse", default="simulate", help="user id on every record")
    parser.add_argument("--key-file", type=Path, help="site HMAC key file for the audit log")
    parser.add_argument("--session-id", help="session id and log name (default simulate-PRODUCT)")
    parser.add_argument(
        "--leave-open", action="store_true", help="leave the log unfinished (to try a resume)"
    )
    return parser


def build_session(args: argparse.Namespace) -> tuple[InfusionSession, str, str]:
    """Load the policy and library, build the plan and the session (errors raise)."""
    loaded = load_policy(args.policy)
    library = load_library(args.library_dir)
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
    on_open: Callable[[], None] | None = None,
    *,
    run_on: bool = True,
) -> int:
    """Run a script: open the session at the first line, feed every line, run on after the last.

    Args:
        runner: the runner.
        stream: the script.
        shas: the policy's and the product file's SHA-256, recorded in `session_opened`.
        on_open: called just before the session opens (the headless runner opens its log).
        run_on: after the last line, let time run on until nothing more is due.

    Returns:
        0, or 2 after a bad line (reported on stderr; nothing after it runs).
    """
    last_ms: int | None = None
    for number, text in _lines(stream):
        try:
            line = parse_line(number, text, runner.session.policy, last_ms)
        except ScriptError as error:
            runner.out.flush()
            print(str(error), file=sys.stderr)
            return 2
        if last_ms is None:
            opened_at = runner.instant(min(line.t_ms, ORIGIN_MONO_MS))
            runner.now_ms = opened_at.mono_ms
            if on_open is not None:
                on_open()
            runner.open(opened_at, *shas)
        last_ms = line.t_ms
        runner.run_line(line)
    if last_ms is not None and run_on:
        runner.finish()
    return 0


class LogSetupError(Exception):
    """The audit log of a headless run could not be created (bad directory, key or id)."""


def finish_log(writer: AuditWriter, runner: Runner, leave_open: bool) -> int:
    """Close the log (unless the engine did, or asked to leave it open) and report it on stderr.

    A session the script did not bring to its end is closed by the writer itself
    (`closed_by: audit_writer`), so that the log verifies; `leave_open` leaves it unfinished.

    Returns:
        0, or 1 when records could not be written.
    """
    now = runner.current()
    try:
        if not writer.healthy:
            writer.retry()
        if leave_open:
            writer.release()
        elif not writer.closed:
            reason = f"end of script (session {runner.session.state.value})"
            writer.close(reason=reason, now=now.wall_utc, mono=now.mono_ms / 1000)
    except AuditWriteError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 1
    head = writer.head
    print(f"audit log: {writer.path}", file=sys.stderr)
    if head is not None:
        state = "" if writer.closed else " (unfinished: resume it with titrator resume)"
        print(f"head: {head.hash}{state}", file=sys.stderr)
    return 0


def simulate_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `titrator simulate`. Returns the exit code (0 ok, 1 audit log, 2 input)."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        session, policy_sha, library_sha = build_session(args)
        start_wall = datetime.fromisoformat(args.start_utc.replace("Z", "+00:00")).astimezone(UTC)
    except (PolicyFileError, LibraryFileError) as error:
        print(str(error), file=sys.stderr)
        return 2
    except (InputError, PlanError) as error:
        print(f"{error.field}: {error.reason}", file=sys.stderr)
        return 2
    except (KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    start = Instant(wall_utc=start_wall, mono_ms=ORIGIN_MONO_MS)
    controller = InfusionController(session, None)
    runner = Runner(controller, start, args.auto_accept, sys.stdout)
    writers: list[AuditWriter] = []

    def open_log() -> None:
        if args.audit_dir is None:
            return
        try:
            writer = AuditWriter.create(
                session.session_id,
                station_id=args.station,
                nurse_id=args.nurse,
                data_dir=args.audit_dir,
                key_file=args.key_file,
                clock=ScriptClock(runner.current),
            )
        except (AuditError, ValueError) as error:
            raise LogSetupError(f"--audit-dir: {error}") from error
        writers.append(writer)
        controller.audit = writer

    try:
        stream = sys.stdin if args.events == "-" else open(args.events, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        print(f"--events: cannot read {args.events}: {error.strerror}", file=sys.stderr)
        return 2
    with stream:
        try:
            code = run_script(runner, stream, (policy_sha, library_sha), open_log)
        except LogSetupError as error:
            print(str(error), file=sys.stderr)
            return 2
    if writers:
        logged = finish_log(writers[0], runner, args.leave_open or code != 0)
        return code or logged
    return code
