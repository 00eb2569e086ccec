"""A full disk during an infusion, through the real app (issue 18 item 2).

The audit log's disk fills mid-infusion (a real small tmpfs where this machine can mount one,
and ENOSPC injected at `os.write` always). STOP still reaches the pump at once, the run screen
tells the nurse in words to document on paper and where the records are, quitting keeps every
record (in the spool), and a resume merges the spool so the log verifies whole. When the spool
cannot be written either, the screen says the records are in memory only and quitting is
refused until they are written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.support.app import NORMAL_VITALS, Built, build_app
from tests.support.full_disk import Disk, disk_of
from tests.tui.harness import (
    Notices,
    advance_clock,
    decision,
    on_screen,
    quick_start,
    record_vitals,
    settle,
    static_text,
    wait_for,
)
from titrator.audit import AuditWriter, Outcome, verify_log
from titrator.audit.spool import spool_file
from titrator.domain.decisions import SessionState
from titrator.files.config import AppConfig
from titrator.pump.base import PumpState
from titrator.shell.resume import resume_session
from titrator.tui.dialogs.quit import QuitModal
from titrator.tui.screens.run import RunScreen

TMPFS_SIZE = "64m"
"""Room for the app's 50 MB start-up check (`DEFAULT_MIN_FREE_BYTES`)."""
MAX_VITALS = 8
"""Vital-sign entries to make after the fill before a write must fail (a tmpfs log's last page
takes at most 4 KiB more)."""


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    """The audit log's disk: a real tmpfs, or ENOSPC injected at `os.write`."""
    with disk_of(request.param, tmp_path / "disk", TMPFS_SIZE) as chosen:
        yield chosen


def app_on(disk: Disk, spool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Built:
    """The app writing its log on `disk` and spooling to `spool_dir` (the config's key)."""
    built = build_app(disk.data_dir)
    services = built.services
    services.config = AppConfig(spool_dir=spool_dir)
    if disk.injected:  # the writer's system calls go through the injected disk

        def open_audit(session_id: str, nurse_id: str) -> AuditWriter:
            return AuditWriter.create(
                session_id,
                station_id=services.config.station_id,
                nurse_id=nurse_id,
                data_dir=services.data_dir,
                clock=services.clock,
                ops=disk.ops,
                spool_dir=services.spool_dir,
            )

        monkeypatch.setattr(services, "open_audit", open_audit)
    return built


async def fill_until_failing(pilot: Pilot[Any], built: Built, disk: Disk) -> AuditWriter:
    """Fill the disk, then record vital signs until a write fails; the writer."""
    writer = built.app.controller.audit if built.app.controller else None
    assert isinstance(writer, AuditWriter)
    disk.fill()
    for _ in range(MAX_VITALS):
        if not writer.healthy:
            break
        await advance_clock(pilot, minutes=1)
        await record_vitals(pilot, NORMAL_VITALS)
        await settle(pilot)
    assert not writer.healthy, "no write failed on the full disk"
    return writer


async def test_stop_on_a_full_disk_reaches_the_pump_and_quitting_loses_no_record(
    disk: Disk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool_dir = tmp_path / "spool"
    built = app_on(disk, spool_dir, monkeypatch)
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        pump = built.fake_pump
        writer = await fill_until_failing(pilot, built, disk)
        await pilot.press("f9")
        await settle(pilot)
        assert decision(app).state is SessionState.STOPPED
        assert "STP" in pump.sent
        assert pump.true_state is not PumpState.INFUSING
        assert writer.pending_in == "spool"
        alarms = static_text(app.screen, "#alarms")
        assert "DOCUMENT ON PAPER" in alarms
        assert "kept safe in the spool" in alarms
        spool = spool_file(spool_dir, writer.session_id)
        assert b'"kind":"stop_requested"' in spool.read_bytes()
        await app.action_quit()
        await on_screen(pilot, QuitModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, "the app to quit")
    # Counted once the app has stopped: the app's one-second timer runs in real time here, and
    # on a loaded machine it can retry the log (and record the audit's health) between any two
    # steps above; every record sealed up to the quit must be in the log.
    sealed = writer.sealed_count
    writer.abandon()  # the process ends: its descriptors close, the spool stays
    assert spool.exists()
    disk.free()
    resumed = resume_session(
        writer.session_id,
        station_id="bay",
        nurse_id="rn-2",
        data_dir=disk.data_dir,
        clock=built.clock,
        min_free_bytes=0,
        spool_dir=spool_dir,
    )
    resumed.writer.release()
    assert not spool.exists()
    result = verify_log(built.log_path)
    assert result.outcome is Outcome.UNFINISHED, result.summary()
    lines = built.log_path.read_bytes().splitlines()
    # Every sealed record is in the log (the chain is whole), the resume's own records follow.
    assert json.loads(lines[sealed])["kind"] == "log_resumed"
    assert json.loads(lines[sealed - 1])["seq"] == sealed - 1
    assert b'"kind":"stop_requested"' in b"".join(lines[:sealed])


async def test_log_and_spool_failing_quitting_is_refused_until_records_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with disk_of("injected", tmp_path / "disk") as disk:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where the spool directory should be\n")
        built = app_on(disk, blocker / "spool", monkeypatch)
        app = built.app
        notices = Notices()
        async with app.run_test(size=(80, 24), message_hook=notices) as pilot:
            await quick_start(pilot)
            writer = await fill_until_failing(pilot, built, disk)
            await pilot.press("f9")
            await settle(pilot)
            assert "STP" in built.fake_pump.sent
            assert writer.pending_in == "memory"
            alarms = static_text(app.screen, "#alarms")
            assert "in memory only" in alarms
            assert "DOCUMENT ON PAPER" in alarms
            await app.action_quit()
            await settle(pilot)
            assert isinstance(app.screen, RunScreen)
            assert notices.said("Cannot quit")
            disk.free()
            await app.action_quit()  # written at last: now the ordinary confirmation
            await on_screen(pilot, QuitModal)
            assert writer.healthy
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running, "the app to quit")
    result = verify_log(built.log_path)
    assert result.outcome is Outcome.UNFINISHED, result.summary()
    assert len(built.log_path.read_bytes().splitlines()) == writer.sealed_count
