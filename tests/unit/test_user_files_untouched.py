"""The suite neither reads nor writes the user's own titrator files (see tests/conftest.py).

A developer who has run `titrator demo` has ~/.config/titrator/config.toml naming a site key;
before the suite pointed every default place elsewhere, 28 tests read that key and failed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from titrator.audit.paths import default_data_dir
from titrator.audit.spool import default_spool_dir
from titrator.files.config import config_path
from titrator.files.crash import default_crash_dir
from titrator.files.site_key import user_config_dir


def test_every_default_place_is_this_test_process_own() -> None:
    own = Path(tempfile.gettempdir()).resolve()
    users = [Path.home().resolve() / ".config", Path.home().resolve() / ".local"]
    places = {
        "config": user_config_dir(),
        "sessions": default_data_dir(),
        "spool": default_spool_dir(),
        "crash files": default_crash_dir(),
    }
    for what, place in places.items():
        resolved = place.resolve()
        assert resolved.is_relative_to(own), f"{what}: {place}"
        assert not any(resolved.is_relative_to(user) for user in users), f"{what}: {place}"
    assert config_path() is None  # no user config is read
    for name in (
        "TITRATOR_CONFIG",
        "TITRATOR_DATA_DIR",
        "TITRATOR_SPOOL_DIR",
        "TITRATOR_CRASH_DIR",
    ):
        assert name not in os.environ
