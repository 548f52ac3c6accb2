"""Files on disk: reading and writing them (a temp file in the same folder, then
os.replace) with their own newline style and BOM kept, and naming them relative to the
repository.

Every file bumper edits goes through `read_text` and `atomic_write`: editors see plain
text (LF, no BOM) and the file on disk keeps its CRLF and its UTF-8 BOM.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from bumper.errors import ExternalError

STAGING = ".bumper-staging-"  # the prefix of a bump's private folder (bumper.staging)

BOM = "\ufeff"


def read_text(path: Path) -> str:
    """The text of a UTF-8 file as editors see it: LF newlines, no BOM."""
    return decode(path.read_bytes())


def decode(data: bytes) -> str:
    return data.decode("utf-8-sig").replace("\r\n", "\n")


def _style(path: Path) -> tuple[bool, bool]:
    """(CRLF, BOM) of an existing file: CRLF when most of its lines end so."""
    try:
        data = path.read_bytes()
    except OSError:
        return False, False
    crlf = data.count(b"\r\n")
    return crlf > 0 and crlf >= data.count(b"\n") - crlf, data.startswith(BOM.encode())


def styled(text: str, crlf: bool, bom: bool) -> str:
    """``text`` (LF, no BOM) in a file's own style; text that has CRLF already is kept."""
    if crlf and "\r\n" not in text:
        text = text.replace("\n", "\r\n")
    if bom and not text.startswith(BOM):
        text = BOM + text
    return text


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half;
    an existing file keeps its newline style and BOM."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    if path.exists():
        text = styled(text, *_style(path))
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
