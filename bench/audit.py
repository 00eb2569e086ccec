"""Audit log benchmark: durable append cost against a raw write+fsync loop, and verify speed.

Run: .venv/bin/python bench/audit.py [--appends N] [--verify-records N] [--dir DIR]

Prints:
- append throughput through AuditWriter with fsync per record (unkeyed and keyed), against a
  raw `os.write` + `os.fsync` loop of the very same bytes in the same directory, and the ratio;
- append throughput without per-record fsync (the writer's own CPU cost);
- verify throughput in records per second on a keyed log of --verify-records records.
fsync cost depends entirely on the file system under --dir (default: a temp dir).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

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


def _raw(base: Path, lines: list[bytes]) -> float:
    fd = os.open(base / "logs" / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        start = time.perf_counter()
        for line in lines:
            os.write(fd, line)
            os.fsync(fd)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--verify-records", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        (base / "keys").mkdir(mode=0o700)
        key_file = base / "keys" / "bench.key"
        generate_key_file(key_file)
        n = args.appends

        print(f"append, fsync per record ({n} records):")
        for label, kf in (("unkeyed", None), ("keyed", key_file)):
            name = f"fsync-{label}"
            t_writer = _write(base, name, n, key_file=kf, sync=True)
            lines = (base / "logs" / f"{name}.jsonl").read_bytes().splitlines(keepends=True)
            body = lines[1 : n + 1]  # the appended events only
            t_raw = _raw(base, body)
            (base / "logs" / "raw.jsonl").unlink()
            print(
                f"  {label:8} writer {n / t_writer:9.0f} rec/s ({t_writer / n * 1e6:7.1f} µs/rec)"
                f" | raw write+fsync {n / t_raw:9.0f} rec/s ({t_raw / n * 1e6:7.1f} µs/rec)"
                f" | ratio {t_writer / t_raw:5.2f}x  (mean line {sum(map(len, body)) / n:.0f} B)"
            )

        m = max(n, 20_000)
        t_nosync = _write(base, "nosync", m, key_file=key_file, sync=False)
        print(
            f"append, no per-record fsync, keyed ({m} records): "
            f"{m / t_nosync:.0f} rec/s ({t_nosync / m * 1e6:.1f} µs/rec)"
        )

        v = args.verify_records
        t_build = _write(base, "verify", v - 2, key_file=key_file, sync=False)
        log = base / "logs" / "verify.jsonl"
        key = load_key(key_file)
        start = time.perf_counter()
        result = verify_log(log, key=key)
        t_verify = time.perf_counter() - start
        assert result.ok, result.summary()
        size_mb = log.stat().st_size / 1e6
        print(
            f"verify, keyed, {result.records} records ({size_mb:.1f} MB, built in "
            f"{t_build:.1f} s): {result.records / t_verify:.0f} rec/s "
            f"({t_verify:.2f} s, {size_mb / t_verify:.1f} MB/s)"
        )
        start = time.perf_counter()
        result = verify_log(log)
        t_hash_only = time.perf_counter() - start
        print(f"verify, hash chain only (no key): {result.records / t_hash_only:.0f} rec/s")


if __name__ == "__main__":
    main()
