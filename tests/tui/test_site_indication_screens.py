"""The app with a site indication file: the setup list and the plan preview say the indication is
an off-label site protocol, with its source, and so does the log (issue 14 item 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Select

from tests.support.app import AppFactory
from tests.tui.harness import (
    finish_checklist,
    finish_setup,
    log_events,
    open_session,
    static_text,
    the_app,
)
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.events import SessionOpened
from titrator.files.library import load_library, protocols_dir
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.setup import SetupScreen

KAWASAKI = {**DEMO_PATIENT, "weight_kg": "20", "indication_id": "kawasaki", "dose_g_per_kg": "2"}


def with_example(tmp_path: Path) -> dict[str, object]:
    directory = tmp_path / "library"
    directory.mkdir()
    shutil.copy(protocols_dir() / "site-examples" / "kawasaki-privigen.toml", directory)
    return {"products": load_library([directory]), "setup": KAWASAKI}


async def test_the_setup_list_and_the_preview_say_off_label_site_protocol(
    make_app: AppFactory, tmp_path: Path
) -> None:
    built = make_app(**with_example(tmp_path))
    async with built.app.run_test(size=(80, 24)) as pilot:
        screen = the_app(pilot).screen
        assert isinstance(screen, SetupScreen)
        select: Select[str] = screen.query_one("#indication_id", Select)
        labels = [str(prompt) for prompt, _ in select._options]
        assert "Kawasaki disease (off-label: site protocol)" in labels
        assert "Primary humoral immunodeficiency (PI)" in labels
        assert select.value == "kawasaki"
        await finish_setup(pilot)
        await finish_checklist(pilot, typed=False)
        preview = the_app(pilot).screen
        assert isinstance(preview, PlanPreviewScreen)
        summary = static_text(preview, "#plan-summary")
        assert "OFF-LABEL: site protocol (American Heart Association" in summary
        notes = static_text(preview, "#plan-notes")
        assert "off-label: site protocol (American Heart Association" in notes


async def test_the_session_log_records_the_off_label_protocol(
    make_app: AppFactory, tmp_path: Path
) -> None:
    built = make_app(**with_example(tmp_path))
    async with built.app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
    opened = [e for e in log_events(built.log_path) if isinstance(e, SessionOpened)]
    assert len(opened) == 1
    off = opened[0].plan.off_label
    assert off is not None
    assert off.file_id == "kawasaki-privigen"
    assert off.marker.startswith("off-label: site protocol (American Heart Association")
