"""Shared fixtures: the shipped library and policy, loaded once."""

from __future__ import annotations

import pytest

from titrator.library_files import Library, load_library
from titrator.policy_files import LoadedPolicy, load_policy


@pytest.fixture(scope="session")
def library() -> Library:
    return load_library([])


@pytest.fixture(scope="session")
def policy() -> LoadedPolicy:
    return load_policy(None)
