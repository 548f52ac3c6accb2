"""Permission problems are the environment's: exit 3, one line naming the path, nothing
left behind. Modes are enforced for real: as root, bumper runs under setpriv without the
capabilities that override file modes (so root is held to the owner bits, as any user is)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bumprepo import CUDA, IMAGES, ROOT, Repo, Run

NEW = "th05-cuda128-torch291-py312"
PIPELINE = f".tekton/odh-training-{CUDA}-pull-request.yaml"
SETPRIV = shutil.which("setpriv")


def run_held_to_modes(repo: Repo, *args: str) -> Run:
    prefix: list[str] = []
    if os.geteuid() == 0:
        assert SETPRIV, "setpriv (util-linux) is needed to run bumper as root without " \
                        "CAP_DAC_OVERRIDE"
        prefix = [SETPRIV, "--bounding-set=-dac_override,-dac_read_search", "--"]
    done = subprocess.run([*prefix, *repo.command(*args)], cwd=repo.root, env=repo._env(),
                          capture_output=True, text=True, timeout=120, check=False)
    return Run(args, done.returncode, done.stdout, done.stderr)


def refused(run: Run, path: str) -> None:
    assert run.code == 3, str(run)
    assert "Traceback" not in run.err
    assert run.err.splitlines() == [f"bumper: error: {path}: permission denied (Permission "
                                    "denied); give this user access to it and run again"], run.err


@pytest.fixture
def chmods(repo: Repo) -> Iterator[list[Path]]:
    """Paths the test makes read-only; made writable again afterwards (tmp_path cleanup)."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_read_only_folder_edited_in_place(repo: Repo, chmods: list[Path]) -> None:
    folder = repo.folder(CUDA)
    folder.chmod(0o555)
    chmods.append(folder)
    before, head = repo.snapshot(), repo.head()
    run = run_held_to_modes(repo, "minor", CUDA, "--base-image", ":2026b", "--no-lock", "--yes")
    refused(run, f"{IMAGES}/{CUDA}")
    repo.assert_untouched(before, head)


def test_a_read_only_source_of_a_major_is_copied(repo: Repo, chmods: list[Path]) -> None:
    """Only read, never written: the new folder is made from it (writable by its owner, so
    that the bump can edit it), and the source stays as it is."""
    folder = repo.folder(CUDA)
    folder.chmod(0o555)
    chmods.append(folder)
    run = run_held_to_modes(repo, "major", "--cuda", "12.8", "--no-lock", "--yes")
    assert run.code == 0, str(run)
    assert repo.status() == "" and NEW in repo.folders()
    assert folder.stat().st_mode & 0o777 == 0o555
    assert not [n for n in repo.folders() if n.startswith(".bumper-staging-")]


def test_a_read_only_images_root(repo: Repo, chmods: list[Path]) -> None:
    root = repo.root / IMAGES
    root.chmod(0o555)
    chmods.append(root)
    before, head = repo.snapshot(), repo.head()
    run = run_held_to_modes(repo, "major", "--cuda", "12.8", "--no-lock", "--yes")
    refused(run, IMAGES)
    repo.assert_untouched(before, head)


def test_a_read_only_pipeline_folder(repo: Repo, chmods: list[Path]) -> None:
    (repo.root / ".tekton").mkdir()
    shutil.copy(ROOT / PIPELINE, repo.root / PIPELINE)
    repo.commit_all("ci: pipeline of the cuda image")
    (repo.root / ".tekton").chmod(0o555)
    chmods.append(repo.root / ".tekton")
    before, head = repo.snapshot(), repo.head()
    run = run_held_to_modes(repo, "major", "--cuda", "12.8", "--no-lock", "--yes")
    refused(run, PIPELINE.replace(CUDA, NEW))
    repo.assert_untouched(before, head)


def test_an_unreadable_dockerfile(repo: Repo, chmods: list[Path]) -> None:
    dockerfile = repo.folder(CUDA) / "Dockerfile"
    dockerfile.chmod(0o000)
    chmods.append(dockerfile)
    before, head = repo.snapshot(), repo.head()
    run = run_held_to_modes(repo, "major", "--cuda", "12.8", "--no-lock", "--yes")
    refused(run, f"{IMAGES}/{CUDA}/Dockerfile")
    repo.assert_untouched(before, head)
