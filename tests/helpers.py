"""Shared test helpers: copies of the bundled image folders, edits, and runs of bumper."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from bumper import check as checks
from bumper import config, discover

REPO = Path(__file__).resolve().parent.parent
IMAGES = "images/universal/training"
CUDA = "th05-cuda130-torch291-py312"
ROCM = "th05-rocm64-torch291-py312"
CPU = "th05-cpu-torch291-py312"
FOLDERS = (CPU, CUDA, ROCM)


def copy_examples(root: Path) -> Path:
    """The bundled image folders copied to ``root/images/universal/training``; returns root."""
    shutil.copytree(REPO / IMAGES, root / IMAGES,
                    ignore=shutil.ignore_patterns("__pycache__", "*.rej", "*.orig"))
    return root


def path(root: Path, rel: str) -> Path:
    """``rel`` is ``<folder>/<file>`` under the images root."""
    return root / IMAGES / rel


def replace(root: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must be there, ``count`` times or more) by ``new``."""
    file = path(root, rel)
    text = file.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not found {count} time(s) in {rel}"
    file.write_text(text.replace(old, new, count), encoding="utf-8")


def sub(root: Path, rel: str, pattern: str, repl: str) -> None:
    """Regex replacement (multiline) of the first match, which must exist."""
    file = path(root, rel)
    text, n = re.subn(pattern, repl, file.read_text(encoding="utf-8"), count=1, flags=re.M)
    assert n == 1, f"{pattern!r} not found in {rel}"
    file.write_text(text, encoding="utf-8")


def line_of(root: Path, rel: str, needle: str) -> int:
    """1-based line of the first line that contains ``needle`` (which must exist)."""
    for number, raw in enumerate(path(root, rel).read_text(encoding="utf-8").splitlines(), 1):
        if needle in raw:
            return number
    raise AssertionError(f"{needle!r} not in {rel}")


def at(root: Path, rel: str, needle: str) -> str:
    """``images/universal/training/<rel>:<line>`` of ``needle``: the head of a finding."""
    return f"{IMAGES}/{rel}:{line_of(root, rel, needle)}"


def check(root: Path, *dirs: str) -> list[str]:
    """Findings of `bumper check` (in process), as printed."""
    cfg = config.load(root)
    _, found = checks.run(cfg, discover.resolve(cfg, list(dirs)))
    return [str(f) for f in found]


def bumper_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bumper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bumper"]


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process, as a user runs it."""
    return subprocess.run([*bumper_cmd(), "--repo", str(root), *args], capture_output=True,
                          text=True, cwd=root, check=False, timeout=60)


def worktree_repo(dst: Path, env: dict[str, str]) -> str:
    """The working tree of this repository (tracked and untracked, not ignored) committed
    into a fresh repository at ``dst``; returns its HEAD."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in sorted({p for p in listed.decode().split("\0") if p}):
        src = REPO / rel
        if src.is_file():  # a tracked file deleted in the working tree is left out
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=dst, env=env, check=True)
    return git(dst, env, "rev-parse", "HEAD").strip()


def git(root: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True,
                          check=True).stdout
