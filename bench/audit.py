"""Audit log benchmark, paired: durable append against raw write+fsync, verify against json.loads.

Run: .venv/bin/python bench/audit.py [--appends N] [--verify-records N] [--rounds R] [--dir DIR]

Every figure is paired: in each round the baseline and the candidate run back to back on the
same bytes, so a drift in the machine's speed moves both (bench/paired.py). Prints every round,
min/median/max of each series and of the throughput ratio candidate/baseline (1.0 = as fast as
the baseline; the goals are >= 0.8x for append and >= 0.5x for verify).

- append, fsync per record (unkeyed and keyed): a fresh log through `AuditWriter` with
  `sync_each_record=True`, then a raw `os.write` + `os.fsync` loop of the very same appended
  lines into a fresh file in the same directory;
- append, paced: the same raw loop, but spinning between records for as long as the writer
  spends on a record without fsync (measured in the same round). fsync's latency on this
  machine depends on how its calls are spaced: back to back they are faster than with the
  writer's own work between them, whatever that work is; this line shows how much of the gap
  to the raw loop that spacing alone makes;
- append, the least a Python writer does: the writer's own records (their hash taken out)
  written by a loop that makes one sorted compact `json.dumps`, (keyed) one HMAC-SHA256, one
  SHA-256 chained to the previous one, one `os.write` and one `os.fsync` per record, against
  the raw loop: what any hash-chained JSON-lines writer in Python reaches on this disk,
  before titrator's checks;
  then the same minimal writer made as a structlog processor chain (structlog's bound logger,
  one processor that encodes and hashes, a wrapped logger that writes and fsyncs), as
  titrator's writer is made;
- append, the machine's part: the same fixed piece of standard-library Python (json.dumps of
  a record and sha256, three times; no titrator code) timed between plain writes and between
  write+fsync pairs, in turn. After each fsync the process has slept and the same work takes
  longer; this line gives that factor, which applies to the writer's own Python as well;
- verify (keyed, and hash chain only): `verify_log` of one log against reading the same file and
  `json.loads` of every line.
fsync cost depends entirely on the file system under --dir (default: a temp dir).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import structlog
from structlog.typing import EventDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `bench.paired` as a script

from bench.paired import spread
from titrator.audit import AuditWriter, generate_key_file, load_key, verify_log
from titrator.shell.clocks import SystemClock


def _event(i: int) -> dict[str, object]:
    return {
        "kind": "vitals_recorded",
        "schema_version": 1,
        "hr_bpm": 60 + i % 40,
        "temp_c": f"{36 + (i % 30) / 10:.1f}",
        "raw_text": "HR 72, T 36.9, BP 118/76",
        "rule_ids": ["R-HR-1", "R-TEMP-2"],
    }


def _write(base: Path, name: str, n: int, *, key_file: Path | None, sync: bool) -> float:
    """Append n events through a fresh writer; seconds spent in `append` only."""
    writer = AuditWriter.create(
        name,
        station_id="bench",
        nurse_id="rn-bench",
        data_dir=base / "logs",
        key_file=key_file,
        min_free_bytes=0,
        sync_each_record=sync,
        clock=SystemClock(),
    )
    start = time.perf_counter()
    for i in range(n):
        writer.append(_event(i))
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed


def _raw(path: Path, lines: list[bytes], pace_s: float = 0.0) -> float:
    """The same bytes, one os.write + os.fsync per line, into a fresh file.

    `pace_s`: spin this long before each line (the writer's own work per record, without I/O).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    clock = time.perf_counter
    try:
        start = clock()
        for line in lines:
            if pace_s:
                until = clock() + pace_s
                while clock() < until:
                    pass
            os.write(fd, line)
            os.fsync(fd)
        return clock() - start
    finally:
        os.close(fd)


class _MinimalChain:
    """The least any hash-chained JSON-lines writer in Python does to make a record's line.

    One encoding (sorted keys, compact), with a `key` one HMAC-SHA256 of it, and one SHA-256
    over it and the previous hash: no checks, no envelope, no lock, no bookkeeping.
    """

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.prev = "0" * 64

    def line(self, record: dict[str, object]) -> bytes:
        """The record's line (`record` is one of the writer's, `hash` and `mac` taken out)."""
        record["prev_hash"] = self.prev
        body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        if self.key is not None:
            mac = hmac.digest(self.key, body, "sha256").hex()
            body = b'{"mac":"%s",%s' % (mac.encode(), body[1:])
        self.prev = hashlib.sha256(body).hexdigest()
        return b'{"hash":"%s",%s\n' % (self.prev.encode(), body[1:])


def _minimal(path: Path, records: list[dict[str, object]], key: bytes | None) -> float:
    """`_MinimalChain`'s line for each record, then one os.write and one os.fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    chain = _MinimalChain(key)
    clock = time.perf_counter
    try:
        start = clock()
        for record in records:
            os.write(fd, chain.line(record))
            os.fsync(fd)
        return clock() - start
    finally:
        os.close(fd)


class _FsyncOut:
    """structlog's wrapped logger for `_minimal_structlog`: one os.write and one os.fsync."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def msg(self, line: bytes) -> None:
        os.write(self.fd, line)
        os.fsync(self.fd)


def _minimal_structlog(path: Path, records: list[dict[str, object]], key: bytes | None) -> float:
    """`_minimal`, but the line is made by a structlog processor and written by its logger.

    The least a writer does per record when it is a structlog processor chain, as titrator's
    is: structlog's bound logger, one processor that makes `_MinimalChain`'s line, and a
    wrapped logger whose `msg` writes and fsyncs. No checks, no envelope.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    chain = _MinimalChain(key)

    def seal(
        _logger: object, _method: str, event_dict: EventDict
    ) -> tuple[tuple[bytes], dict[str, object]]:
        return (chain.line(event_dict["record"]),), {}

    log = structlog.BoundLoggerBase(_FsyncOut(fd), processors=[seal], context={})
    clock = time.perf_counter
    try:
        start = clock()
        for record in records:
            log._proxy_to_logger("msg", "record", record=record)
        return clock() - start
    finally:
        os.close(fd)


_STDLIB_RECORD = {
    "kind": "vitals_recorded",
    "hr_bpm": 72,
    "temp_c": "36.9",
    "raw_text": "HR 72, T 36.9, BP 118/76",
    "rule_ids": ["R-HR-1", "R-TEMP-2"],
    "ts": "2026-01-05T07:50:00.000000+00:00",
}


def _stdlib_work() -> bytes:
    """A fixed piece of Python that is not titrator's: encode a record and hash it, 3 times."""
    line = b""
    for _ in range(3):
        line = json.dumps(_STDLIB_RECORD, sort_keys=True, separators=(",", ":")).encode()
        hashlib.sha256(line).hexdigest()
    return line + b"\n"


def _work_between(path: Path, n: int, *, sync: bool) -> float:
    """Median µs of `_stdlib_work` when each run follows a write (and an fsync with `sync`)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    clock = time.perf_counter
    spans: list[float] = []
    try:
        for _ in range(n):
            start = clock()
            line = _stdlib_work()
            spans.append(clock() - start)
            os.write(fd, line)
            if sync:
                os.fsync(fd)
    finally:
        os.close(fd)
    return statistics.median(spans) * 1e6


def _json_loads(path: Path) -> float:
    """Read the file and json.loads every line: the floor any verifier has to pay."""
    start = time.perf_counter()
    with path.open("rb") as f:
        for line in f:
            json.loads(line)
    return time.perf_counter() - start


def _report(name: str, n: int, base: list[float], cand: list[float]) -> list[float]:
    """Print per-round rates and min/median/max; returns throughput ratios cand/base."""
    ratio = [b / c for b, c in zip(base, cand, strict=True)]  # rate_cand / rate_base
    print(name)
    print("  baseline  rec/s: " + " ".join(f"{n / t:.0f}" for t in base))
    print("  candidate rec/s: " + " ".join(f"{n / t:.0f}" for t in cand))
    print(f"  baseline  µs/rec min/median/max: {spread([t / n * 1e6 for t in base])}")
    print(f"  candidate µs/rec min/median/max: {spread([t / n * 1e6 for t in cand])}")
    print(f"  throughput ratio candidate/baseline min/median/max: {spread(ratio)}x")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--verify-records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    rounds: int = args.rounds
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        (base / "keys").mkdir(mode=0o700)
        key_file = base / "keys" / "bench.key"
        generate_key_file(key_file)
        logs = base / "logs"
        n = args.appends

        for label, kf in (("unkeyed", None), ("keyed", key_file)):
            key = None if kf is None else load_key(kf)
            raw_times: list[float] = []
            paced_times: list[float] = []
            minimal_times: list[float] = []
            structlog_times: list[float] = []
            writer_times: list[float] = []
            sizes: list[float] = []
            for r in range(rounds):
                name = f"fsync-{label}-{r}"
                writer_times.append(_write(base, name, n, key_file=kf, sync=True))
                cpu_s = _write(base, f"cpu-{label}-{r}", n, key_file=kf, sync=False) / n
                (logs / f"cpu-{label}-{r}.jsonl").unlink()
                log = logs / f"{name}.jsonl"
                body = log.read_bytes().splitlines(keepends=True)[1 : n + 1]  # appends only
                sizes.append(sum(map(len, body)) / n)
                raw_path = logs / f"raw-{label}-{r}.jsonl"
                raw_times.append(_raw(raw_path, body))
                raw_path.unlink()
                paced_path = logs / f"paced-{label}-{r}.jsonl"
                paced_times.append(_raw(paced_path, body, pace_s=cpu_s))
                paced_path.unlink()
                records = [json.loads(line) for line in body]
                for record in records:
                    del record["hash"]
                    record.pop("mac", None)
                minimal_path = logs / f"minimal-{label}-{r}.jsonl"
                minimal_times.append(_minimal(minimal_path, records, key))
                minimal_path.unlink()
                minimal_path = logs / f"minimal-structlog-{label}-{r}.jsonl"
                structlog_times.append(_minimal_structlog(minimal_path, records, key))
                minimal_path.unlink()
                log.unlink()
            _report(
                f"append, fsync per record, {label}, {n} records x {rounds} rounds"
                f" (mean line {sum(sizes) / len(sizes):.0f} B); baseline raw write+fsync",
                n,
                raw_times,
                writer_times,
            )
            _report(
                f"append, fsync per record, {label}: the writer against the raw loop paced by "
                "the writer's own time per record without fsync",
                n,
                paced_times,
                writer_times,
            )
            _report(
                f"append, fsync per record, {label}: the least a Python writer does (one "
                "encoding, one SHA-256, keyed one HMAC, write, fsync) against the raw loop",
                n,
                raw_times,
                minimal_times,
            )
            _report(
                f"append, fsync per record, {label}: the same minimal writer as a structlog "
                "processor chain (titrator's required stack) against the raw loop",
                n,
                raw_times,
                structlog_times,
            )

        plain: list[float] = []
        synced: list[float] = []
        for r in range(rounds):
            plain.append(_work_between(logs / f"plain-{r}", n, sync=False))
            synced.append(_work_between(logs / f"synced-{r}", n, sync=True))
        factor = [s / p for p, s in zip(plain, synced, strict=True)]
        print(f"append, the machine's part: the same stdlib Python work, {n} x {rounds} rounds")
        print(f"  between plain writes, median µs min/median/max: {spread(plain)}")
        print(f"  after each fsync,      median µs min/median/max: {spread(synced)}")
        print(f"  slower after fsync, min/median/max: {spread(factor)}x")

        v = args.verify_records
        t_build = _write(base, "verify", v - 2, key_file=key_file, sync=False)
        log = logs / "verify.jsonl"
        key = load_key(key_file)
        size_mb = log.stat().st_size / 1e6
        print(f"verify log: {v} records, {size_mb:.1f} MB, built in {t_build:.1f} s")
        for label, k in (("keyed", key), ("hash chain only", None)):
            loads_times: list[float] = []
            verify_times: list[float] = []
            for _ in range(rounds):
                loads_times.append(_json_loads(log))
                start = time.perf_counter()
                result = verify_log(log, key=k)
                verify_times.append(time.perf_counter() - start)
                assert result.ok, result.summary()
            _report(
                f"verify, {label}, {v} records x {rounds} rounds; baseline json.loads per line",
                v,
                loads_times,
                verify_times,
            )


if __name__ == "__main__":
    main()
