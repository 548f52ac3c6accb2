"""Files on disk: writing them safely (a temp file in the same folder, then os.replace),
and naming them relative to the repository."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
