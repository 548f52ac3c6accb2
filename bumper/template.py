"""The only module that imports Copier: render a folder, update folders.

Copier runs from the repository root with the template at an explicit commit
(never a dirty HEAD, which Copier would record as a throwaway WIP commit), so
the answers file records ``_src_path: .`` and a commit `copier update` can
find again.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bumper.errors import ExternalError, UsageError

ANSWERS = ".copier-answers.yml"
CONFLICT_MARKER = "<<<<<<< "


@contextlib.contextmanager
def _copier_env(repo: Path) -> Iterator[Any]:
    """cwd at the repo root, Copier's chatter and warnings kept out of our output."""
    import copier

    previous = Path.cwd()
    os.chdir(repo)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield copier
    finally:
        os.chdir(previous)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def render(repo: Path, dst: Path, data: dict[str, str], ref: str) -> None:
    """Render the template at commit ``ref`` into ``dst`` (a folder that does not exist)."""
    with _copier_env(repo) as copier:
        try:
            copier.run_copy(".", str(dst), data=data, vcs_ref=ref, defaults=True,
                            overwrite=True, quiet=True, unsafe=False)
        except copier.errors.CopierError as exc:
            raise UsageError(f"copier: {_reason(exc)}") from exc
        except ValueError as exc:  # copier reports invalid answers as ValueError
            raise UsageError(f"invalid answer: {_reason(exc)}") from exc


def answers(folder: Path) -> dict[str, str]:
    """The user answers of a folder's answers file (keys starting with _ left out)."""
    from bumper.editors.answers import read

    path = folder / ANSWERS
    if not path.is_file():
        raise UsageError(f"{path}: no Copier answers file (this folder was not made by the "
                         "template; see README 'Adopting bumper')")
    return {k: v for k, v in read(path.read_text(encoding="utf-8")).items()
            if not k.startswith("_")}


def recorded_commit(folder: Path) -> str | None:
    from bumper.editors.answers import read

    path = folder / ANSWERS
    return read(path.read_text(encoding="utf-8")).get("_commit") if path.is_file() else None


def update(repo: Path, folder: Path, ref: str) -> list[str]:
    """`copier update` of one folder to the template at ``ref``; returns conflicted files."""
    rel = folder.relative_to(repo)
    with _copier_env(repo) as copier:
        try:
            copier.run_update(str(rel), vcs_ref=ref, defaults=True, overwrite=True,
                              skip_answered=True, conflict="inline", quiet=True, unsafe=False)
        except copier.errors.CopierError as exc:
            raise ExternalError(f"{rel}: copier update failed: {_reason(exc)}") from exc
    return conflicts(folder)


def conflicts(folder: Path) -> list[str]:
    """Files Copier left with inline conflict markers, and .rej files (it exits 0 on both)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".rej":
            found.append(path.as_posix())
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if any(line.startswith(CONFLICT_MARKER) for line in text.splitlines()):
            found.append(path.as_posix())
    return found
