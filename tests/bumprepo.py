"""Fixtures and helpers for the bump tests: a real git repo holding copies of the bundled
examples, the real CLI in a subprocess, the local index and real uv.

Registered as a pytest plugin in tests/conftest.py. One base repository is made per
session; every test gets its own copy (``shutil.copytree``, .git included), so tests never
see each other's commits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localindex.server import IndexServer

ROOT = Path(__file__).resolve().parent.parent
IMAGES = "images/universal/training"
CUDA = "th05-cuda130-torch291-py312"
ROCM = "th05-rocm64-torch291-py312"
CPU = "th05-cpu-torch291-py312"
PUBLIC = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4-EA1/{}/simple/"
IDENTITY = {"GIT_AUTHOR_NAME": "Bump Tester", "GIT_AUTHOR_EMAIL": "bump@example.invalid",
            "GIT_COMMITTER_NAME": "Bump Tester", "GIT_COMMITTER_EMAIL": "bump@example.invalid"}


def public_index(segment: str) -> str:
    """The public URL of an index the examples use (``cuda13.0-ubi9`` ...)."""
    return PUBLIC.format(segment)


def clean_env(git_config: Path, uv_cache: Path) -> dict[str, str]:
    """The environment of every subprocess: no user git config, uv never downloads Python."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BUMPER_", "UV_", "GIT_", "PIP_", "VIRTUAL_ENV"))}
    env.update(IDENTITY)
    env.update(GIT_CONFIG_GLOBAL=str(git_config), GIT_CONFIG_NOSYSTEM="1",
               UV_CACHE_DIR=str(uv_cache), UV_PYTHON_DOWNLOADS="never", NO_COLOR="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


@dataclass
class Run:
    """A finished bumper run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return (f"bumper {' '.join(self.args)} -> {self.code}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.out)
        return data


@dataclass
class Repo:
    """A git repository with the examples, and the ways to run bumper and git in it."""

    root: Path
    env: dict[str, str]
    index: IndexServer | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    # --- running --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(self.env)
        if self.index is not None:
            env["BUMPER_INDEX_MAP"] = self.index.prefix_map
        env.update(self.extra_env)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bumper", *args]

    def bumper(self, *args: str, timeout: float = 120) -> Run:
        done = subprocess.run(self.command(*args), cwd=self.root, env=self._env(),
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Run(args, done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> Run:
        run = self.bumper(*args)
        assert run.code == 0, str(run)
        assert "Traceback" not in run.err, str(run)
        return run

    def fails(self, code: int, *args: str) -> Run:
        """Run, expect exit ``code`` and one clear error line (no traceback)."""
        run = self.bumper(*args)
        assert run.code == code, str(run)
        assert "Traceback" not in run.err + run.out, str(run)
        errors = [line for line in run.err.splitlines() if line.startswith("bumper: ")]
        assert len(errors) == 1, str(run)
        return run

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start bumper in the background (for the interrupt tests)."""
        return subprocess.Popen(self.command(*args), cwd=self.root, env=self._env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, env=self._env(),
                              capture_output=True, text=True, check=True)
        return done.stdout

    # --- looking ----------------------------------------------------------------------------

    def folder(self, name: str) -> Path:
        return self.root / IMAGES / name

    def read(self, name: str, file: str) -> str:
        return (self.folder(name) / file).read_text(encoding="utf-8")

    def write(self, name: str, file: str, text: str) -> None:
        (self.folder(name) / file).write_text(text, encoding="utf-8")

    def folders(self) -> list[str]:
        """Every entry of the images root (staging folders included)."""
        return sorted(p.name for p in (self.root / IMAGES).iterdir())

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def status(self) -> str:
        return self.git("status", "--porcelain", "--untracked-files=all")

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def changed_in(self, commit: str = "HEAD") -> list[str]:
        """Paths the commit touches."""
        out = self.git("show", "--name-only", "--format=", "--no-renames", commit)
        return sorted(line for line in out.splitlines() if line)

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").strip())

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the working tree (.git aside), byte for byte, with its mode."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if rel.parts[0] == ".git":
                continue
            if path.is_file() or path.is_symlink():
                out[rel.as_posix()] = path.read_bytes() + f"\0mode={path.stat().st_mode:o}".encode()
            else:
                out[rel.as_posix() + "/"] = b""
        return out

    def assert_untouched(self, before: dict[str, bytes], head: str) -> None:
        """The working tree, the index and HEAD are exactly as before."""
        assert self.status() == ""
        assert self.head() == head
        now = self.snapshot()
        assert sorted(now) == sorted(before)
        assert now == before
        assert not [name for name in self.folders() if name.startswith(".bumper-staging-")]


def lock_pins(text: str) -> dict[str, str]:
    """name -> version of a lock's pins."""
    pins = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and "==" in line and not line.startswith(("#", "-")):
            name, _, rest = line.partition("==")
            pins[name.strip().lower()] = rest.split()[0].rstrip("\\").strip()
    return pins


def lock_hashes(text: str, name: str) -> list[str]:
    """The --hash values of one pin of a lock."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lower().startswith(f"{name.lower()}=="):
            out = []
            for follow in lines[i + 1:]:
                stripped = follow.strip()
                if not stripped.startswith("--hash="):
                    break
                out.append(stripped.removeprefix("--hash=").rstrip("\\ ").strip())
            return out
    raise KeyError(name)


def process_children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process whose parent chain reaches ``pid``."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents[int(entry.name)] = ppid
        cmdlines[int(entry.name)] = cmd
    out = []
    for child, cmd in cmdlines.items():
        seen, up = set(), parents.get(child)
        while up is not None and up not in seen and up > 1:
            if up == pid:
                out.append((child, cmd))
                break
            seen.add(up)
            up = parents.get(up)
    return out


def wait_for(predicate: object, timeout: float = 30, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something true."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def uv_compile_of(proc: subprocess.Popen[str]) -> list[int]:
    """PIDs of the `uv pip compile` processes bumper started."""
    return [pid for pid, cmd in process_children(proc.pid) if " pip compile " in f" {cmd} "]


def interrupt(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    proc.send_signal(sig)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bump_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("bump-env")
    git_config = home / "gitconfig"
    git_config.write_text("[user]\n\tname = Bump Tester\n\temail = bump@example.invalid\n"
                          "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n",
                          encoding="utf-8")
    return clean_env(git_config, home / "uv-cache")


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory, bump_env: dict[str, str]) -> Path:
    """The examples in a fresh git repository with one commit (made once per session)."""
    root = tmp_path_factory.mktemp("base") / "repo"
    shutil.copytree(ROOT / IMAGES, root / IMAGES,
                    ignore=shutil.ignore_patterns("__pycache__", "*.rej", "*.orig"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "-m", "bundled example images"]):
        subprocess.run(["git", *args], cwd=root, env=bump_env, check=True)
    return root


@pytest.fixture(scope="session")
def shared_index(built_wheels: Path) -> Iterator[IndexServer]:
    """One index for the tests that flip no switch (uv's cache then serves repeat pages)."""
    with IndexServer(built_wheels) as server:
        yield server


def _copy(base: Path, dst: Path, env: dict[str, str], index: IndexServer | None) -> Repo:
    shutil.copytree(base, dst, symlinks=True)
    return Repo(dst, env, index)


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path, bump_env: dict[str, str],
         shared_index: IndexServer) -> Repo:
    """A private copy of the base repository, pointed at the shared local index."""
    return _copy(base_repo, tmp_path / "repo", bump_env, shared_index)


@pytest.fixture
def faulty_repo(base_repo: Path, tmp_path: Path, bump_env: dict[str, str],
                index_server: IndexServer) -> Repo:
    """A private copy pointed at a fresh index whose switches the test may flip."""
    return _copy(base_repo, tmp_path / "repo", bump_env, index_server)
