"""pre-commit: the real `pre-commit` tool runs bumper's published hooks.

- this repository's own `.pre-commit-config.yaml` (`repo: local`, the bumper of this
  virtual environment) passes with `pre-commit run --all-files`;
- an image repository consuming the hooks of `.pre-commit-hooks.yaml` from this checkout
  (`language: python`: pre-commit pip-installs bumper and its dependencies into an env of
  its own, built once per session in PRE_COMMIT_HOME) passes on the bundled examples and
  fails, naming the finding, once an image folder is broken; as a git hook it rejects the
  commit and looks only at the folders the commit touches.

"This checkout" is its working tree committed into a scratch repository, so the tests see
uncommitted edits of the hooks, the config or the images too (a plain clone would test HEAD).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localindex.server import IndexServer
from tests.bumprepo import CPU, CUDA, IMAGES
from tests.helpers import git, worktree_repo

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
TORCH_PIN = ('"torch==2.9.1"', '"torch==2.10.0"')


@pytest.fixture(scope="session")
def precommit_env(tmp_path_factory: pytest.TempPathFactory,
                  bump_env: dict[str, str]) -> dict[str, str]:
    """bump_env (no user git config, UV_PYTHON_DOWNLOADS=never, a session uv cache) with this
    venv first on PATH (`bumper`, `python`), the machine's pip settings (pre-commit's pip
    installs the hook env from the package index) and one PRE_COMMIT_HOME per session."""
    env = dict(bump_env)
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
               PRE_COMMIT_COLOR="never")
    return env


def pre_commit(root: Path, env: dict[str, str], *args: str,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PRE_COMMIT, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def show(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"


def hook_lines(output: str) -> dict[str, str]:
    """hook name -> Passed / Failed / Skipped, from pre-commit's summary lines."""
    out = {}
    for line in output.splitlines():
        for status in ("Passed", "Failed", "(no files to check)Skipped", "Skipped"):
            if line.endswith(status):
                out[line[:-len(status)].rstrip(".")] = status.removeprefix("(no files to check)")
                break
    return out


CHECK = "bumper check (image folder drift)"
LOCK_CHECK = "bumper lock --check (locks up to date)"


# --- this repository ----------------------------------------------------------------------------


def test_config_and_manifest_are_valid(precommit_env: dict[str, str]) -> None:
    for args in (["validate-config", ".pre-commit-config.yaml"],
                 ["validate-manifest", ".pre-commit-hooks.yaml"]):
        done = pre_commit(REPO, precommit_env, *args, timeout=60)
        assert done.returncode == 0, show(done)


def test_run_all_files_passes_on_this_repository(tmp_path: Path,
                                                 precommit_env: dict[str, str]) -> None:
    root = tmp_path / "bumper"
    worktree_repo(root, precommit_env)
    done = pre_commit(root, precommit_env, "run", "--all-files")
    assert done.returncode == 0, show(done)
    assert hook_lines(done.stdout) == {CHECK: "Passed", LOCK_CHECK: "Passed"}, show(done)
    assert git(root, precommit_env, "status", "--porcelain") == ""


# --- an image repository consuming the published hooks ------------------------------------------


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory,
              precommit_env: dict[str, str]) -> tuple[Path, str]:
    """This checkout as the hooks' repository: (path, revision)."""
    root = tmp_path_factory.mktemp("hooks") / "bumper"
    return root, worktree_repo(root, precommit_env)


@pytest.fixture(scope="session")
def consumer_base(tmp_path_factory: pytest.TempPathFactory, precommit_env: dict[str, str],
                  hook_repo: tuple[Path, str], shared_index: IndexServer) -> Path:
    """An image repository (the bundled examples, committed) whose .pre-commit-config.yaml
    takes both hooks from this checkout; its hook env is installed here, once."""
    root = tmp_path_factory.mktemp("consumer") / "images-repo"
    shutil.copytree(REPO / IMAGES, root / IMAGES,
                    ignore=shutil.ignore_patterns("__pycache__", "*.rej", "*.orig"))
    path, rev = hook_repo
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n"
        "      - id: bumper-check\n      - id: bumper-lock-check\n", encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "images"]):
        subprocess.run(["git", *args], cwd=root, env=precommit_env, check=True)
    # pip installs bumper and its dependencies (copier, uv, ...): ~20 s here, once a session.
    done = pre_commit(root, consumer_env(precommit_env, shared_index), "install-hooks")
    assert done.returncode == 0, show(done)
    # The hooks run the bumper installed in pre-commit's env, not this venv's.
    home = Path(precommit_env["PRE_COMMIT_HOME"])
    assert list(home.glob("repo*/py_env-*/bin/bumper")), sorted(home.rglob("bin/bumper"))
    return root


def consumer_env(precommit_env: dict[str, str], index: IndexServer) -> dict[str, str]:
    """The example images name a fictional index: map it to the local one."""
    return {**precommit_env, "BUMPER_INDEX_MAP": index.prefix_map}


@pytest.fixture
def consumer(consumer_base: Path, tmp_path: Path) -> Path:
    root = tmp_path / "images-repo"
    shutil.copytree(consumer_base, root, symlinks=True)
    return root


def break_torch_pin(root: Path, folder: str) -> None:
    """torch moves in pyproject.toml, but the folder keeps its name and lock: a major bump
    done by hand, half-way."""
    path = root / IMAGES / folder / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(TORCH_PIN[0]) == 1
    path.write_text(text.replace(*TORCH_PIN), encoding="utf-8")


def test_consumer_passes_on_the_examples(consumer: Path, precommit_env: dict[str, str],
                                         shared_index: IndexServer) -> None:
    done = pre_commit(consumer, consumer_env(precommit_env, shared_index), "run", "--all-files")
    assert done.returncode == 0, show(done)
    assert hook_lines(done.stdout) == {CHECK: "Passed", LOCK_CHECK: "Passed"}, show(done)


def test_consumer_fails_on_a_broken_folder(consumer: Path, precommit_env: dict[str, str],
                                           shared_index: IndexServer) -> None:
    break_torch_pin(consumer, CPU)
    done = pre_commit(consumer, consumer_env(precommit_env, shared_index), "run", "--all-files")
    assert done.returncode == 1, show(done)
    assert hook_lines(done.stdout) == {CHECK: "Failed", LOCK_CHECK: "Failed"}, show(done)
    prefix = f"{IMAGES}/{CPU}"
    assert (f"{prefix}/pyproject.toml:19: N001 warning: folder name says PyTorch 291, the files "
            "say 2.10.0"
            in done.stdout), show(done)
    assert f"{prefix}/requirements.txt: out of date (run: bumper lock {prefix})" in done.stdout
    assert "\n-torch==2.9.1 \\\n" in done.stdout, show(done)
    assert "\n+torch==2.10.0 \\\n" in done.stdout, show(done)
    # Only the broken folder is reported.
    assert CUDA not in done.stdout, show(done)
    assert "Traceback" not in done.stdout + done.stderr


def test_git_hook_rejects_a_commit_of_a_broken_folder(consumer: Path,
                                                      precommit_env: dict[str, str],
                                                      shared_index: IndexServer) -> None:
    env = consumer_env(precommit_env, shared_index)
    done = pre_commit(consumer, env, "install", timeout=60)
    assert done.returncode == 0, show(done)
    head = git(consumer, env, "rev-parse", "HEAD")

    # A commit outside the image folders: both hooks skip, the commit goes in. A file under
    # images/ that is not in an image folder reaches bumper, which maps it to no folder.
    (consumer / "NOTES.md").write_text("notes\n", encoding="utf-8")
    git(consumer, env, "add", "NOTES.md")
    done = subprocess.run(["git", "commit", "-m", "notes"], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, show(done)
    assert hook_lines(done.stdout + done.stderr) == {CHECK: "Skipped", LOCK_CHECK: "Skipped"}
    (consumer / "images" / "README.md").write_text("images\n", encoding="utf-8")
    git(consumer, env, "add", "images/README.md")
    done = subprocess.run(["git", "commit", "-m", "images readme"], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, show(done)
    assert hook_lines(done.stdout + done.stderr) == {CHECK: "Passed", LOCK_CHECK: "Passed"}
    good = git(consumer, env, "rev-parse", "HEAD")
    assert good != head

    # The broken cpu folder, with an untouched edit of another folder left unstaged: the
    # hooks see the staged files only, and the commit is refused.
    break_torch_pin(consumer, CPU)
    break_torch_pin(consumer, CUDA)
    git(consumer, env, "add", f"{IMAGES}/{CPU}")
    done = subprocess.run(["git", "commit", "-m", "torch 2.10.0"], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, show(done)
    assert hook_lines(output) == {CHECK: "Failed", LOCK_CHECK: "Failed"}, show(done)
    assert f"{IMAGES}/{CPU}/pyproject.toml:19: N001 warning: folder name says PyTorch 291" in output
    assert CUDA not in output, show(done)
    assert git(consumer, env, "rev-parse", "HEAD") == good
    # pre-commit put the unstaged edit back.
    assert TORCH_PIN[1] in (consumer / IMAGES / CUDA / "pyproject.toml").read_text("utf-8")
