"""Apply a Plan, the only writer of a bump: build the result in a staging folder,
lock and check it there, then move it into place and commit; on any failure the
tree is as it was.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bumper import companions, discover, lockform, repolock
from bumper.config import Config
from bumper.discover import LOCK, PYPROJECT
from bumper.editors import requirements
from bumper.editors.tokens import apply as apply_tokens
from bumper.editors.tokens import substitutions
from bumper.errors import UsageError
from bumper.findings import Finding
from bumper.fsutil import atomic_write, make_writable, permission_error, read_text, repo_rel
from bumper.git import dirty, git_dir, head
from bumper.plan import FolderPlan, Plan
from bumper.signals import Deferred
from bumper.staging import Staging, fingerprint, recover_stale
from bumper.uvproc import POLL

if TYPE_CHECKING:
    from bumper.git import Git


@dataclass
class Applied:
    """What apply did: the commit, and the findings the result keeps (none it introduced)."""

    commit: str | None
    lock_skipped: bool
    carried: list[Finding]  # drift the folders already had, carried over
    # findings on a leftover line: the old token the bump left for a human to decide on
    flagged: list[Finding] = field(default_factory=list)
    accepted: list[Finding] = field(default_factory=list)  # what the user asked for (--name)
    unchanged: bool = False  # the result is what the tree already had: nothing written
    interrupt_deferred: bool = False  # Ctrl-C came while the result was being put in place


class BumpRefusedError(UsageError):
    """The result would carry a problem its source did not have."""

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


def apply(plan: Plan, config: Config, *, lock: bool = True, commit: bool = True,
          deferred: Deferred | None = None) -> Applied:
    """Stage, lock, check, swap into place, commit; roll everything back on any failure.

    Nothing in the working tree changes until every step that can fail on its own (copy,
    edits, uv, checks) has passed in the staging folder; the swap and the commit then run
    with interrupts held back (until ``deferred`` is stopped, when the caller passes one:
    the report of the commit is part of what must not be cut), and undo themselves if git
    refuses. While uv locks, a helper thread does what does not need the lock (the sources'
    own drift, loading GitPython).
    """
    if commit and not (config.repo / ".git").exists():
        raise UsageError(f"{config.repo}: not a git repository (run git init, or pass "
                         "--no-commit)")
    with exclusive(config):
        _check_clean(plan, config)
        try:
            return _apply(plan, config, lock, commit, deferred)
        except PermissionError as exc:
            raise permission_error(exc, config.repo) from None


@contextmanager
def exclusive(config: Config, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the repository's bump lock, and first clear what a killed bump left."""
    in_git = (config.repo / ".git").exists()
    with repolock.held(git_dir(config.repo) if in_git else None):
        for stale in recover_stale(config.repo, config.images_root):
            if notify is not None:
                notify(str(stale))
        yield


def _check_clean(plan: Plan, config: Config) -> None:
    if (config.repo / ".git").exists():  # --no-commit in a repository checks too
        changed = dirty(config.repo, _inputs_and_outputs(plan))
        if changed:
            raise UsageError(f"{changed[0]}: has uncommitted changes; commit or stash them "
                             f"first ({len(changed)} path{'s' if len(changed) != 1 else ''} of "
                             "the plan)")


def _apply(plan: Plan, config: Config, lock: bool, commit: bool,
           deferred: Deferred | None) -> Applied:
    staging = Staging(config.repo, config.images_root, head(config.repo), plan.paths)
    hold = deferred or Deferred()
    staged: list[Path] = []
    read: list[dict[str, str]] = []
    try:
        for folder in plan.folders:
            path, copied = _stage(folder, config, staging)
            staged.append(path)
            read.append(copied)
        staged_files = companions.stage(plan.files, config.repo, staging.root)
        with _Meanwhile(plan, config, commit) as meanwhile:
            if lock:
                _lock(plan, staged, config.locks)
        git = meanwhile.git
        _repin(plan, staged)
        carried, flagged, accepted = _verify(plan, staged, config, lock, meanwhile.before)
        if _unchanged(plan, staged, config):
            return Applied(None, not lock, carried, flagged, accepted, unchanged=True)
        hold.start()
        try:
            _unchanged_since(plan, config, read)
            _swap(plan, staged, config, staging)
            companions.swap(plan.files, staged_files, config.repo, staging.root, staging.move)
            sha = git.commit(plan.paths, plan.message(lock)) if git is not None else None
        except BaseException:
            staging.rollback()
            raise
    finally:
        staging.cleanup()
        if deferred is None:
            hold.stop()
    return Applied(sha, not lock, carried, flagged, accepted, interrupt_deferred=bool(hold.held))


def _inputs_and_outputs(plan: Plan) -> list[str]:
    """Every path of the plan, and the folders it copies from: an uncommitted change in a
    source would flow into the new folder and its commit unseen."""
    paths = list(plan.paths) + [path for edit in plan.files for path in edit.inputs]
    for folder in plan.folders:
        if folder.is_new and not Path(folder.src_rel).is_absolute():
            paths.append(folder.src_rel)
    return list(dict.fromkeys(paths))


def _stage(folder: FolderPlan, config: Config, staging: Staging) -> tuple[Path, dict[str, str]]:
    """Copy the source into the staging folder and write the plan's new texts there; return
    the copy and the fingerprint of what was copied (checked again before the swap)."""
    src = config.repo / folder.src_rel
    dst = staging.folder(Path(folder.dst_rel).name)
    shutil.copytree(src, dst, symlinks=True)
    make_writable(dst)  # a read-only source (mode 555) still gives a folder bumper can edit
    read = fingerprint(dst)
    for name, text in folder.old.items():
        if not _same_text(_text(dst / name), text):
            raise UsageError(f"{folder.src_rel}/{name}: changed since the plan was made "
                             "(another bump or an editor?); nothing was changed: run the "
                             "command again")
    for name, text in folder.new.items():
        atomic_write(dst / name, text)
    return dst, read


def _text(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _same_text(raw: str | None, text: str) -> bool:
    """``raw`` (read as it is) is ``text``, or is it read with universal newlines."""
    return raw is not None and (raw == text or _plain(raw) == _plain(text))


def _plain(text: str) -> str:
    """``text`` as editors see it (fsutil.read_text): LF newlines, no BOM."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _unchanged_since(plan: Plan, config: Config, read: list[dict[str, str]]) -> None:
    """Every folder the bump replaces or copies is byte for byte what was staged: a change
    made meanwhile (another bump, an editor) would otherwise be lost without a word."""
    for folder, before in zip(plan.folders, read, strict=True):
        src = config.repo / folder.src_rel
        if src.is_dir() and fingerprint(src) != before:
            raise UsageError(f"{folder.src_rel}: changed while the bump ran (another bump or an "
                             "editor?); nothing was changed: run the command again")


class _Meanwhile:
    """Work that does not need the lock, done in a thread while uv runs: the drift each
    source already has (what the staging check may carry over) and the git repository
    (GitPython takes a while to import). Its errors are raised when the block ends."""

    def __init__(self, plan: Plan, config: Config, commit: bool) -> None:
        self._plan, self._config, self._commit = plan, config, commit
        self.before: list[list[Finding]] = []
        self.git: Git | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bumper-meanwhile")

    def _run(self) -> None:
        try:
            self.before = [_before(folder, self._config) for folder in self._plan.folders]
            if self._commit:
                self.git = _git(self._config)
        except BaseException as exc:  # handed to the main thread
            self._error = exc

    def __enter__(self) -> _Meanwhile:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        while self._thread.is_alive():  # short waits, so a signal is acted on (uvproc.POLL)
            self._thread.join(POLL)
        if kind is None and self._error is not None:
            raise self._error


def _before(folder: FolderPlan, config: Config) -> list[Finding]:
    """The drift the folder's source already has (given by the planner, or read now)."""
    if folder.before is not None:
        return folder.before
    from bumper import check  # in the helper thread: its import is off the critical path

    return check.check_image(discover.load(config, config.repo / folder.src_rel), config)


def _git(config: Config) -> Git:
    from bumper.git import Git

    return Git(config.repo)


def _lock(plan: Plan, staged: list[Path], listed: tuple[str, ...] = ()) -> None:
    """Relock every lock of every folder that needs it (each with its own command line)."""
    from bumper import lock as uvlock
    from bumper import locks
    from bumper.urls import with_env_credentials

    jobs, targets = [], []
    for folder, path in zip(plan.folders, staged, strict=True):
        if not folder.relock or folder.rewrite is None or folder.index_url is None:
            continue
        lock_file = path / LOCK
        text = lock_file.read_text(encoding="utf-8") if lock_file.is_file() else ""
        policy = {True: "always", False: "never", None: "auto"}[folder.hashes]
        job = uvlock.LockJob(folder=path, rel=folder.dst_rel,
                             index=with_env_credentials(folder.index_url),
                             python=folder.rewrite.new.python, upgrade=folder.upgrade,
                             hashes=lockform.hashed(text, policy))
        for each in locks.jobs(uvlock.with_indexes(job, read_text(path / PYPROJECT)), path,
                               listed, policy):
            jobs.append(each)
            targets.append(path / each.lock_name)
    for target, text in zip(targets, uvlock.run_jobs(jobs), strict=True):
        atomic_write(target, text)


def _repin(plan: Plan, staged: list[Path]) -> None:
    for folder, path in zip(plan.folders, staged, strict=True):
        if not folder.repins:
            continue
        text = read_text(path / LOCK)
        hashed = lockform.hashed(text)  # one unhashed pin among hashed ones, or the reverse,
        for pin in folder.repins:  # and pip refuses the whole lock
            try:
                text = requirements.repin(text, pin.name, pin.version,
                                          list(pin.hashes) if hashed else [])
            except KeyError:
                raise UsageError(f"--set {pin.name}: {pin.name} is not in the lock of "
                                 f"{folder.dst_rel} (after the relock); pin it in "
                                 "pyproject.toml instead") from None
        atomic_write(path / LOCK, text)


def _verify(plan: Plan, staged: list[Path], config: Config, locked: bool,
            befores: list[list[Finding]]) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """Refuse findings the bump introduced; return the drift that was already there, the
    findings on leftover lines (an old token the bump reports instead of guessing at) and
    those the user asked for (a --name outside the naming scheme)."""
    from bumper import check

    introduced: list[Finding] = []
    carried: list[Finding] = []
    flagged: list[Finding] = []
    accepted: list[Finding] = []
    for folder, path, before in zip(plan.folders, staged, befores, strict=True):
        left = {(item.path, item.line) for item in folder.leftovers}
        image = discover.load(config, path)
        image.rel = folder.dst_rel
        subs = substitutions(folder.rewrite) if folder.rewrite else []
        expected = {(f.rule, Path(f.path).name, apply_tokens(f.message, subs))
                    for f in before}
        for found in check.check_image(image, config):
            finding = replace(found, path=found.path.replace(repo_rel(config.repo, path),
                                                            folder.dst_rel))
            if not locked and finding.rule == "lock":
                continue
            if _key(finding) in expected:
                carried.append(finding)
            elif finding.rule in folder.accepted:
                accepted.append(finding)
            elif (finding.path, finding.line) in left:
                flagged.append(finding)
            else:
                introduced.append(finding)
    if introduced:
        first = introduced[0]
        more = f" (and {len(introduced) - 1} more)" if len(introduced) > 1 else ""
        raise BumpRefusedError(f"the bump would introduce: {first}{more}", introduced)
    return carried, flagged, accepted


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule, Path(finding.path).name, finding.message)


def _unchanged(plan: Plan, staged: list[Path], config: Config) -> bool:
    """Every folder is edited in place and comes out byte for byte as it is."""
    if plan.removals or plan.files or any(folder.is_new for folder in plan.folders):
        return False
    return all(_same_tree(config.repo / folder.dst_rel, path)
               for folder, path in zip(plan.folders, staged, strict=True))


def _same_tree(a: Path, b: Path) -> bool:
    def files(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    import filecmp

    names = files(a)
    if names != files(b):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def _swap(plan: Plan, staged: list[Path], config: Config, staging: Staging) -> None:
    for folder, path in zip(plan.folders, staged, strict=True):
        dst = config.repo / folder.dst_rel
        if folder.is_new and (dst.exists() or dst.is_symlink()):
            raise UsageError(f"{folder.dst_rel}: appeared while the bump ran (another bump?); "
                             "nothing was changed")
        if dst.exists():
            staging.move(dst, staging.root / "old" / folder.dst_rel.replace("/", "__"))
        staging.move(path, dst)
    for rel in plan.removals:
        staging.move(config.repo / rel, staging.root / "retired" / rel.replace("/", "__"))
