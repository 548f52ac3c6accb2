"""The only module that imports GitPython: dirty checks and the bump's commit."""

from __future__ import annotations

from pathlib import Path

from bumper.errors import ExternalError, UsageError


class Git:
    def __init__(self, root: Path) -> None:
        import git

        try:
            self._repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise UsageError(f"{root}: not a git repository (run git init, or pass --no-commit)") from exc
        self._error = git.GitCommandError

    def _run(self, *args: str) -> str:
        try:
            return str(self._repo.git.execute(["git", *args]))
        except self._error as exc:
            detail = str(exc.stderr or exc).strip().splitlines()
            reason = detail[-1].strip() if detail else str(exc)
            raise ExternalError(f"git {args[0]} failed: {reason.removeprefix('stderr: ')}") from exc

    def dirty(self, paths: list[str]) -> list[str]:
        """Paths among ``paths`` with uncommitted changes (including untracked files)."""
        if not paths:
            return []
        out = self._run("status", "--porcelain", "--untracked-files=all", "--", *paths)
        return [line[3:] for line in out.splitlines() if line.strip()]

    def head(self) -> str | None:
        try:
            return self._repo.head.commit.hexsha
        except ValueError:
            return None

    def commit(self, paths: list[str], message: str) -> str:
        """Stage exactly ``paths`` (new, changed and removed files) and commit only them."""
        self._run("add", "--all", "--", *paths)
        try:
            self._run("commit", "--quiet", "-m", message, "--", *paths)
        except ExternalError:
            self._run("reset", "--quiet", "--", *paths)
            raise
        return self._repo.head.commit.hexsha


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
