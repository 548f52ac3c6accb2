"""Issue 11: locks follow each folder's own uv settings and the lock's own form.

Fixture folders: tests/uvconventions.py (written here, locked by their documented command run
by hand). The index: the local universe's ``cpu-ubi9-uvconv`` (newer versions than the
constraints allow) and ``ga-ubi9`` (a second index).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from localindex.server import IndexServer
from tests.bumprepo import Repo, lock_pins
from tests.uvconventions import (
    DIR,
    FIXTURES,
    GA,
    MAIN,
    NAME,
    PUBLIC_HOST,
    hand_lock,
    local_prefix,
)


def folder(repo: Repo) -> Path:
    return repo.root / DIR


def constraints_hold(pyproject: str, lock: str) -> None:
    """Every constraint and override of the folder holds for the lock's pins."""
    import tomllib

    pins = lock_pins(lock)
    uv = tomllib.loads(pyproject)["tool"]["uv"]
    for entry in uv.get("constraint-dependencies", []) + uv.get("override-dependencies", []):
        req = Requirement(entry)
        version = pins.get(req.name)
        assert version is None or req.specifier.contains(version), (entry, version)


# --- lock and lock --upgrade give the documented command's pins -------------------------------


@pytest.mark.parametrize("kind", FIXTURES)
def test_lock_and_upgrade_give_the_pins_of_the_documented_command(
        kind: str, uv_repo: Callable[[str], Repo], shared_index: IndexServer,
        bump_env: dict[str, str]) -> None:
    repo = uv_repo(kind)
    path = folder(repo)
    prefix = local_prefix(shared_index)
    before = (path / "requirements.txt").read_bytes()
    repo.ok("lock", DIR)
    assert (path / "requirements.txt").read_bytes() == before  # the same pins: nothing written
    repo.ok("lock", "--upgrade", DIR)
    lock = (path / "requirements.txt").read_text(encoding="utf-8")
    by_hand = hand_lock(path, prefix, bump_env, upgrade=True)
    assert lock_pins(lock) == lock_pins(by_hand)
    constraints_hold((path / "pyproject.toml").read_text(encoding="utf-8"), lock)
    assert lock.startswith(f"--index-url={MAIN}\n")


def test_constraints_forbid_what_the_index_has(uv_repo: Callable[[str], Repo]) -> None:
    """Without the folder's constraints uv would take starlette 1.4.0 and urllib3 2.6.0."""
    repo = uv_repo("constraints")
    repo.ok("lock", "--upgrade", DIR)
    pins = lock_pins(repo.read(NAME, "requirements.txt"))
    assert pins["starlette"] == "1.2.0"
    assert pins["urllib3"] == "2.5.0"


def test_the_override_is_what_lets_the_folder_resolve(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("override")
    repo.ok("lock", "--upgrade", DIR)
    pins = lock_pins(repo.read(NAME, "requirements.txt"))
    assert pins["numpy"] == "2.3.5" and pins["rhai-eval-harness"] == "0.3.0"
    text = repo.read(NAME, "pyproject.toml")
    repo.write(NAME, "pyproject.toml", text.replace('    "numpy>=2.0.0,<2.4",\n', ""))
    run = repo.fails(3, "lock", DIR)
    assert "numpy" in run.err


def test_unsafe_best_match_takes_the_second_index(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("two-index")
    repo.ok("lock", "--upgrade", DIR)
    lock = repo.read(NAME, "requirements.txt")
    assert lock_pins(lock)["urllib3"] == "2.6.1"  # only the GA index has it
    assert lock.splitlines()[:2] == [f"--index-url={MAIN}", f"--extra-index-url={GA}"]


def test_user_configuration_stays_out(uv_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """A user-level uv.toml that would override numpy changes nothing in bumper's lock."""
    repo = uv_repo("constraints")
    xdg = tmp_path / "xdg"
    (xdg / "uv").mkdir(parents=True)
    (xdg / "uv" / "uv.toml").write_text('override-dependencies = ["urllib3==2.6.0"]\n'
                                        'prerelease = "allow"\n', encoding="utf-8")
    repo.extra_env["XDG_CONFIG_HOME"] = str(xdg)
    repo.ok("lock", "--upgrade", DIR)
    assert lock_pins(repo.read(NAME, "requirements.txt"))["urllib3"] == "2.5.0"


# --- the lock's form --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["constraints", "override"])
def test_a_refresh_with_nothing_new_changes_no_byte(kind: str,
                                                    uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo(kind)
    before = repo.read(NAME, "requirements.txt")
    hashed = "--hash=" in before
    assert hashed == (kind == "override")
    repo.ok("lock", DIR)
    repo.ok("lock", "--upgrade", DIR)
    assert repo.read(NAME, "requirements.txt") == before
    assert repo.git("status", "--porcelain") == ""


def test_the_hashes_key_forces_a_form(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    (repo.root / "pyproject.toml").write_text('[tool.bumper]\nhashes = "always"\n',
                                              encoding="utf-8")
    repo.ok("lock", DIR)
    lock = repo.read(NAME, "requirements.txt")
    assert lock.startswith(f"--index-url={MAIN}\n")
    assert "--hash=sha256:" in lock


def pip_accepts(repo: Repo, server: IndexServer, tmp_path: Path) -> None:
    """Real pip, against the local index, reads the lock and finds every pin."""
    text = repo.read(NAME, "requirements.txt").replace(PUBLIC_HOST, local_prefix(server))
    copy = tmp_path / "lock-for-pip.txt"
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
                           "--ignore-installed", "--no-cache-dir", "--only-binary=:all:",
                           "--python-version", "3.12", "--target", str(tmp_path / "t"),
                           "-r", str(copy)],
                          env={**repo.env, "PIP_CONFIG_FILE": "/dev/null"},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Would install" in done.stdout


def test_a_cve_fix_updates_the_constraint_in_place(uv_repo: Callable[[str], Repo],
                                                   shared_index: IndexServer,
                                                   tmp_path: Path) -> None:
    repo = uv_repo("constraints")
    before = repo.read(NAME, "pyproject.toml")
    run = repo.ok("minor", DIR, "--set", "starlette>=1.3.1", "--yes")
    after = repo.read(NAME, "pyproject.toml")
    assert after == before.replace('"starlette>=1.2.0,<1.3",  # CVE-2025-0001',
                                   '"starlette>=1.3.1",  # CVE-2025-0001')
    lock = repo.read(NAME, "requirements.txt")
    assert lock_pins(lock)["starlette"] == "1.4.0"  # the operator as given
    assert "--hash=" not in lock and lock.startswith(f"--index-url={MAIN}\n")
    assert "constraint-dependencies" in run.out + run.err + repo.git("log", "-1", "--format=%B")
    pip_accepts(repo, shared_index, tmp_path)


def test_a_hashed_transitive_fix_gives_a_fully_hashed_lock(uv_repo: Callable[[str], Repo],
                                                          shared_index: IndexServer,
                                                          tmp_path: Path) -> None:
    repo = uv_repo("override")
    repo.ok("minor", DIR, "--set", "urllib3~=2.5.0", "--yes")
    lock = repo.read(NAME, "requirements.txt")
    assert lock_pins(lock)["urllib3"] == "2.5.0"
    blocks = lock.split("\n")
    pins = [n for n, line in enumerate(blocks) if "==" in line and not line.startswith(" ")]
    assert all(blocks[n].endswith(" \\") and "--hash=" in blocks[n + 1] for n in pins)
    assert lock.startswith(f"--index-url={MAIN}\n")
    repo.ok("index", "missing", DIR)
    pip_accepts(repo, shared_index, tmp_path)


def test_an_unhashed_lock_gets_an_unhashed_repin(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("two-index")
    repo.ok("minor", DIR, "--set", "anyio>=4.0", "--yes")
    lock = repo.read(NAME, "requirements.txt")
    assert "--hash=" not in lock
    assert lock.splitlines()[:2] == [f"--index-url={MAIN}", f"--extra-index-url={GA}"]


def test_cve_fixes_constraints_starts_the_list(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("override")
    (repo.root / "pyproject.toml").write_text('[tool.bumper]\ncve-fixes = "constraints"\n',
                                              encoding="utf-8")
    repo.commit_all("settings")
    before = repo.read(NAME, "pyproject.toml")
    run = repo.ok("minor", DIR, "--set", "urllib3~=2.5.0", "--yes")
    after = repo.read(NAME, "pyproject.toml")
    assert after == before.replace(
        'override-dependencies = [\n    "numpy>=2.0.0,<2.4",\n]\n',
        'override-dependencies = [\n    "numpy>=2.0.0,<2.4",\n]\n'
        'constraint-dependencies = [\n    "urllib3~=2.5.0",\n]\n')
    assert lock_pins(repo.read(NAME, "requirements.txt"))["urllib3"] == "2.5.0"
    assert 'cve-fixes = "constraints"' in run.out + run.err + repo.git("log", "-1", "--format=%B")
