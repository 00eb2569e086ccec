"""The streamed folder summary (`summarise_logs`, `titrator review --summary`) gives exactly the
figures of the full reviews (`summarise(load_all(...))`), and holds no log while it reads the
next."""

from __future__ import annotations

import gc
import inspect
import tracemalloc
from pathlib import Path

import pytest

from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS, add_garbage, damage_line, tear_tail
from titrator.audit import AuditWriter, read_records
from titrator.cli.review import summary_json
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import (
    LogFigures,
    load_all,
    log_figures,
    read_figures,
    summarise,
    summarise_logs,
    summary_table,
)
from titrator.shell.clocks import ManualClock


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every review scenario, an unfinished log, a training log, another product, damaged,
    garbled and torn copies, and a file that cannot be opened."""
    folder = tmp_path_factory.mktemp("mixed")
    built = [build_log(folder, LogSpec(session_id=f"s-{n}", script=n)) for n in SCENARIOS]
    built.append(build_log(folder, LogSpec(session_id="s-open", script="completed", until_min=60)))
    built.append(build_log(folder, LogSpec(session_id="s-train", script="fever", training=True)))
    built.append(
        build_log(
            folder,
            LogSpec(
                session_id="s-other", script="fever", product_id="gamunex-c", indication_id="pi"
            ),
        )
    )
    fever = folder / "s-fever.jsonl"
    built.append(damage_line(fever, folder / "x-damaged.jsonl", 60))
    built.append(add_garbage(fever, folder / "x-garbage.jsonl", 40))
    built.append(tear_tail(fever, folder / "x-torn.jsonl", 80))
    locked = folder / "x-locked.jsonl"
    locked.mkdir()
    built.append(locked)
    return built


@pytest.mark.parametrize("include_training", [False, True])
def test_streamed_summary_equals_the_full_reviews(
    mixed: list[Path], include_training: bool
) -> None:
    reviews, problems = load_all(mixed)
    full = summarise(reviews, problems, include_training=include_training)
    streamed = summarise_logs(mixed, include_training=include_training)
    assert streamed == full
    assert summary_table(streamed) == summary_table(full)
    assert summary_json(streamed) == summary_json(full)
    # the figures rest on something: several groups, reactions, damage, a problem, training
    assert len(full.groups) == 2
    assert sum(g.reaction_total for g in full.groups) > 0
    assert full.damaged
    assert full.problems
    assert full.training_left_out + full.training_included == 1


def test_each_log_reads_to_the_figures_of_its_full_review(mixed: list[Path]) -> None:
    for path in mixed:
        if path.is_dir():
            with pytest.raises(OSError, match="cannot read"):
                log_figures(path)
            continue
        assert log_figures(path) == LogFigures.of_review(load_review(path)), path.name


def _live_reviews() -> int:
    gc.collect()
    return sum(isinstance(o, SessionReview) for o in gc.get_objects())


def test_summarising_n_logs_holds_no_review(mixed: list[Path]) -> None:
    logs = [p for p in mixed if p.is_file()] * 2
    assert inspect.isgenerator(read_figures(logs))
    # counted against the reviews alive before (other tests' module fixtures may hold some)
    before = _live_reviews()
    live: list[int] = []
    summarise_logs(logs, progress=lambda done, total: live.append(_live_reviews() - before))
    assert live == [0] * len(logs)
    # the check can fail: the full load holds one more review after every log
    held: list[int] = []
    load_all(logs[:3], progress=lambda done, total: held.append(_live_reviews() - before))
    assert held == [1, 2, 3]


def _lengthen(src: Path, folder: Path, records: int) -> Path:
    """Re-record `src` with its monitoring records repeated before the close, to `records`."""
    original = read_records(src)
    first = original[0]
    writer = AuditWriter.create(
        "s-long",
        station_id=first.station_id,
        nurse_id=first.nurse_id,
        data_dir=folder,
        sync_each_record=False,
        min_free_bytes=0,
        clock=ManualClock(first.timestamp, first.mono_ms),
    )
    body, close = original[1:-1], original[-1]
    cycle = [r for r in body if r.kind in {"vitals_entered", "vitals_accepted", "assessment_made"}]
    body += [cycle[i % len(cycle)] for i in range(records - len(original))]
    for record in body:
        writer.append({"kind": record.kind, **record.payload}, now=record.timestamp)
    writer.close({"kind": close.kind, **close.payload}, now=close.timestamp)
    assert len(read_records(writer.path)) == records
    return writer.path


def _peak(path: Path) -> tuple[int, LogFigures]:
    tracemalloc.start()
    try:
        figures = log_figures(path)
        return tracemalloc.get_traced_memory()[1], figures
    finally:
        tracemalloc.stop()


def test_a_long_log_is_read_in_bounded_memory(mixed: list[Path], tmp_path: Path) -> None:
    short = mixed[0]
    long = _lengthen(short, tmp_path, 3_000)
    short_peak, short_figures = _peak(short)
    long_peak, long_figures = _peak(long)
    assert long_figures.chair_time == short_figures.chair_time
    assert long_figures.outcome is short_figures.outcome
    # 20 times the records, not 20 times the memory (a full read holds every record)
    assert long_peak < 2 * short_peak, (short_peak, long_peak)
    tracemalloc.start()
    try:
        load_review(long)
        full_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert full_peak > 5 * long_peak  # what the bound is measured against
