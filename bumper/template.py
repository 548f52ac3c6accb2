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
import subprocess
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


TEMPLATE_CONFIGS = ("copier.yml", "copier.yaml")


def require_template(repo: Path, ref: str) -> None:
    """Without a copier.yml, Copier takes the whole repository for the template (and would
    render every image folder into the new one): refuse instead."""
    for name in TEMPLATE_CONFIGS:
        proc = subprocess.run(["git", "cat-file", "-e", f"{ref}:{name}"], cwd=repo,
                              capture_output=True, check=False)
        if proc.returncode == 0:
            return
    raise UsageError(f"{repo}: no copier.yml in commit {ref[:12]}; this needs the Copier "
                     "template (copier.yml and template/) committed in the repository")


def render(repo: Path, dst: Path, data: dict[str, str], ref: str) -> None:
    """Render the template at commit ``ref`` into ``dst`` (a folder that does not exist)."""
    require_template(repo, ref)
    with _copier_env(repo) as copier:
        try:
            copier.run_copy(".", str(dst), data=data, vcs_ref=ref, defaults=True,
                            overwrite=True, quiet=True, unsafe=False)
        except copier.errors.CopierError as exc:
            raise UsageError(f"copier: {_reason(exc)}") from exc
        except ValueError as exc:  # copier reports invalid answers as ValueError
            raise UsageError(f"invalid answer: {_reason(exc)}") from exc
        except _process_error() as exc:  # a git command copier ran
            raise ExternalError(f"copier: {_command_reason(exc)}") from exc


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


def _process_error() -> type[Exception]:
    from plumbum import ProcessExecutionError

    return ProcessExecutionError


def _command_reason(exc: BaseException) -> str:
    """The last line git wrote to stderr, else the error itself, on one line."""
    stderr = str(getattr(exc, "stderr", "") or "").strip().splitlines()
    return " ".join((stderr[-1] if stderr else str(exc)).split()) or type(exc).__name__


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise ExternalError(f"git {args[0]} failed: {reason}")
    return proc.stdout


def unmerged(repo: Path, paths: list[str] | None = None) -> list[str]:
    """Index entries with a merge conflict, as ``mode sha stage\tpath`` (git ls-files -u)."""
    out = _git(repo, "ls-files", "-u", "-z", "--", *(paths or []))
    return [entry for entry in out.split("\0") if entry]


class Updater:
    """`copier update` of several folders in one repository.

    Copier records its own conflicts as unmerged index entries (like a merge), but its
    next update starts with ``git write-tree``, which fails on any unmerged entry. So
    the entries of a conflicted folder are parked (the index goes back to HEAD for those
    paths) until every folder is done, then put back: the repository ends as Copier
    leaves it for one folder, with each conflicted file shown as unmerged.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._parked: list[str] = []

    def update(self, folder: Path, ref: str) -> list[str]:
        """Update ``folder`` to the template at ``ref``; returns its conflicted files."""
        rel = folder.relative_to(self.repo).as_posix()
        require_template(self.repo, ref)
        with _copier_env(self.repo) as copier:
            try:
                copier.run_update(rel, vcs_ref=ref, defaults=True, overwrite=True,
                                  skip_answered=True, conflict="inline", quiet=True,
                                  unsafe=False)
            except copier.errors.CopierError as exc:
                raise ExternalError(f"{rel}: copier update failed: {_reason(exc)}") from exc
            except _process_error() as exc:
                raise ExternalError(f"{rel}: copier update failed: {_command_reason(exc)}"
                                    ) from exc
        entries = unmerged(self.repo, [rel])
        if entries:
            self._parked.extend(entries)
            paths = sorted({entry.split("\t", 1)[1] for entry in entries})
            _git(self.repo, "reset", "--quiet", "--", *paths)
        return conflicts(folder)

    def restore(self) -> None:
        """Put the parked conflict entries back into the index."""
        if not self._parked:
            return
        paths = sorted({entry.split("\t", 1)[1] for entry in self._parked})
        lines = [f"0 {'0' * 40}\t{path}" for path in paths] + self._parked
        _git(self.repo, "update-index", "-z", "--index-info", stdin="\0".join(lines) + "\0")
        self._parked = []


@contextlib.contextmanager
def updater(repo: Path) -> Iterator[Updater]:
    up = Updater(repo)
    try:
        yield up
    finally:
        up.restore()


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
