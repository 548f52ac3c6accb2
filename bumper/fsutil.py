"""Files on disk: writing them safely (a temp file in the same folder, then os.replace),
and naming them relative to the repository."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from bumper.errors import ExternalError


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
    """A permission problem as an environment error naming the path (exit 3); a path in
    bumper's staging copy is named by what the user owns (the images root)."""
    name = str(exc.filename or "")
    path = Path(name) if name else None
    if path is not None and ".bumper-staging-" in name:
        path = next(p for p in path.parents if p.name.startswith(".bumper-staging-")).parent
    where = repo_rel(repo, path) if path is not None else "a file of the plan"
    return ExternalError(f"{where}: permission denied ({exc.strerror or 'not allowed'}); "
                         "give this user access to it and run again")
