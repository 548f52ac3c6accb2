"""Pytest fixtures for the local index; register with
`pytest_plugins = ["localindex.pytest_fixtures"]` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localindex.server import IndexServer
from localindex.wheels import ensure_built


@pytest.fixture(scope="session")
def built_wheels() -> Path:
    """Directory with out_dir/<index>/<wheel>; cached by universe hash in the temp dir."""
    return ensure_built()


@pytest.fixture
def index_server(built_wheels: Path) -> Iterator[IndexServer]:
    """A fresh running server per test, so switches never leak between tests."""
    server = IndexServer(built_wheels)
    with server:
        yield server
        server.reset_faults()
