"""Install paths: `uv tool install .` gives a working `bumper`, and the wheel and sdist hold
what was decided (see the comment above [tool.setuptools.packages.find] in pyproject.toml).

- The wheel holds the `bumper` package alone. The Copier template is not shipped: it
  belongs to the images repository (copier.yml and template/ at its root; Copier records
  `_src_path: .`), so an installed bumper runs `bumper new` in any repository that has them
  and says so in one line where they are missing.
- The sdist holds what builds the wheel (the package, pyproject.toml, README.md). The tests
  stay out (MANIFEST.in): they run from a git checkout only (they clone it and need
  localindex/, the examples and the template), so shipping them would ship dead code.

The install resolves bumper's dependencies from the package index through uv's own cache
(the user's, so a repeat takes seconds); nothing here is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from localindex.server import IndexServer
from tests.bumprepo import CPU, IMAGES
from tests.helpers import git, worktree_repo

REPO = Path(__file__).resolve().parent.parent
UV = [sys.executable, "-m", "uv"]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
NEW = ["new", "--flavor", "cpu", "--training-hub", "0.5.0", "--dry-run"]


def show(done: subprocess.CompletedProcess[str]) -> str:
    return (f"{' '.join(map(str, done.args))} -> exit {done.returncode}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}")


def uv_env(**extra: str) -> dict[str, str]:
    """The user's environment (their index settings and uv cache) minus any active venv;
    uv never downloads a Python."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(UV_PYTHON_DOWNLOADS="never", NO_COLOR="1", **extra)
    return env


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory, bump_env: dict[str, str]) -> Path:
    """This checkout's working tree, where installs and builds may leave build files."""
    root = tmp_path_factory.mktemp("source") / "bumper"
    worktree_repo(root, bump_env)
    return root


@pytest.fixture(scope="session")
def tool(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Path:
    """`uv tool install .` into private tool dirs; returns the installed `bumper`."""
    base = tmp_path_factory.mktemp("uv-tool")
    env = uv_env(UV_TOOL_DIR=str(base / "tools"), UV_TOOL_BIN_DIR=str(base / "bin"))
    done = subprocess.run([*UV, "tool", "install", ".", "--python", sys.executable], cwd=source,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, show(done)
    exe = base / "bin" / "bumper"
    assert exe.is_file(), show(done)
    return exe


@pytest.fixture(scope="session")
def tool_env(bump_env: dict[str, str]) -> dict[str, str]:
    """No user git config; PATH without this venv, so nothing of it can stand in."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and Path(p).resolve() != Path(venv_bin).resolve())
    return {**bump_env, "PATH": path}


def run(exe: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture
def checkout(tmp_path: Path, bump_env: dict[str, str]) -> Path:
    root = tmp_path / "checkout"
    worktree_repo(root, bump_env)
    return root


# --- the installed tool ---------------------------------------------------------------------


def test_installed_tool_runs_from_its_own_environment(tool: Path, tool_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    done = run(tool, tmp_path, tool_env, "--version")
    assert done.returncode == 0, show(done)
    assert done.stdout == f"bumper, version {VERSION}\n"

    # The command runs in the tool's own venv, which has bumper and uv.
    tools_dir = tool.parent.parent / "tools"
    assert str(tools_dir / "bumper") in tool.read_text(encoding="utf-8").splitlines()[0]
    probe = subprocess.run([str(tools_dir / "bumper" / "bin" / "python"), "-c",
                            "import bumper, uv; print(bumper.__file__); print(uv.find_uv_bin())"],
                           cwd=tmp_path, env=tool_env, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert len(probe) == 2, probe
    assert all(Path(p).is_relative_to(tools_dir) for p in probe), probe


def test_installed_tool_checks_the_examples(tool: Path, tool_env: dict[str, str],
                                            checkout: Path, shared_index: IndexServer) -> None:
    done = run(tool, checkout, tool_env, "check")
    assert done.returncode == 0, show(done)
    assert done.stderr == "3 folders checked: no findings\n", show(done)

    # Its own uv (a dependency) locks against the index.
    env = {**tool_env, "BUMPER_INDEX_MAP": shared_index.prefix_map}
    done = run(tool, checkout, env, "lock", "--check")
    assert done.returncode == 0, show(done)
    assert git(checkout, tool_env, "status", "--porcelain") == ""


def test_installed_tool_renders_the_repositorys_template(tool: Path, tool_env: dict[str, str],
                                                         checkout: Path, tmp_path: Path,
                                                         base_repo: Path) -> None:
    done = run(tool, checkout, tool_env, *NEW, "--torch", "2.10.0")
    assert done.returncode == 0, show(done)
    new = f"{IMAGES}/th05-cpu-torch210-py312"
    assert done.stdout.startswith(f"new folder {new} (rendered by the template)\n"), show(done)
    assert f"+++ b/{new}/Dockerfile\n" in done.stdout
    assert "+# TH05 CPU / PyTorch 2.10.0 / Python 3.12 universal training image\n" in done.stdout
    assert git(checkout, tool_env, "status", "--porcelain") == ""

    # The folder of these versions exists already: one line, exit 2.
    done = run(tool, checkout, tool_env, *NEW, "--torch", "2.9.1")
    assert done.returncode == 2, show(done)
    assert done.stderr == (f"bumper: error: {IMAGES}/{CPU}: already exists "
                           "(use bumper major or minor on it)\n"), show(done)

    # A repository without the template: bumper says what `new` needs.
    images_only = tmp_path / "images-only"
    shutil.copytree(base_repo, images_only, symlinks=True)
    done = run(tool, images_only, tool_env, *NEW, "--torch", "2.10.0")
    assert done.returncode == 2, show(done)
    assert "no copier.yml" in done.stderr, show(done)
    assert "copier.yml and template/" in done.stderr, show(done)
    assert "Traceback" not in done.stderr


# --- what ships -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Path:
    """`uv build`: the sdist, then the wheel built from the sdist (so the sdist suffices)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([*UV, "build", "-o", str(out), "--python", sys.executable],
                          cwd=source, env=uv_env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, show(done)
    return out


def package_sources() -> set[str]:
    """Every .py file of the bumper package in the working tree."""
    return {p.relative_to(REPO).as_posix() for p in (REPO / "bumper").rglob("*.py")}


def test_wheel_holds_the_bumper_package_only(dist: Path) -> None:
    [wheel] = dist.glob(f"bumper-{VERSION}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"bumper-{VERSION}.dist-info/entry_points.txt").decode()
        metadata = archive.read(f"bumper-{VERSION}.dist-info/METADATA").decode()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"bumper", f"bumper-{VERSION}.dist-info"}, sorted(tops)
    assert {name for name in names if name.startswith("bumper/")} == package_sources()
    assert "[console_scripts]\nbumper = bumper.entry:main\n" in entry_points
    assert "License-Expression: Apache-2.0\n" in metadata


def test_sdist_holds_what_builds_the_wheel(dist: Path) -> None:
    [sdist] = dist.glob(f"bumper-{VERSION}.tar.gz")
    prefix = f"bumper-{VERSION}/"
    with tarfile.open(sdist) as archive:
        names = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    # setuptools adds license files (LICEN[CS]E*, COPYING*, ...) by itself.
    tops = {name.split("/")[0] for name in names
            if not name.startswith(("LICEN", "COPYING", "NOTICE", "AUTHORS"))}
    assert tops == {"PKG-INFO", "README.md", "pyproject.toml", "MANIFEST.in", "setup.cfg",
                    "bumper", "bumper.egg-info"}, sorted(tops)
    assert {name for name in names if name.startswith("bumper/")} == package_sources()


def test_builds_with_the_oldest_setuptools_it_asks_for(source: Path, tmp_path: Path) -> None:
    """[build-system] requires names a setuptools that really builds this pyproject.toml."""
    [backend] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]
                 if Requirement(r).name == "setuptools"]
    [floor] = [s.version for s in backend.specifier if s.operator == ">="]
    major = int(floor.split(".")[0])
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"setuptools>={floor},<{major + 1}\n", encoding="utf-8")
    done = subprocess.run([*UV, "build", "--wheel", "-o", str(tmp_path / "out"), "--python",
                           sys.executable, "--build-constraint", str(constraints)],
                          cwd=source, env=uv_env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, show(done)
    assert list((tmp_path / "out").glob("*.whl")), show(done)
