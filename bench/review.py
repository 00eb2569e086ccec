"""Review benchmark, paired: `titrator review --summary` at scale against parsing the same JSON.

Run: .venv/bin/python bench/review.py [--sizes 10,100,1000,10000]
         [--records 10000,100000,1000000] [--rounds 5] [--big-rounds 3] [--dir DIR]

What is built (once, before any timing; the build time is printed):

- a folder of logs for each size in --sizes: the five review scenarios (tests/data/review) and
  one unfinished log are recorded once through the real controller and audit writer, then
  re-recorded under new session ids and patients with the real `AuditWriter` (hash chain
  intact, no fsync). The folders nest (the 10-log folder is inside the 100-log folder, and so
  on), so the largest size is built once and every smaller size is a subset of it;
- one log of each size in --records: the completed scenario with its monitoring cycle (tick,
  vitals due/entered/accepted, assessment, prompt) repeated before the close, through the same
  writer, until the log has that many records.

What is measured, for each folder and each big log, in rounds (bench/paired.py): a fresh child
process runs the baseline, then a fresh child runs the candidate, back to back:

- baseline: walk the folder, read every `*.jsonl` file and `json.loads` every line;
- candidate: `titrator.cli.review.review_main(["--summary", DIR])`, the very function
  `titrator review --summary DIR` runs (standard output captured, not printed);
- for each big log, a second candidate: the full review the review app opens,
  `titrator.review.model.load_review(LOG)` (timeline, rate segments, vitals, reactions, pump
  commands, integrity), against the same baseline.

Each child imports what it needs first, then times only the work with `time.perf_counter`, and
reports its own peak resident set size (VmHWM in /proc/self/status: the whole process,
interpreter and imports included, which is what the machine pays). No tracemalloc, no profiler.
The children are started after the parent has built the logs, so the page cache is warm for
both. Byte-compiled modules: the children import the project normally; only the timed work is
measured, so start-up and `PYTHONDONTWRITEBYTECODE` do not enter the figures.

Printed for each: every round's seconds and peak RSS (MiB), min/median/max of each series, the
paired ratio candidate/baseline, and the candidate's time per log (or per record). The goals
(issue 17): time per log flat from 10 to 10,000 logs, peak RSS under 300 MiB at 10,000 logs, and
one 1M-record log in under 1 GB. Sizes of 10,000 logs or 1M records run --big-rounds rounds
(default 3, said in the output), the others --rounds (default 5).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for bench.paired and tests.unit.review.logbuild as a script

MONITORING = frozenset(
    {"tick", "vitals_due", "vitals_entered", "vitals_accepted", "assessment_made", "prompt_shown"}
)
"""The kinds a long session repeats (a big log is the completed scenario with more of these)."""
BIG_LOGS = 10_000
BIG_RECORDS = 1_000_000
"""From these sizes on, --big-rounds rounds instead of --rounds."""


# ------------------------------------------------------------------------- children


def _child(mode: str, folder: str) -> None:
    """Run one measurement in this (fresh) process; print {"seconds", "rss_kib"} as JSON."""
    if mode == "baseline":
        start = time.perf_counter()
        lines = 0
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                if name.endswith(".jsonl"):
                    with open(os.path.join(dirpath, name), "rb") as stream:
                        for raw in stream:
                            json.loads(raw)
                            lines += 1
        elapsed = time.perf_counter() - start
        out = str(lines)
    elif mode == "full":
        from titrator.review.model import load_review

        (log,) = Path(folder).glob("*.jsonl")
        start = time.perf_counter()
        review = load_review(log)
        elapsed = time.perf_counter() - start
        out = f"{len(review.timeline)} entries, {review.outcome.value}"
    else:
        from titrator.cli.review import review_main

        buffer = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            status = review_main(["--summary", folder])
        elapsed = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"review --summary exited {status}")
        out = buffer.getvalue()
    print(json.dumps({"seconds": elapsed, "rss_kib": _peak_rss_kib(), "out": out}))


def _peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux
    carries the forking parent's peak into it across exec, so a small child would report the
    parent's size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_child(mode: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# ------------------------------------------------------------------------- building


def _writer(folder: Path, session_id: str, first: Any) -> Any:
    from titrator.audit import AuditWriter
    from titrator.shell.clocks import ManualClock

    return AuditWriter.create(
        session_id,
        station_id=first.station_id,
        nurse_id=first.nurse_id,
        data_dir=folder,
        sync_each_record=False,
        min_free_bytes=0,
        clock=ManualClock(first.timestamp, first.mono_ms),
    )


def _event(record: Any, session_id: str, patient: str) -> dict[str, Any]:
    payload: dict[str, Any] = dict(record.payload)
    if record.kind == "session_opened":
        payload["session_id"] = session_id
        setup = payload.get("setup")
        if isinstance(setup, dict):
            payload["setup"] = {**setup, "patient_id_1": patient}
    return {"kind": record.kind, **payload}


def _clone(records: list[Any], folder: Path, session_id: str, patient: str, repeat: int) -> None:
    """Re-record `records` as a new session; with `repeat`, the monitoring cycle is repeated
    before the close until the log has `repeat` records."""
    writer = _writer(folder, session_id, records[0])
    body = records[1:]
    if repeat:
        cycle = [r for r in body if r.kind in MONITORING]
        tail = body[-1:] if body[-1].kind == "session_closed" else []
        body = body[: len(body) - len(tail)]
        extra = repeat - 1 - len(body) - len(tail)
        body = body + [cycle[i % len(cycle)] for i in range(max(0, extra))] + tail
    for record in body:
        event = _event(record, session_id, patient)
        if record.kind == "session_closed":
            writer.close(event, now=record.timestamp, mono_ms=record.mono_ms)
        else:
            writer.append(event, now=record.timestamp, mono_ms=record.mono_ms)
    if not writer.closed:
        writer.release()


def _bases(scratch: str) -> list[list[Any]]:
    from tests.unit.review.logbuild import LogSpec, build_log
    from tests.unit.review.logs import SCENARIOS
    from titrator.audit import read_records

    paths = [build_log(scratch, LogSpec(session_id=f"base-{n}", script=n)) for n in SCENARIOS]
    paths.append(
        build_log(scratch, LogSpec(session_id="base-open", script="completed", until_min=60))
    )
    return [read_records(p) for p in paths]


def build(
    root: Path, sizes: list[int], records: list[int]
) -> tuple[dict[int, Path], dict[int, Path]]:
    """Build the nested folders of logs and the big logs; returns the folder for each size."""
    folders: dict[int, Path] = {}
    where = root / "logs"
    for size in sorted(sizes, reverse=True):
        where = where / f"n{size}"
        folders[size] = where
    for folder in folders.values():
        folder.mkdir(parents=True)
    bigs = {n: root / "big" / f"r{n}" for n in records}
    with tempfile.TemporaryDirectory() as scratch:
        bases = _bases(scratch)
        ordered = sorted(sizes)
        for i in range(max(sizes, default=0)):
            home = folders[next(s for s in ordered if i < s)]
            _clone(bases[i % len(bases)], home, f"s-{i:05d}", f"MRN-{i:05d}", 0)
        for n, folder in bigs.items():
            folder.mkdir(parents=True)
            _clone(bases[0], folder, f"big-{n}", "MRN-BIG", n)
    return folders, bigs


# ------------------------------------------------------------------------- measuring


def measure(
    name: str, folder: Path, units: int, unit: str, rounds: int, mode: str = "review"
) -> dict[str, Any]:
    """Paired rounds of baseline and candidate children over `folder`; prints the figures."""
    from bench.paired import spread

    base_s: list[float] = []
    cand_s: list[float] = []
    base_rss: list[float] = []
    cand_rss: list[float] = []
    for _ in range(rounds):
        base = _run_child("baseline", folder)
        cand = _run_child(mode, folder)
        base_s.append(base["seconds"])
        cand_s.append(cand["seconds"])
        base_rss.append(base["rss_kib"] / 1024)
        cand_rss.append(cand["rss_kib"] / 1024)
    ratio = [c / b for b, c in zip(base_s, cand_s, strict=True)]
    per = [s / units * 1e6 for s in cand_s]
    print(f"{name} ({rounds} paired rounds)")
    print("  baseline  s:   " + " ".join(f"{v:.4g}" for v in base_s))
    print("  candidate s:   " + " ".join(f"{v:.4g}" for v in cand_s))
    print(f"  baseline  s   min/median/max: {spread(base_s)}")
    print(f"  candidate s   min/median/max: {spread(cand_s)}")
    print(f"  ratio candidate/baseline min/median/max: {spread(ratio)}x")
    print(f"  candidate us/{unit} min/median/max: {spread(per)}")
    print(f"  peak RSS MiB baseline  min/median/max: {spread(base_rss)}")
    print(f"  peak RSS MiB candidate min/median/max: {spread(cand_rss)}")
    sys.stdout.flush()
    return {"seconds": cand_s, "ratio": ratio, "per": per, "rss": cand_rss}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()] if text.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="log counts, comma-separated")
    parser.add_argument(
        "--records", default="10000,100000,1000000", help="records in one log, comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-rounds", type=int, default=3, help="for 10,000 logs, 1M records")
    parser.add_argument("--dir", type=Path, help="where to build the logs (default: a temp dir)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    sizes, records = _ints(args.sizes), _ints(args.records)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        start = time.perf_counter()
        folders, bigs = build(Path(tmp), sizes, records)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.jsonl"))
        print(
            f"built {max(sizes, default=0)} logs and {len(records)} big log(s), "
            f"{size / 1e6:.1f} MB, in {time.perf_counter() - start:.1f} s"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
        results: dict[str, dict[str, Any]] = {}
        for n in sorted(sizes):
            rounds = args.big_rounds if n >= BIG_LOGS else args.rounds
            results[f"{n} logs"] = measure(f"{n} logs", folders[n], n, "log", rounds)
        for n in sorted(records):
            rounds = args.big_rounds if n >= BIG_RECORDS else args.rounds
            results[f"{n} records"] = measure(
                f"1 log of {n} records, --summary", bigs[n], n, "record", rounds
            )
            results[f"{n} records, full"] = measure(
                f"1 log of {n} records, full review (load_review)",
                bigs[n],
                n,
                "record",
                rounds,
                mode="full",
            )
    print("summary (candidate medians)")
    for name, r in results.items():
        unit = "log" if name.endswith("logs") else "record"
        print(
            f"  {name:>22}: {median(r['seconds']):8.3f} s  {median(r['per']):9.1f} us/{unit}  "
            f"{median(r['ratio']):6.1f}x json.loads  peak RSS {median(r['rss']):7.1f} MiB"
        )


if __name__ == "__main__":
    main()
