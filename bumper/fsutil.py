"""Files on disk: writing them safely (a temp file in the same folder, then os.replace),
and naming them relative to the repository."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from bumper.errors import ExternalError

STAGING = ".bumper-staging-"  # the prefix of a bump's private folder (bumper.staging)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def repo_rel(repo: Path, path: Path) -> str:
    """``path`` relative to ``repo`` (POSIX form), or as it is when it lies outside."""
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        return path.as_posix()


def make_writable(root: Path) -> None:
    """Give the owner write access to every folder under ``root`` (a staging copy of a
    read-only folder must still take the bump's edits, and be removable)."""
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IWUSR:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IWUSR)


def permission_error(exc: PermissionError, repo: Path) -> ExternalError:
    """A permission problem as an environment error naming the path (exit 3). Of a rename's
    two paths, the one in the tree is named; a path only in bumper's staging copy is named by
    what the user owns (the images root)."""
    names = [str(name) for name in (exc.filename2, exc.filename) if name]
    mine = [name for name in names if STAGING not in name]
    if mine:
        where = repo_rel(repo, Path(mine[0]))
    elif names:
        path = Path(names[0])
        where = repo_rel(repo, next(p for p in (path, *path.parents)
                                    if p.name.startswith(STAGING)).parent)
    else:
        where = "a file of the plan"
    return ExternalError(f"{where}: permission denied ({exc.strerror or 'not allowed'}); "
                         "give this user access to it and run again")
