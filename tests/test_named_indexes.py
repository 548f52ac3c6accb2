"""Issue 10 break 17: ``[tool.uv.sources]`` with ``[[tool.uv.index]]``: check knows which
index each pin may come from, and ``index missing`` checks each pin against its own index.
Fixture folder: tests/uvconventions.py ``sources`` (rhai-ga-tools only on the GA index)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from localindex.server import IndexServer
from tests.bumprepo import Repo, lock_pins
from tests.uvconventions import DIR, GA, MAIN, NAME


def codes(repo: Repo) -> list[tuple[str, str]]:
    run = repo.bumper("--format", "json", "check", DIR)
    assert run.code in (0, 1), str(run)
    found = run.json()["findings"]
    assert isinstance(found, list)
    return [(str(f["code"]), str(f["message"])) for f in found]


def test_the_lock_names_the_index_its_source_pins_come_from(
        uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("sources")
    repo.ok("lock", "--upgrade", DIR)
    lock = repo.read(NAME, "requirements.txt")
    assert lock.splitlines()[:2] == [f"--index-url={MAIN}", f"--extra-index-url={GA}"]
    assert lock_pins(lock)["rhai-ga-tools"] == "1.1.0"
    assert not [c for c in codes(repo) if c[0] in ("L009", "L010")]


def test_check_flags_a_source_pin_from_an_index_the_lock_does_not_name(
        uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("sources")
    lock = repo.read(NAME, "requirements.txt")
    repo.write(NAME, "requirements.txt", lock.replace(f"--extra-index-url={GA}\n", ""))
    found = [c for c in codes(repo) if c[0].startswith("L01")]
    assert len(found) == 1
    assert found[0][0] == "L010" and "rhai-ga-tools==" in found[0][1] and GA in found[0][1]
    repo.ok("lock", DIR)  # the relock writes the line back
    assert f"--extra-index-url={GA}\n" in repo.read(NAME, "requirements.txt")


def test_check_flags_a_source_naming_no_index(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("sources")
    text = repo.read(NAME, "pyproject.toml")
    repo.write(NAME, "pyproject.toml", text.replace('{ index = "ga" }', '{ index = "gaa" }'))
    found = [c for c in codes(repo) if c[0] == "L009"]
    assert len(found) == 1 and "'gaa'" in found[0][1]


def test_index_missing_checks_each_pin_against_its_own_index(
        uv_repos: dict[str, Path], tmp_path: Path, bump_env: dict[str, str],
        index_server: IndexServer) -> None:
    shutil.copytree(uv_repos["sources"], tmp_path / "repo", symlinks=True)
    repo = Repo(tmp_path / "repo", bump_env, index_server)
    run = repo.ok("index", "missing", DIR)  # rhai-ga-tools is on GA only: found there
    version = lock_pins(repo.read(NAME, "requirements.txt"))["rhai-ga-tools"]
    index_server.hide("rhai-ga-tools", version, index="ga-ubi9")
    run = repo.bumper("index", "missing", DIR)
    assert run.code == 1, str(run)
    assert f"Please add to {GA}:" in run.out
    assert f"rhai-ga-tools=={version}" in run.out
    assert MAIN not in run.out
