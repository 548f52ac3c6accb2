from pathlib import Path

import pytest

from tests.helpers import copy_examples

pytest_plugins = ["localindex.pytest_fixtures", "tests.bumprepo", "tests.uvconventions"]


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A repo root in tmp_path holding copies of the bundled image folders."""
    return copy_examples(tmp_path)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A clone of this repository (Copier answers name its commits) with its own identity."""
    import subprocess

    from tests.helpers import REPO

    root = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
    for key, value in (("user.name", "Bumper Tests"), ("user.email", "tests@example.com"),
                       ("commit.gpgsign", "false")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    return root
