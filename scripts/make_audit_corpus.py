"""Regenerate the replay corpus in tests/data/audit/ from the simulate scripts.

Each log is written by `titrator simulate --audit-dir` (the headless runner: the real controller
and audit writer on simulated time, so the bytes are reproducible); `resumed.jsonl` is a session
run by the same runner and cut off mid-infusion, taken over with
`titrator.shell.resume.resume_session` on a fresh monotonic clock, and closed. The heads go to
tests/data/audit/MANIFEST.json. Run it after a change to the event schema or the engine's
outputs, and review the diff: a changed log means the engine decides differently.

    .venv/bin/python scripts/make_audit_corpus.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from titrator.audit.writer import AuditWriter
from titrator.cli.simulate import (
    ORIGIN_MONO_MS,
    Runner,
    build_parser,
    build_session,
    run_script,
    simulate_main,
)
from titrator.domain.clock import Clock, Instant
from titrator.domain.decisions import Choice
from titrator.domain.events import NurseDecided, Tick, VitalsEntered
from titrator.domain.perfect_pump import PerfectPump
from titrator.shell.clocks import ManualClock
from titrator.shell.controller import InfusionController
from titrator.shell.resume import resume_session

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "data" / "simulate"
OUT = ROOT / "tests" / "data" / "audit"
PATIENT = ["--product", "privigen", "--indication", "pi", "--weight-kg", "70"]
CASES: dict[str, list[str]] = {
    "uneventful": [*PATIENT, "--dose-g-per-kg", "0.4", "--auto-accept"],
    "fever-pause": [*PATIENT, "--dose-g-per-kg", "0.4", "--auto-accept"],
    "anaphylaxis": [*PATIENT, "--dose-g-per-kg", "0.4"],
    "anaphylaxis-accepted": [*PATIENT, "--dose-g-per-kg", "0.4", "--auto-accept"],
}
NORMAL = {
    "temp_c": "36.8",
    "hr_bpm": "76",
    "sbp_mmhg": "122",
    "dbp_mmhg": "78",
    "rr_bpm": "16",
    "spo2_pct": "98",
}


def simulate(name: str, args: list[str], script: Path, *extra: str) -> str:
    """Run one simulation into OUT; return the head printed on stderr."""
    err = io.StringIO()
    argv = [*args, "--events", str(script), "--audit-dir", str(OUT), "--session-id", name]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = simulate_main([*argv, "--station", "corpus", "--nurse", "rn-corpus", *extra])
    if code != 0:
        raise SystemExit(f"{name}: simulate exited {code}: {err.getvalue()}")
    return next(line for line in err.getvalue().splitlines() if line.startswith("head: "))[6:70]


def resumed() -> str:
    """A session cut off at step 2 (log left open), taken over 10 min later on a fresh clock.

    After the status read and the vitals due after a restart, an early accept is refused (the
    dwell continues across the restart), then the writer closes the log.
    """
    args = build_parser().parse_args(
        [*CASES["uneventful"], "--events", "-", "--session-id", "resumed"]
    )
    session, policy_sha, library_sha = build_session(args)
    controller = InfusionController(session, None)
    start = Instant(wall_utc=datetime(2026, 1, 5, 8, 0, tzinfo=UTC), mono_ms=ORIGIN_MONO_MS)
    runner = Runner(controller, start, auto_accept=True)
    writers: list[AuditWriter] = []

    def open_log(clock: Clock) -> AuditWriter:
        writer = AuditWriter.create(
            "resumed", station_id="corpus", nurse_id="rn-corpus", data_dir=OUT, clock=clock
        )
        writers.append(writer)
        return writer

    lines = (SCRIPTS / "uneventful.jsonl").read_text(encoding="utf-8").splitlines()
    script = io.StringIO("\n".join(lines[:6]) + "\n")  # up to the vitals at 15 min
    run_script(runner, script, (policy_sha, library_sha), open_log, run_on=False)
    last = runner.current()
    writers[0].release()  # the program "dies" here
    clock = ManualClock(start=last.wall_utc + timedelta(minutes=10), mono_ms=5_000)
    taken = resume_session(
        "resumed", station_id="corpus-2", nurse_id="rn-corpus-2", data_dir=OUT, clock=clock
    )
    after = taken.controller
    pump = PerfectPump(runner.pump_rate_ml_per_h)  # it ran on while the program was down
    for command in taken.applied.commands:  # the status read after a restart
        after.feed(pump.reply(command, clock.now()))
    after.feed(VitalsEntered(at=clock.advance(minutes=1), raw=dict(NORMAL)))
    after.feed(Tick(at=clock.advance(minutes=5)))
    step_up = after.feed(NurseDecided(at=clock.now(), choice=Choice.ACCEPT))
    for command in step_up.commands:
        after.feed(pump.reply(command, clock.now()))
    end = clock.advance(minutes=1)
    head = taken.writer.close(reason="corpus: end", now=end.wall_utc, mono_ms=end.mono_ms)
    return head.hash


def main() -> int:
    """Rewrite every corpus log and the manifest."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.jsonl"):
        old.unlink()
    manifest: dict[str, dict[str, object]] = {}
    for name, args in CASES.items():
        script = SCRIPTS / f"{name.removesuffix('-accepted')}.jsonl"
        manifest[f"{name}.jsonl"] = {"head": simulate(name, args, script), "args": args}
    manifest["resumed.jsonl"] = {"head": resumed(), "args": ["see scripts/make_audit_corpus.py"]}
    text = json.dumps(manifest, indent=2, sort_keys=True, default=Decimal) + "\n"
    (OUT / "MANIFEST.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(manifest)} logs to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
