"""`titrator audit replay`: the corpus replays exactly; differences are located by line and seq."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.audit.harness import CORPUS, LoggedRun
from tests.support.audit import rechain
from titrator.audit import verify_log
from titrator.audit.log_replay import replay_log
from titrator.cli.audit import audit_main

MANIFEST: dict[str, dict[str, object]] = json.loads(
    (CORPUS / "MANIFEST.json").read_text(encoding="utf-8")
)


def test_the_corpus_is_complete() -> None:
    assert sorted(MANIFEST) == sorted(p.name for p in CORPUS.glob("*.jsonl"))
    assert len(MANIFEST) >= 4


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_corpus_log_verifies_against_its_anchor_and_replays_exactly(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CORPUS / name
    head = str(MANIFEST[name]["head"])
    assert verify_log(path, expect_head=head).ok
    assert audit_main(["replay", str(path)]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.startswith(f"EQUAL {path}")


def test_the_resumed_corpus_log_crosses_a_restart() -> None:
    replayed = replay_log(CORPUS / "resumed.jsonl")
    kinds = [e.event.kind for e in replayed.events]
    assert "session_resumed" in kinds
    assert "clock_rebased" in kinds
    assert replayed.skipped["log_resumed"] == 1
    assert replayed.equal


def edited(tmp_path: Path, kind: str, **changes: object) -> tuple[Path, int]:
    """A copy of the uneventful log with one engine event edited and the chain recomputed (a
    forger without the key, or an engine that decides differently)."""
    lines = (CORPUS / "uneventful.jsonl").read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if json.loads(line)["kind"] == kind)
    record = json.loads(lines[index])
    record["payload"].update(changes)
    lines[index] = json.dumps(record).encode() + b"\n"
    path = tmp_path / "uneventful.jsonl"
    path.write_bytes(b"".join(rechain(lines)))
    return path, index + 1


def test_an_edited_output_is_reported_at_its_line_and_seq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = edited(tmp_path, "rate_changed", cause="edited")
    assert verify_log(path).outcome.label == "ok", "re-chained: only the replay can tell"
    assert audit_main(["replay", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"DIFFERS {path}: line {line} (seq {line - 1}), after the input")
    assert '"cause":"edited"' in out[1]
    assert out[1].startswith("  recorded: ")
    assert out[2].startswith("  replayed: ")
    assert '"cause":"start at step 1"' in out[2]


def test_an_edited_input_changes_what_follows(tmp_path: Path) -> None:
    path, line = edited(tmp_path, "vitals_entered", raw={"temp_c": "39.1"})
    replayed = replay_log(path)
    assert not replayed.equal
    assert replayed.difference is not None
    assert replayed.difference.input_line == line


def test_damaged_and_unreadable_logs_are_not_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((CORPUS / "anaphylaxis.jsonl").read_bytes())
    data[500] ^= 1
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(bytes(data))
    assert audit_main(["replay", str(damaged)]) == 1
    assert "DAMAGED" in capsys.readouterr().out
    assert audit_main(["replay", str(tmp_path / "missing.jsonl")]) == 2
    assert audit_main(["replay", str(CORPUS / "uneventful.jsonl"), str(damaged)]) == 1


def test_pump_wire_records_are_skipped_and_a_torn_tail_is_not_a_difference(
    tmp_path: Path,
) -> None:
    run = LoggedRun(tmp_path, "wire")
    run.run(6, run_on=False)
    writer = run.writer
    assert writer is not None
    writer.append({"kind": "pump_wire", "direction": "tx", "hex": "3052415433350d"})
    run.runner.advance(run.runner.current().mono_ms + 60 * 60_000)
    writer.release()
    with run.path.open("ab") as log:
        log.write(b'{"hash":"torn')
    replayed = replay_log(run.path)
    assert replayed.equal, replayed.summary()
    assert replayed.skipped["pump_wire"] == 1
    assert replayed.verification.outcome.label == "torn-tail"


def test_a_decision_cut_short_by_a_crash_replays_only_at_the_crash_point(tmp_path: Path) -> None:
    run = LoggedRun(tmp_path, "cut")
    run.run(6, run_on=False)
    assert run.writer is not None
    run.writer.release()
    lines = run.path.read_bytes().splitlines(keepends=True)
    last_intent = max(i for i, line in enumerate(lines) if b'"kind":"pump_command"' in line)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:last_intent]))  # the process died before the intent
    replayed = replay_log(cut)
    assert replayed.equal, replayed.summary()
    assert replayed.unrecorded[0].kind == "pump_command"
    # The same cut in the middle of the log, followed by more records, is a difference.
    middle = tmp_path / "middle.jsonl"
    middle.write_bytes(b"".join(rechain([*lines[:last_intent], *lines[last_intent + 1 :]])))
    assert not replay_log(middle).equal
