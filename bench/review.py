"""Review benchmark: open and summarise a folder of session logs, against parsing their JSON.

Builds N logs (default 1,000) from the five review scenarios (tests/data/review), recorded once
through the real controller and audit writer and then re-recorded under new session ids and
patients with the real `AuditWriter` (hash chain intact, no fsync). Then, in the same run:

- baseline: read every file and `json.loads` every line (nothing else);
- review: `load_all` (verify the chain, validate every event, build each `SessionReview`) and
  `summarise` + `summary_table` for the whole folder.

Prints both times, the per-log cost and the ratio review / baseline.

Usage: .venv/bin/python bench/review.py [--logs N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.unit.review.logbuild

from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS
from titrator.audit import AuditWriter, read_records
from titrator.review.summary import discover_logs, load_all, summarise, summary_table
from titrator.shell.clocks import ManualClock


def _clone(base: Path, folder: Path, session_id: str, patient: str) -> None:
    records = read_records(base)
    first = records[0]
    writer = AuditWriter.create(
        session_id,
        station_id=first.station_id,
        nurse_id=first.nurse_id,
        data_dir=folder,
        sync_each_record=False,
        clock=ManualClock(first.timestamp, round(first.mono * 1000)),
    )
    for record in records[1:]:
        payload: dict[str, Any] = dict(record.payload)
        if record.kind == "session_opened":
            payload["session_id"] = session_id
            setup = payload.get("setup")
            if isinstance(setup, dict):
                payload["setup"] = {**setup, "patient_id_1": patient}
        event = {"kind": record.kind, **payload}
        if record.kind == "session_closed":
            writer.close(event, now=record.timestamp, mono=record.mono)
        else:
            writer.append(event, now=record.timestamp, mono=record.mono)
    if not writer.closed:
        writer.release()


def build_folder(folder: Path, count: int) -> None:
    """Record the scenarios once, then clone them into `count` logs in `folder`."""
    with tempfile.TemporaryDirectory() as scratch:
        bases = [build_log(scratch, LogSpec(session_id=f"base-{n}", script=n)) for n in SCENARIOS]
        bases.append(
            build_log(scratch, LogSpec(session_id="base-open", script="completed", until_min=60))
        )
        for i in range(count):
            _clone(bases[i % len(bases)], folder, f"s-{i:05d}", f"MRN-{i:05d}")


def parse_only(logs: list[Path]) -> int:
    """Read and json.loads every line of every log; returns the number of lines."""
    lines = 0
    for path in logs:
        with path.open("rb") as stream:
            for raw in stream:
                json.loads(raw)
                lines += 1
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=int, default=1000)
    parser.add_argument("--dir", type=Path, help="where to build the logs (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        build_folder(folder, args.logs)
        built_s = time.perf_counter() - start
        logs = discover_logs([folder])
        size = sum(p.stat().st_size for p in logs)

        start = time.perf_counter()
        lines = parse_only(logs)
        parse_s = time.perf_counter() - start

        start = time.perf_counter()
        reviews, problems = load_all(logs)
        summary = summarise(reviews, problems)
        table = summary_table(summary)
        review_s = time.perf_counter() - start

    assert not problems
    assert len(reviews) == args.logs
    print(f"logs: {len(logs)} ({lines} records, {size / 1e6:.1f} MB), built in {built_s:.1f} s")
    print(f"parse JSON only:      {parse_s:8.3f} s  ({parse_s / len(logs) * 1000:.2f} ms/log)")
    print(f"open + summarise:     {review_s:8.3f} s  ({review_s / len(logs) * 1000:.2f} ms/log)")
    print(f"ratio review / parse: {review_s / parse_s:8.1f}x")
    print(table.splitlines()[2])


if __name__ == "__main__":
    main()
