"""Shared test configuration: hypothesis profiles."""

import os

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
