"""Shared fixtures: the shipped library and policy, loaded once."""

from __future__ import annotations

import pytest

from titrator.files.library import Library, load_library
from titrator.files.policy import LoadedPolicy, load_policy


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library([])


@pytest.fixture(scope="session")
def policy() -> LoadedPolicy:
    return load_policy(None)
