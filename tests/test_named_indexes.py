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


def test_every_index_the_folder_names_gets_the_mapping_and_the_credentials(
        uv_repos: dict[str, Path], tmp_path: Path, bump_env: dict[str, str],
        built_wheels: Path) -> None:
    """An index that wants a password: the folder's index and its GA index (a source) both
    get it, through the one netrc; it is never written into the folder or the lock."""
    password = "S3cret-uvconv"
    with IndexServer(built_wheels, auth=("alice", password)) as server:
        shutil.copytree(uv_repos["sources"], tmp_path / "repo", symlinks=True)
        repo = Repo(tmp_path / "repo", bump_env, server)
        repo.fails(3, "lock", "--upgrade", DIR)  # no credentials: refused
        repo.extra_env.update(BUMPER_INDEX_USERNAME="alice", BUMPER_INDEX_PASSWORD=password)
        server.requests_log.clear()
        run = repo.ok("lock", "--upgrade", DIR)
        ga = {path for method, path, user in server.requests_log if "/ga-ubi9/" in path}
        assert ga, "uv asked the GA index for nothing"
        # (uv may ask first without credentials; the index answers 401 until it sends them)
        assert "alice" in {user for method, path, user in server.requests_log
                           if "/ga-ubi9/" in path}, "the GA index got no credentials"
        lock = repo.read(NAME, "requirements.txt")
        assert lock_pins(lock)["rhai-ga-tools"] == "1.1.0"
        for text in (lock, repo.read(NAME, "pyproject.toml"), run.out, run.err):
            assert password not in text and "127.0.0.1" not in text
