"""Shared test configuration: hypothesis profiles, and no test reads or writes the user's files."""

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# No test reads the machine's /etc/titrator/config.toml: an empty name means no machine-wide
# file (tests that need one point the variable at their own).
os.environ["TITRATOR_SYSTEM_CONFIG"] = ""

# Nor the user's own titrator files: a developer who has run `titrator demo` has a config file
# naming a site key (~/.config/titrator/config.toml), sessions and crash files, and the tests
# must neither read them (28 tests failed against such a config) nor write into them. Every
# place titrator looks for them by default is a fresh directory of this test process (one per
# xdist worker), removed at exit; tests that need their own set the variables themselves, and
# the processes the tests start inherit these.
_USER_DIRS = tempfile.mkdtemp(prefix="titrator-tests-")
atexit.register(shutil.rmtree, _USER_DIRS, ignore_errors=True)
for _name in ("TITRATOR_CONFIG", "TITRATOR_DATA_DIR", "TITRATOR_SPOOL_DIR", "TITRATOR_CRASH_DIR"):
    os.environ.pop(_name, None)
for _name, _part in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
):
    os.environ[_name] = os.path.join(_USER_DIRS, _part)
