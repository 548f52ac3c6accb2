from pathlib import Path

import pytest

from tests.helpers import copy_examples

pytest_plugins = ["localindex.pytest_fixtures"]


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A repo root in tmp_path holding copies of the bundled image folders."""
    return copy_examples(tmp_path)
