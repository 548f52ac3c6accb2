"""The staging folder of a bump, and what a killed bump leaves.

A bump builds its result in ``.bumper-staging-*`` next to the images, then moves it into
place. The folder holds a ``.gitignore`` of ``*`` (git never shows it), the owner (pid, its
start time, HEAD before, the plan's paths) and a journal of every move, written before the
move. SIGKILL skips all cleanup: the next bump finds the folder, sees its owner is gone,
and undoes the half-done moves (or keeps them when the owner's commit was made).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bumper import git as plain_git
from bumper.fsutil import STAGING, make_writable

PREFIX = STAGING
OWNER = "owner.json"
JOURNAL = "moves.jsonl"

Move = tuple[Path, Path, Path | None]  # (from, to, the folder the move made for ``to``)


class Staging:
    """A private folder next to the images: staged results, and backups while swapping."""

    def __init__(self, repo: Path, images_root: Path, head: str | None, paths: list[str]) -> None:
        images_root.mkdir(parents=True, exist_ok=True)
        self.repo = repo
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=images_root))
        (self.root / ".gitignore").write_text("*\n", encoding="utf-8")
        owner = {"pid": os.getpid(), "start": _start_time(os.getpid()), "head": head,
                 "paths": paths}
        (self.root / OWNER).write_text(json.dumps(owner), encoding="utf-8")
        self.moves: list[Move] = []

    def folder(self, name: str) -> Path:
        return self.root / "new" / name

    def move(self, src: Path, dst: Path) -> None:
        made = next((p for p in reversed(dst.parents) if not p.exists()), None)
        entry = [os.path.relpath(p, self.repo) if p else None for p in (src, dst, made)]
        with (self.root / JOURNAL).open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")  # before the move: a kill may come next
        dst.parent.mkdir(parents=True, exist_ok=True)
        src.rename(dst)
        self.moves.append((src, dst, made))

    def rollback(self) -> None:
        undo(self.moves)
        self.moves.clear()

    def cleanup(self) -> None:
        remove_tree(self.root)


def undo(moves: list[Move]) -> None:
    """Undo ``moves`` in reverse; a move that never happened (its target is missing) is
    skipped, so a journal cut short by a kill undoes cleanly."""
    for src, dst, made in reversed(moves):
        if dst.exists() or dst.is_symlink():
            if src.is_dir() and not src.is_symlink():
                remove_tree(src)
            elif src.exists() or src.is_symlink():
                src.unlink()
            dst.rename(src)
        if made is not None:  # folders the move made, if nothing else came into them
            for folder in (dst.parent, *dst.parent.parents):
                try:
                    folder.rmdir()
                except OSError:
                    break
                if folder == made:
                    break


def remove_tree(root: Path) -> None:
    """Remove ``root`` even where a copied folder is read-only (mode 555)."""
    with contextlib.suppress(OSError):
        make_writable(root)
    shutil.rmtree(root, ignore_errors=True)


def fingerprint(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file (a symlink: of its target) under ``root``."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[path.relative_to(root).as_posix()] = "-> " + str(path.readlink())
        elif path.is_file():
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class Stale:
    """What a killed bump left, and what the next one did about it."""

    rel: str
    pid: int | None
    undone: int  # moves undone (0: it died before the swap, or after its commit)
    committed: bool

    def __str__(self) -> str:
        who = f"bumper (pid {self.pid})" if self.pid else "bumper"
        if self.committed:
            done = "its commit was made; the rest of its staging is removed"
        elif self.undone:
            done = f"its half-done swap is undone ({self.undone} move(s)) and its paths unstaged"
        else:
            done = "it had changed nothing"
        return f"{self.rel}: left by a {who} that was killed; {done}"


def recover_stale(repo: Path, images_root: Path) -> list[Stale]:
    """Clear the staging folders of bumps that died without cleaning up (SIGKILL)."""
    found = []
    for path in sorted(images_root.glob(f"{PREFIX}*")) if images_root.is_dir() else []:
        owner = _owner(path)
        if owner and _alive(owner):
            continue  # a bump still running (another repository's lock, --no-commit)
        found.append(_recover(repo, path, owner or {}))
    return found


def _recover(repo: Path, path: Path, owner: dict[str, object]) -> Stale:
    head = owner.get("head")
    committed = head is not None and plain_git.head(repo) not in (None, head)
    moves = [] if committed else _journal(repo, path)
    undo(moves)
    paths = owner.get("paths")
    if (committed or moves) and isinstance(paths, list):  # the index follows HEAD again
        plain_git.unstage(repo, [str(p) for p in paths])
    pid = owner.get("pid")
    pid = pid if isinstance(pid, int) else None
    git_dir = plain_git.git_dir(repo)
    if git_dir is not None and pid is not None:  # the private index of its commit
        index = plain_git.private_index(git_dir, pid)
        index.unlink(missing_ok=True)
        index.with_name(index.name + ".lock").unlink(missing_ok=True)
    remove_tree(path)
    return Stale(os.path.relpath(path, repo), pid, len(moves), committed)


def _journal(repo: Path, path: Path) -> list[Move]:
    moves: list[Move] = []
    with contextlib.suppress(OSError):
        for line in (path / JOURNAL).read_text(encoding="utf-8").splitlines():
            try:
                src, dst, made = json.loads(line)
            except ValueError:  # the last line, cut by the kill: that move never happened
                break
            moves.append((repo / src, repo / dst, repo / made if made else None))
    return moves


def _owner(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads((path / OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(owner: dict[str, object]) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return False
    start = _start_time(pid)
    if start is not None:  # Linux: a pid reused by another process does not count
        return start == owner.get("start")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
