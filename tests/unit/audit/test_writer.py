"""The writer: record envelope, clock injection, encoding rules, files, keys, space, life cycle."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
import structlog
from pydantic import BaseModel, ConfigDict

from tests.support.audit import StepClock, file_mode, make_key, write_log
from titrator.audit import (
    GENESIS,
    AuditFormatError,
    AuditIntegrityError,
    AuditKeyError,
    AuditOpenError,
    AuditSpaceError,
    AuditStateError,
    AuditWriter,
    Outcome,
    default_data_dir,
    generate_key_file,
    read_records,
    verify_log,
)
from titrator.audit.canonical import record_hash, sealed_body
from titrator.shell.clocks import SystemClock


class RateChanged(BaseModel):
    """A stand-in for an engine event: frozen, strict keys, Decimal quantities."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["rate_changed"] = "rate_changed"
    schema_version: int = 1
    rate_ml_per_h: Decimal
    reason: str


def new_writer(tmp_path: Path, **kwargs: object) -> AuditWriter:
    return AuditWriter.create(
        "s-1",
        station_id="bay-3",
        nurse_id="rn-7",
        data_dir=tmp_path / "logs",
        clock=StepClock(),
        min_free_bytes=0,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[AuditWriter]:
    w = new_writer(tmp_path)
    yield w
    w.release()


def test_each_record_carries_the_full_envelope(writer: AuditWriter) -> None:
    writer.append(RateChanged(rate_ml_per_h=Decimal("12.50"), reason="step 2"))
    opened, changed = (json.loads(line) for line in writer.path.read_text().splitlines())
    assert opened["kind"] == "log_opened"
    assert opened["prev_hash"] == GENESIS
    assert changed == {
        "v": 3,
        "seq": 1,
        "ts": "2025-01-31T09:00:02.000000+00:00",
        "mono": 1002000,
        "session_id": "s-1",
        "station_id": "bay-3",
        "nurse_id": "rn-7",
        "kind": "rate_changed",
        "payload": {"schema_version": 1, "rate_ml_per_h": "12.50", "reason": "step 2"},
        "prev_hash": opened["hash"],
        "hash": changed["hash"],
    }
    assert changed["hash"] == record_hash(sealed_body(changed))


def test_times_given_by_the_caller_win_over_the_clock(writer: AuditWriter) -> None:
    local = datetime(2025, 3, 30, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    writer.append({"kind": "tick"}, now=local, mono_ms=5250)
    record = read_records(writer.path)[-1]
    assert record.ts == "2025-03-30T01:30:00.000000+00:00"
    assert record.timestamp == local
    assert record.mono == record.mono_ms == 5250


def test_lines_are_canonical_json_with_decimals_as_exact_strings(writer: AuditWriter) -> None:
    writer.append({"kind": "dose", "rate": Decimal("0.50"), "ünits": "mL/h", "z": 1, "a": [2]})
    line = writer.path.read_bytes().splitlines()[-1]
    assert b'"payload":{"a":[2],"rate":"0.50","z":1,"\xc3\xbcnits":"mL/h"}' in line
    assert b" " not in line.replace(b"mL/h", b"")


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "bad", "x": math.nan},
        {"kind": "bad", "x": math.inf},
        {"kind": "bad", "x": Decimal("NaN")},
        {"kind": "bad", "x": datetime(2025, 1, 1, tzinfo=UTC)},
        {"kind": "bad", "x": "\ud800"},
        {"kind": ""},
        {"no_kind": 1},
    ],
)
def test_unencodable_events_are_refused_and_leave_no_gap(
    writer: AuditWriter, event: dict[str, object]
) -> None:
    with pytest.raises(AuditFormatError):
        writer.append(event)
    assert writer.healthy
    assert writer.append({"kind": "next"}).seq == 1
    writer.close()
    assert verify_log(writer.path).ok


def test_naive_times_and_non_finite_monotonic_readings_are_refused(writer: AuditWriter) -> None:
    with pytest.raises(AuditFormatError, match="timezone"):
        writer.append({"kind": "x"}, now=datetime(2025, 1, 1))
    for reading in (math.inf, 5.25, True, -1):
        with pytest.raises(AuditFormatError, match="whole number of milliseconds"):
            writer.append({"kind": "x"}, mono_ms=reading)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["log_opened", "log_resumed", "log_recovered"])
def test_writer_owned_kinds_cannot_be_appended(writer: AuditWriter, kind: str) -> None:
    with pytest.raises(AuditFormatError, match="reserved"):
        writer.append({"kind": kind})


def test_session_closed_goes_through_close_and_nothing_else(writer: AuditWriter) -> None:
    with pytest.raises(AuditFormatError, match=r"close\(event\)"):
        writer.append({"kind": "session_closed"})
    with pytest.raises(AuditFormatError, match="takes a 'session_closed' event"):
        writer.close({"kind": "tick"})
    head = writer.close({"kind": "session_closed", "volume_ml": Decimal("250.0")})
    last = read_records(writer.path)[-1]
    assert (last.kind, last.payload, last.from_writer) == (
        "session_closed",
        {"volume_ml": "250.0"},
        False,
    )
    assert verify_log(writer.path, expect_head=head.hash).ok


def test_close_returns_the_head_that_verify_checks_against(writer: AuditWriter) -> None:
    writer.append({"kind": "a"})
    head = writer.close(reason="completed")
    assert writer.closed
    assert writer.head == head
    last = read_records(writer.path)[-1]
    assert (last.kind, last.payload) == (
        "session_closed",
        {"closed_by": "audit_writer", "reason": "completed"},
    )
    assert last.from_writer
    assert last.hash == head.hash
    assert verify_log(writer.path, expect_head=head.hash).ok
    with pytest.raises(AuditStateError):
        writer.append({"kind": "late"})
    with pytest.raises(AuditStateError):
        writer.close()


def test_a_keyed_head_carries_the_mac(tmp_path: Path) -> None:
    key_file, key = make_key(tmp_path / "keys")
    w = new_writer(tmp_path, key_file=key_file)
    head = w.close()
    assert head.mac is not None
    assert read_records(w.path)[-1].mac == head.mac
    assert verify_log(w.path, key=key, expect_head=head.hash).mac_checked


def test_a_nurse_hand_over_restamps_later_records(writer: AuditWriter) -> None:
    writer.append({"kind": "a"})
    writer.set_nurse("rn-8")
    writer.append({"kind": "b"})
    assert [r.nurse_id for r in read_records(writer.path)] == ["rn-7", "rn-7", "rn-8"]
    assert writer.nurse_id == "rn-8"


def test_the_global_structlog_configuration_does_not_reach_the_audit_chain(
    writer: AuditWriter,
) -> None:
    with structlog.testing.capture_logs() as captured:
        writer.append({"kind": "private"})
    assert captured == []
    assert read_records(writer.path)[-1].kind == "private"


def test_files_are_0600_and_new_directories_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        w = AuditWriter.create(
            "s-1",
            station_id="b",
            nurse_id="n",
            data_dir=tmp_path / "a" / "b" / "logs",
            min_free_bytes=0,
            clock=SystemClock(),
        )
        w.release()
    finally:
        os.umask(old)
    assert file_mode(w.path) == 0o600
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "logs"):
        assert file_mode(directory) == 0o700


def test_an_existing_open_log_directory_is_tightened(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    os.chmod(logs, 0o755)
    new_writer(tmp_path).release()
    assert file_mode(logs) == 0o700


def test_the_default_data_directory_follows_env_then_xdg_then_home() -> None:
    assert default_data_dir({"TITRATOR_DATA_DIR": "/srv/t"}) == Path("/srv/t")
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/titrator/sessions")
    expected = Path.home() / ".local/share/titrator/sessions"
    assert default_data_dir({}) == expected


def test_the_env_var_is_used_when_no_directory_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITRATOR_DATA_DIR", str(tmp_path / "env-logs"))
    w = AuditWriter.create(
        "s-9", station_id="b", nurse_id="n", min_free_bytes=0, clock=SystemClock()
    )
    w.release()
    assert w.path == tmp_path / "env-logs" / "s-9.jsonl"


@pytest.mark.parametrize("session_id", ["../x", "a/b", "", ".hidden", "x" * 200])
def test_unsafe_session_ids_are_refused(tmp_path: Path, session_id: str) -> None:
    with pytest.raises(ValueError, match="safe file name"):
        AuditWriter.create(
            session_id, station_id="b", nurse_id="n", data_dir=tmp_path, clock=SystemClock()
        )


def test_a_key_file_inside_the_log_directory_is_refused(tmp_path: Path) -> None:
    key_file, _ = make_key(tmp_path / "logs" / "keys")
    with pytest.raises(AuditKeyError, match="inside the log directory"):
        new_writer(tmp_path, key_file=key_file)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    key_file, _ = make_key(tmp_path / "keys")
    os.chmod(key_file, mode)
    with pytest.raises(AuditKeyError, match="0600"):
        new_writer(tmp_path, key_file=key_file)
    assert not (tmp_path / "logs").exists()


def test_short_missing_and_existing_key_files_are_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 16)
    os.chmod(short, 0o600)
    with pytest.raises(AuditKeyError, match="at least 32"):
        new_writer(tmp_path, key_file=short)
    with pytest.raises(AuditKeyError, match="cannot be read"):
        new_writer(tmp_path, key_file=tmp_path / "missing.key")
    with pytest.raises(AuditKeyError, match="cannot create"):
        generate_key_file(short)


def test_a_session_does_not_start_without_enough_free_space(tmp_path: Path) -> None:
    with pytest.raises(AuditSpaceError, match="MB free"):
        AuditWriter.create(
            "s-1",
            station_id="b",
            nurse_id="n",
            data_dir=tmp_path,
            min_free_bytes=1 << 62,
            clock=SystemClock(),
        )
    assert list(tmp_path.iterdir()) == []


def test_a_log_is_never_created_twice_nor_written_by_two_writers(writer: AuditWriter) -> None:
    with pytest.raises(AuditStateError, match="exists"):
        new_writer(writer.path.parent.parent)
    with pytest.raises(AuditStateError, match="another process"):
        AuditWriter.resume(
            "s-1",
            station_id="b",
            nurse_id="n",
            data_dir=writer.path.parent,
            min_free_bytes=0,
            clock=SystemClock(),
        )


def test_bulk_mode_skips_per_record_fsync_but_syncs_on_release(tmp_path: Path) -> None:
    with new_writer(tmp_path, sync_each_record=False) as w:
        for i in range(50):
            w.append({"kind": "tick", "i": i})
    assert verify_log(w.path).outcome is Outcome.UNFINISHED
    assert len(read_records(w.path)) == 51


# ---------------------------------------------------------------------------------- resume
def resume(tmp_path: Path, **kwargs: object) -> AuditWriter:
    return AuditWriter.resume(
        "s-0001",
        station_id="bay-4",
        nurse_id="rn-9",
        data_dir=tmp_path / "logs",
        clock=StepClock(),
        min_free_bytes=0,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("keyed", [False, True])
def test_an_unfinished_log_resumes_and_then_verifies(tmp_path: Path, keyed: bool) -> None:
    log = write_log(tmp_path, keyed=keyed, n_events=3, close=False)
    w = resume(tmp_path, key_file=log.key_file)
    w.append({"kind": "after"})
    head = w.close()
    kinds = [r.kind for r in read_records(log.path)]
    assert kinds[4:] == ["log_resumed", "after", "session_closed"]
    assert verify_log(log.path, key=log.key, expect_head=head.hash).ok


def test_a_torn_tail_cut_anywhere_in_the_last_line_is_moved_aside_and_recorded(
    tmp_path: Path,
) -> None:
    log = write_log(tmp_path, keyed=True, n_events=3, close=False)
    intact = b"".join(log.lines[:-1])
    last = log.lines[-1]
    for cut in range(1, len(last)):
        log.path.write_bytes(intact + last[:cut])
        w = resume(tmp_path, key_file=log.key_file)
        recovered = read_records(log.path)[-1]
        aside = log.path.with_name(recovered.payload["quarantine_file"])
        assert aside.read_bytes() == last[:cut]
        assert file_mode(aside) == 0o600
        assert recovered.kind == "log_recovered"
        assert recovered.payload["torn_bytes"] == cut
        assert recovered.payload["after_seq"] == len(log.lines) - 2
        assert log.path.read_bytes().startswith(intact)
        w.close()
        assert verify_log(log.path, key=log.key).ok
    assert len(list(log.path.parent.glob("*.torn-*"))) == len(last) - 1


def test_an_empty_or_torn_first_line_log_is_reopened_from_scratch(tmp_path: Path) -> None:
    log = write_log(tmp_path, keyed=False, n_events=1, close=False)
    for content in (b"", log.lines[0][:10]):
        log.path.write_bytes(content)
        resume(tmp_path).close()
        kinds = [r.kind for r in read_records(log.path)]
        assert kinds[0] == "log_opened"
        assert kinds[-1] == "session_closed"
        assert verify_log(log.path).ok


def test_resume_refuses_closed_damaged_missing_and_keyless_logs(tmp_path: Path) -> None:
    closed = write_log(tmp_path / "closed", keyed=False)
    with pytest.raises(AuditStateError, match="already closed"):
        resume(tmp_path / "closed")
    assert closed.path.read_bytes() == closed.data

    with pytest.raises(AuditStateError, match="no log"):
        resume(tmp_path / "none")

    damaged = write_log(tmp_path / "damaged", keyed=False, close=False)
    damaged.path.write_bytes(damaged.data.replace(b"rn-0042", b"rn-0043", 1))
    with pytest.raises(AuditIntegrityError, match="line 1"):
        resume(tmp_path / "damaged")

    keyed = write_log(tmp_path / "keyed", keyed=True, close=False)
    with pytest.raises(AuditKeyError, match="keyed"):
        resume(tmp_path / "keyed")
    assert keyed.path.read_bytes() == keyed.data


def test_an_unwritable_data_directory_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AuditOpenError, match="cannot open the audit log"):
        AuditWriter.create(
            "s-1",
            station_id="b",
            nurse_id="n",
            data_dir=blocker / "logs",
            min_free_bytes=0,
            clock=SystemClock(),
        )


def test_a_close_with_a_bad_time_records_nothing_and_leaves_the_session_open(
    writer: AuditWriter,
) -> None:
    with pytest.raises(AuditFormatError):
        writer.close(mono_ms=-1)
    writer.append({"kind": "still-open"})
    writer.close()
    assert [r.kind for r in read_records(writer.path)][-2:] == ["still-open", "session_closed"]


def test_records_cannot_be_unattributed(tmp_path: Path, writer: AuditWriter) -> None:
    with pytest.raises(ValueError, match="station id and a nurse id"):
        AuditWriter.create(
            "s-2", station_id="b", nurse_id="", data_dir=tmp_path, clock=SystemClock()
        )
    assert not (tmp_path / "s-2.jsonl").exists()
    with pytest.raises(ValueError, match="nurse id"):
        writer.set_nurse("")
