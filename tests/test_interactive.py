"""`bumper` alone, driven through a real pseudo-terminal with pexpect (no mocked prompts).

Each test clones this repository, spawns the installed ``bumper`` script on a
pty, waits for every prompt before typing, and then asserts on the output,
the exit status, the commits and the files.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from bumper.interactive import CHANGES
from localindex.server import IndexServer
from tests.helpers import CUDA, FOLDERS, IMAGES

BUMPER = Path(sys.executable).with_name("bumper")
TIMEOUT = 120  # generous: a loaded CI machine, uv locking three folders

DOWN = "\x1b[B"
SPACE = " "
ENTER = "\r"
CLEAR = "\x15"  # Ctrl-U: clears the default in a text prompt
CTRL_C = "\x03"
CPR = "\x1b[6n"  # "where is the cursor?"
CHANGE = {key: n for n, (key, _) in enumerate(CHANGES)}
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

NEW_TORCH = {name: name.replace("torch291", "torch210") for name in FOLDERS}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


def tree(repo: Path) -> dict[str, bytes]:
    """Every file of the working tree but .git, with its bytes."""
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


class Session:
    """One run of ``bumper`` on a pty; ``text`` is everything it printed, escapes removed."""

    def __init__(self, repo: Path, server: IndexServer, *, color: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update(BUMPER_INDEX_MAP=server.prefix_map, UV_PYTHON_DOWNLOADS="never",
                   TERM="xterm-256color", PYTHONUTF8="1")
        if not color:
            env["NO_COLOR"] = "1"
        self.log = io.StringIO()
        self.child = pexpect.spawn(str(BUMPER), cwd=str(repo), env=env, encoding="utf-8",
                                   timeout=TIMEOUT, dimensions=(50, 200))
        self.child.logfile_read = self.log

    def expect(self, text: str | type[pexpect.EOF]) -> None:
        """Wait for ``text``, answering the terminal's cursor position requests meanwhile
        (prompt_toolkit needs the answer to know the screen height, which the validation
        toolbar of a checkbox depends on).
        """
        while self.child.expect_exact([text, CPR]) == 1:
            self.child.send("\x1b[1;1R")

    def answer(self, prompt: str, keys: str) -> None:
        self.expect(prompt)
        self.child.send(keys)

    def checkbox(self, prompt: str, toggles: list[int]) -> None:
        """Move down the list and toggle the items at these positions, then accept."""
        keys, at = "", 0
        for n in sorted(toggles):
            keys += DOWN * (n - at) + SPACE
            at = n
        self.answer(prompt, keys + ENTER)

    def changes(self, *keys: str) -> None:
        self.checkbox("What changes?", [CHANGE[k] for k in keys])

    def finish(self) -> int:
        self.expect(pexpect.EOF)
        self.child.close()
        status = self.child.exitstatus
        assert status is not None, f"killed by signal {self.child.signalstatus}"
        return int(status)

    @property
    def raw(self) -> str:
        return self.log.getvalue()

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r\n", "\n")


@pytest.fixture
def repo(git_repo: Path) -> Path:
    return git_repo


def test_major_torch_on_every_flavor(repo: Path, index_server: IndexServer) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    s = Session(repo, index_server)
    s.answer("Which folders?", ENTER)  # the newest of each flavor is preselected: all three
    s.changes("torch")
    s.answer("New PyTorch version:", CLEAR + "2.10.0" + ENTER)
    s.answer("Show the full diff?", "n")
    for old, new in NEW_TORCH.items():
        assert (f"major bump: PyTorch 2.9.1 -> 2.10.0 changes the folder name, {old} -> {new}\n"
                in s.text)
    s.answer("Apply this plan?", "y")
    s.answer("Commit message:", CLEAR + "major: PyTorch 2.10.0 on every flavor" + ENTER)
    assert s.finish() == 0, s.text
    assert "major: PyTorch 2.9.1 -> 2.10.0 (3 folders)" in s.text  # the plan summary
    assert "leftovers: none" in s.text
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert f"committed {sha[:12]}: major: PyTorch 2.10.0 on every flavor" in s.text
    assert git(repo, "log", "-1", "--format=%s").strip() == "major: PyTorch 2.10.0 on every flavor"
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    committed = set(git(repo, "diff", "--name-only", head, "HEAD").split())
    for old, new in NEW_TORCH.items():
        folder = repo / IMAGES / new
        pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
        assert '"torch==2.10.0"' in pyproject
        assert "torch==2.10.0" in (folder / "requirements.txt").read_text(encoding="utf-8")
        assert f"{IMAGES}/{new}/Dockerfile" in committed
        assert (repo / IMAGES / old).is_dir()  # no --retire: the old folder stays
    # the new folders, and their companions: the cuda pipeline file and the README's rows
    companions = {f".tekton/odh-training-{NEW_TORCH[CUDA]}-pull-request.yaml",
                  f"{IMAGES}/README.md"}
    assert companions <= committed
    assert all(path.split("/")[3] in NEW_TORCH.values() for path in committed - companions)


def test_minor_base_image_on_one_folder(repo: Path, index_server: IndexServer) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    order = sorted(FOLDERS)  # the choices, as listed
    s = Session(repo, index_server)
    # all three preselected: untick every folder but the CUDA one
    s.checkbox("Which folders?", [n for n, name in enumerate(order) if name != CUDA])
    s.changes("base_image")
    s.answer("New base image", ":2025b-v1.40" + ENTER)
    s.expect(f"minor update: {IMAGES}/{CUDA} is edited in place (no version of CUDA, ROCm, "
             "PyTorch, Training Hub or Python changes)")
    s.answer("Show the full diff?", "y")
    s.answer("Apply this plan?", "y")
    s.answer("Commit message:", ENTER)  # the subject as offered
    assert s.finish() == 0, s.text
    assert "+ARG BASE_IMAGE=registry.example.com/opendatahub/" in s.text  # the diff was shown
    assert "major bump" not in s.text
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert subject == f"minor: {CUDA}: base image -> :2025b-v1.40"
    assert f"committed {git(repo, 'rev-parse', 'HEAD')[:12]}: {subject}" in s.text
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    changed = git(repo, "diff", "--name-only", head, "HEAD").split()
    assert changed == [f"{IMAGES}/{CUDA}/.copier-answers.yml", f"{IMAGES}/{CUDA}/Dockerfile"]
    lines = [line for line in git(repo, "diff", "-U0", head, "HEAD").splitlines()
             if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    base = "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-cuda-py312-ubi9"
    assert lines == [f"-base_image: {base}:2025b-v1.39", f"+base_image: {base}:2025b-v1.40",
                     f"-ARG BASE_IMAGE={base}:2025b-v1.39", f"+ARG BASE_IMAGE={base}:2025b-v1.40"]


@pytest.mark.parametrize(("key", "prompt", "bad", "reason", "good", "decision"), [
    ("torch", "New PyTorch version:", "2.1O.0",
     "2.1O.0: not a PyTorch version (expected a form like 2.10.0)", "2.10.0",
     f"major bump: PyTorch 2.9.1 -> 2.10.0 changes the folder name, {CUDA} -> "
     f"{NEW_TORCH[CUDA]}"),
    ("torch", "New PyTorch version:", "2.9.1",
     f"{CUDA} already has PyTorch 2.9.1: type the new version", "2.10.0",
     "major bump: PyTorch 2.9.1 -> 2.10.0"),
    ("cuda", "New CUDA version:", "13",
     "13: not a CUDA version (expected a form like 13.0)", "13.1",
     f"major bump: CUDA 13.0 -> 13.1 changes the folder name, {CUDA} -> "
     "th05-cuda131-torch291-py312"),
    ("base_image", "New base image", "Registry/Image Name:1",
     "Registry/Image Name:1: not an image reference", ":2025b-v1.40",
     f"minor update: {IMAGES}/{CUDA} is edited in place"),
    ("sets", "Requirements", "starlette=1.3.1",
     "starlette=1.3.1: not a PEP 508 requirement", "starlette~=1.3.1",
     f"minor update: {IMAGES}/{CUDA} is edited in place"),
])
def test_bad_value_refused_with_the_reason_then_a_good_one(
        repo: Path, index_server: IndexServer, key: str, prompt: str, bad: str, reason: str,
        good: str, decision: str) -> None:
    before, head = tree(repo), git(repo, "rev-parse", "HEAD")
    s = Session(repo, index_server)
    s.checkbox("Which folders?", [n for n, name in enumerate(sorted(FOLDERS)) if name != CUDA])
    s.changes(key)
    s.answer(prompt, CLEAR + bad + ENTER)
    s.expect(reason)  # shown at the prompt, which stays open
    s.child.send(CLEAR + good + ENTER)
    s.expect(decision)
    s.answer("Show the full diff?", "n")
    s.answer("Apply this plan?", "n")
    s.expect("nothing written")
    assert s.finish() == 0, s.text
    assert "bumper: error" not in s.text
    assert tree(repo) == before
    assert git(repo, "rev-parse", "HEAD") == head


def test_both_accelerators_refused_at_the_change_prompt(repo: Path,
                                                        index_server: IndexServer) -> None:
    s = Session(repo, index_server)
    s.answer("Which folders?", ENTER)
    s.changes("cuda", "rocm")
    s.expect("CUDA and ROCm change different folders: pick one")
    s.child.send(SPACE + ENTER)  # the cursor is on ROCm: untick it
    s.answer("New CUDA version:", CTRL_C)
    assert s.finish() == 130


@pytest.mark.parametrize("stop_at", ["Which folders?", "What changes?", "New PyTorch version:",
                                     "Show the full diff?", "Apply this plan?",
                                     "Commit message:"])
def test_ctrl_c_writes_nothing(repo: Path, index_server: IndexServer, stop_at: str) -> None:
    before = tree(repo)
    head = git(repo, "rev-parse", "HEAD")
    script = [("Which folders?", ENTER), ("What changes?", DOWN * CHANGE["torch"] + SPACE + ENTER),
              ("New PyTorch version:", CLEAR + "2.10.0" + ENTER), ("Show the full diff?", "y"),
              ("Apply this plan?", "y"), ("Commit message:", ENTER)]
    s = Session(repo, index_server)
    for prompt, keys in script:
        if prompt == stop_at:
            s.answer(prompt, CTRL_C)
            break
        s.answer(prompt, keys)
    assert s.finish() == 130, s.text
    assert "bumper: interrupted" in s.text
    assert "Traceback" not in s.text
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    assert git(repo, "rev-parse", "HEAD") == head
    assert tree(repo) == before


def test_no_terminal_prints_usage_and_exits_2(repo: Path) -> None:
    result = subprocess.run([str(BUMPER)], cwd=repo, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stdout.startswith("Usage: bumper")
    for command in ("major", "minor", "check", "downstream"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert git(repo, "status", "--porcelain", "--ignored") == ""
