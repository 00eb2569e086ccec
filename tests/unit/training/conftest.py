"""Shared fixtures: the shipped library and policy, loaded once (from `tests.support.clinical`)."""

from __future__ import annotations

import pytest

from tests.support import clinical
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy


@pytest.fixture(scope="session")
def library() -> Library:
    return clinical.library()


@pytest.fixture(scope="session")
def policy() -> LoadedPolicy:
    return clinical.loaded_policy()
