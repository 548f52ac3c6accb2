"""The only module that imports GitPython: dirty checks and the bump's commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bumper.errors import ExternalError, UsageError


class Git:
    def __init__(self, root: Path) -> None:
        import git

        try:
            self._repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise UsageError(f"{root}: not a git repository (run git init, or pass "
                             "--no-commit)") from exc
        self._error = git.GitCommandError

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return str(self._repo.git.execute(["git", *args], env=env))
        except self._error as exc:
            detail = str(exc.stderr or exc).strip().splitlines()
            reason = detail[-1].strip() if detail else str(exc)
            raise ExternalError(f"git {args[0]} failed: {reason.removeprefix('stderr: ')}") from exc

    def dirty(self, paths: list[str]) -> list[str]:
        """Paths among ``paths`` with uncommitted changes (including untracked files)."""
        return dirty(Path(self._repo.working_tree_dir or "."), paths)

    def head(self) -> str | None:
        try:
            return self._repo.head.commit.hexsha
        except ValueError:
            return None

    def commit(self, paths: list[str], message: str) -> str:
        """Commit exactly ``paths`` (new, changed and removed files) as they are in the tree.

        The commit is built in a private index (HEAD plus ``paths``), so a commit that fails,
        or is killed in a hook, leaves the repository's own index and its lock untouched;
        once HEAD has moved, the index takes the paths from it."""
        index = private_index(Path(self._repo.git_dir), os.getpid())
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if self.head() is not None:
                self._run("read-tree", "HEAD", env=env)
            self._run("add", "--all", "--", *paths, env=env)
            self._run("commit", "--quiet", "-m", message, env=env)
        finally:
            index.unlink(missing_ok=True)
        # HEAD has moved: nothing may undo the bump now; the index catching up is a courtesy
        # (if it fails, `git status` shows the paths staged back, and `git reset` clears it)
        unstage(Path(self._repo.working_tree_dir or "."), paths)
        return self._repo.head.commit.hexsha


def private_index(git_dir: Path, pid: int) -> Path:
    """The index file a bump of process ``pid`` commits with."""
    return git_dir / f"bumper-index-{pid}"


def dirty(root: Path, paths: list[str]) -> list[str]:
    """Paths among ``paths`` with uncommitted changes (including untracked files).

    Plain ``git status`` (no GitPython): the check runs before every apply, --no-commit too.
    """
    if not paths:
        return []
    cmd = ["git", "-c", "core.quotePath=false", "status", "--porcelain", "-z",
           "--untracked-files=all", "--", *paths]
    try:
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ExternalError(f"git status failed: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ExternalError(f"git status failed: {lines[-1] if lines else done.returncode}")
    out, entries = done.stdout.split("\0"), []
    i = 0
    while i < len(out):
        entry = out[i]
        if len(entry) > 3:
            entries.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy: the source path follows
                i += 1
        i += 1
    return entries


def head_sha(root: Path) -> str:
    """The commit the template is rendered from (explicit, never a dirty HEAD)."""
    sha = Git(root).head()
    if sha is None:
        raise UsageError(f"{root}: the repository has no commit yet (commit the template first)")
    return sha


def changed_between(root: Path, old: str, new: str, paths: list[str]) -> bool:
    """Whether any of ``paths`` differs between commits ``old`` and ``new``."""
    git = Git(root)
    try:
        return bool(git._run("diff", "--name-only", old, new, "--", *paths).strip())
    except ExternalError as exc:
        raise UsageError(f"template commit {old} is not in this repository ({exc.message}); "
                         "fetch it, or re-render the folder") from exc


def _plain(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """Plain git (no GitPython), for the checks around every apply; None if git is missing."""
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False)
    except OSError:
        return None


def head(root: Path) -> str | None:
    """HEAD's commit, or None (no repository, no commit yet)."""
    done = _plain(root, "rev-parse", "--verify", "-q", "HEAD")
    return done.stdout.strip() if done is not None and done.returncode == 0 else None


def detached(root: Path) -> bool:
    """HEAD names a commit, not a branch: a commit made there is on no branch."""
    done = _plain(root, "symbolic-ref", "-q", "HEAD")
    return done is not None and done.returncode == 1 and head(root) is not None


def unstage(root: Path, paths: list[str]) -> None:
    """Put the index of ``paths`` back to HEAD (what a killed commit left staged)."""
    if paths:
        _plain(root, "reset", "-q", "--", *paths)


def git_dir(root: Path) -> Path | None:
    """The repository's git folder (``.git``, or where a worktree's ``.git`` file points)."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    done = _plain(root, "rev-parse", "--absolute-git-dir") if dot.exists() else None
    return Path(done.stdout.strip()) if done is not None and done.returncode == 0 else None
