"""Issue 11 item 5: a folder with two locks (``requirements.txt`` and the split
``requirements-ga.txt`` for the GA index): both found by their uv header, checked and
relocked, each with its own index, inputs and header. Fixture: tests/uvconventions.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from localindex.server import IndexServer
from tests.bumprepo import Repo, lock_pins
from tests.uvconventions import (
    DIR,
    GA,
    GA_INPUT,
    GA_LOCK,
    MAIN,
    NAME,
    hand_ga_lock,
    hand_lock,
    local_prefix,
)


def test_lock_and_upgrade_give_both_documented_locks(uv_repo: Callable[[str], Repo],
                                                     shared_index: IndexServer,
                                                     bump_env: dict[str, str]) -> None:
    repo = uv_repo("split")
    path = repo.root / DIR
    before = {name: (path / name).read_bytes() for name in ("requirements.txt", GA_LOCK)}
    run = repo.ok("lock", DIR)
    assert f"{DIR}/{GA_LOCK}: unchanged" in run.out
    assert {n: (path / n).read_bytes() for n in before} == before
    repo.ok("lock", "--upgrade", DIR)
    prefix = local_prefix(shared_index)
    main, ga = repo.read(NAME, "requirements.txt"), repo.read(NAME, GA_LOCK)
    assert lock_pins(main) == lock_pins(hand_lock(path, prefix, bump_env, upgrade=True))
    assert lock_pins(ga) == lock_pins(hand_ga_lock(path, prefix, bump_env, upgrade=True))
    assert main.startswith(f"--index-url={MAIN}\n") and ga.startswith(f"--index-url={GA}\n")
    assert "rhai-ga-tools" in lock_pins(ga) and "rhai-ga-tools" not in lock_pins(main)
    assert lock_pins(ga)["urllib3"] == "2.5.0"  # the folder's constraints hold for both
    header = next(ln for ln in ga.splitlines() if ln.startswith("#    "))
    assert header.startswith(f"#    uv pip compile {GA_INPUT}")  # its own command, kept


def test_lock_check_names_the_second_lock(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("split")
    (repo.root / DIR / GA_INPUT).write_text("rhai-ga-tools>=1.0.0\nsqlparse>=0.5.0\n",
                                            encoding="utf-8")
    run = repo.bumper("lock", "--check", DIR)
    assert run.code == 1, str(run)
    assert f"{DIR}/{GA_LOCK}: out of date" in run.out
    assert f"{DIR}/requirements.txt: out of date" not in run.out
    data = repo.bumper("--format", "json", "lock", "--check", DIR).json()
    assert data["folders"] == [{"path": DIR, "changed": False},
                               {"path": DIR, "changed": True, "lock": GA_LOCK}]


def test_a_bump_relocks_both(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("split")
    (repo.root / DIR / GA_INPUT).write_text("rhai-ga-tools>=1.0.0\nsqlparse>=0.5.0\n",
                                            encoding="utf-8")
    repo.commit_all("the GA lock takes sqlparse too")
    repo.ok("minor", DIR, "--set", "starlette>=1.3.1", "--yes")
    assert lock_pins(repo.read(NAME, "requirements.txt"))["starlette"] == "1.4.0"
    ga = repo.read(NAME, GA_LOCK)
    assert lock_pins(ga)["sqlparse"] == "0.5.3" and ga.startswith(f"--index-url={GA}\n")
    assert GA_LOCK in repo.git("show", "--stat", "HEAD")


def test_index_missing_checks_the_second_lock_against_its_index(
        uv_repos: dict[str, Path], tmp_path: Path, bump_env: dict[str, str],
        index_server: IndexServer) -> None:
    import shutil

    shutil.copytree(uv_repos["split"], tmp_path / "repo", symlinks=True)
    repo = Repo(tmp_path / "repo", bump_env, index_server)
    repo.ok("index", "missing", DIR)
    version = lock_pins(repo.read(NAME, GA_LOCK))["rhai-ga-tools"]
    index_server.hide("rhai-ga-tools", version, index="ga-ubi9")
    run = repo.bumper("index", "missing", DIR)
    assert run.code == 1, str(run)
    assert f"Please add to {GA}:" in run.out and f"rhai-ga-tools=={version}" in run.out


@pytest.mark.parametrize("listed", [True, False])
def test_a_lock_without_a_header_is_one_only_when_listed(uv_repo: Callable[[str], Repo],
                                                         listed: bool) -> None:
    repo = uv_repo("split")
    ga = repo.read(NAME, GA_LOCK)
    repo.write(NAME, GA_LOCK, "\n".join(ln for ln in ga.splitlines()
                                        if not ln.startswith("#")) + "\n")
    if listed:
        (repo.root / "pyproject.toml").write_text(f'[tool.bumper]\nlocks = ["{GA_LOCK}"]\n',
                                                  encoding="utf-8")
    run = repo.ok("lock", DIR)
    assert (f"{DIR}/{GA_LOCK}" in run.out) == listed


def _lock_codes(repo: Repo) -> list[tuple[str, str]]:
    run = repo.bumper("--format", "json", "check", DIR)
    assert run.code in (0, 1), str(run)
    found = run.json()["findings"]
    assert isinstance(found, list)
    return [(str(f["code"]), str(f["path"])) for f in found if str(f["path"]).endswith(GA_LOCK)]


def test_check_reads_the_second_lock(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("split")
    assert _lock_codes(repo) == []
    (repo.root / DIR / GA_INPUT).unlink()
    assert _lock_codes(repo) == [("L011", f"{DIR}/{GA_LOCK}")]
    run = repo.fails(2, "lock", DIR)
    assert GA_INPUT in run.err
    assert repo.status() == f" D {DIR}/{GA_INPUT}\n"


def test_align_resolves_the_second_lock_too(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("split")
    repo.ok("align", DIR)
    # the GA lock now asks for what the folder's constraints forbid (urllib3~=2.5.0)
    (repo.root / DIR / GA_INPUT).write_text("rhai-ga-tools>=1.0.0\nurllib3>=2.6\n",
                                            encoding="utf-8")
    run = repo.bumper("align", DIR)
    assert run.code == 1, str(run)
    assert f"{DIR}/pyproject.toml: {GA_LOCK} does not resolve with training-hub 0.5.0" in run.out
    assert "urllib3" in run.out
    assert repo.status() == f" M {DIR}/{GA_INPUT}\n"
