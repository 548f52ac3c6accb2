"""A Plan lists every new folder, file edit and removal of a bump before anything
is written. `render` shows it as unified diffs (--dry-run); `apply` is the only
writer: it builds the result in a staging folder, locks and checks it there,
then moves it into place and commits; on any failure the tree is as it was.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bumper.config import Config
from bumper.editors.tokens import Leftover, Rewrite
from bumper.errors import UsageError
from bumper.findings import Finding

LOCK = "requirements.txt"


@dataclass(frozen=True)
class Repin:
    """A transitive pin changed in the lock alone, with the index's hashes."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass
class FolderPlan:
    """One folder of the bump: a new one copied from ``src_rel``, or ``src_rel`` edited."""

    src_rel: str
    dst_rel: str
    old: dict[str, str]  # filename -> text before (text files of the source)
    new: dict[str, str]  # filename -> text after (only files that change)
    rewrite: Rewrite | None = None
    index_url: str | None = None  # the index to lock against (may carry credentials)
    relock: bool = False
    upgrade: bool = False
    repins: list[Repin] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    before: list[Finding] = field(default_factory=list)  # drift the source already had

    @property
    def is_new(self) -> bool:
        return self.src_rel != self.dst_rel


@dataclass
class Plan:
    kind: str  # "major" or "minor"
    folders: list[FolderPlan]
    subject: str
    details: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [f.dst_rel for f in self.folders] + self.removals

    @property
    def leftovers(self) -> list[Leftover]:
        return [item for folder in self.folders for item in folder.leftovers]

    def message(self) -> str:
        body = list(self.details)
        if self.leftovers:
            body += ["", "Leftovers to review (old version tokens the bump did not rewrite):"]
            body += [f"  {item}" for item in self.leftovers]
        return self.subject + ("\n\n" + "\n".join(body) if body else "") + "\n"


def render(plan: Plan) -> str:
    """The plan as unified diffs: a new folder as a diff against its source."""
    chunks: list[str] = []
    for folder in plan.folders:
        if folder.is_new:
            chunks.append(f"new folder {folder.dst_rel} (from {folder.src_rel})\n")
        for name in sorted(set(folder.old) | set(folder.new)):
            before = folder.old.get(name, "")
            after = folder.new.get(name, before)
            if before == after:
                if folder.is_new:
                    chunks.append(f"  copy {name} unchanged\n")
                continue
            chunks.extend(difflib.unified_diff(before.splitlines(keepends=True),
                                               after.splitlines(keepends=True),
                                               f"a/{folder.src_rel}/{name}",
                                               f"b/{folder.dst_rel}/{name}"))
        if folder.relock:
            how = "upgrade" if folder.upgrade else "relock"
            chunks.append(f"  {how} {folder.dst_rel}/{LOCK} with uv\n")
        for pin in folder.repins:
            chunks.append(f"  pin {pin.name}=={pin.version} in {folder.dst_rel}/{LOCK} "
                          f"({len(pin.hashes)} hashes)\n")
    chunks.extend(f"remove folder {rel}\n" for rel in plan.removals)
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


@dataclass
class Applied:
    commit: str | None
    lock_skipped: bool
    carried: list[Finding]  # drift the folders already had, carried over


class Staging:
    """A private folder next to the images: staged results, and backups while swapping."""

    def __init__(self, config: Config) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=".bumper-staging-", dir=config.images_root))
        self.moves: list[tuple[Path, Path]] = []  # (from, to), undone in reverse

    def folder(self, name: str) -> Path:
        return self.root / "new" / name

    def move(self, src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.rename(src, dst)
        self.moves.append((src, dst))

    def rollback(self) -> None:
        for src, dst in reversed(self.moves):
            if dst.exists() or dst.is_symlink():
                if src.exists():
                    shutil.rmtree(src)
                os.rename(dst, src)
        self.moves.clear()

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def apply(plan: Plan, config: Config, *, lock: bool = True, commit: bool = True) -> Applied:
    """Stage, lock, check, swap into place, commit; roll everything back on any failure."""
    from bumper.git import Git

    git = Git(config.repo) if commit else _maybe_git(config)
    if git is not None:
        dirty = git.dirty(plan.paths)
        if dirty:
            raise UsageError(f"{dirty[0]}: has uncommitted changes; commit or stash them first "
                             f"({len(dirty)} path{'s' if len(dirty) != 1 else ''} of the plan)")
    staging = Staging(config)
    try:
        staged = [_stage(folder, config, staging) for folder in plan.folders]
        if lock:
            _lock(plan, staged)
        _repin(plan, staged)
        carried = _verify(plan, staged, config, lock)
        for folder, path in zip(plan.folders, staged, strict=True):
            dst = config.repo / folder.dst_rel
            if dst.exists():
                staging.move(dst, staging.root / "old" / folder.dst_rel.replace("/", "__"))
            staging.move(path, dst)
        for rel in plan.removals:
            staging.move(config.repo / rel, staging.root / "retired" / rel.replace("/", "__"))
        sha = git.commit(plan.paths, plan.message()) if commit and git is not None else None
    except BaseException:
        staging.rollback()
        raise
    finally:
        staging.cleanup()
    return Applied(sha, not lock, carried)


def _maybe_git(config: Config) -> object | None:
    if not (config.repo / ".git").exists():
        return None
    from bumper.git import Git

    return Git(config.repo)


def _stage(folder: FolderPlan, config: Config, staging: Staging) -> Path:
    from bumper.fsutil import atomic_write

    src = config.repo / folder.src_rel
    dst = staging.folder(Path(folder.dst_rel).name)
    shutil.copytree(src, dst, symlinks=True)
    for name, text in folder.new.items():
        atomic_write(dst / name, text)
    return dst


def _lock(plan: Plan, staged: list[Path]) -> None:
    from bumper import lock as uvlock
    from bumper.fsutil import atomic_write
    from bumper.model import Stack
    from bumper.urls import with_env_credentials

    jobs, targets = [], []
    for folder, path in zip(plan.folders, staged, strict=True):
        if not folder.relock or folder.rewrite is None or folder.index_url is None:
            continue
        stack: Stack = folder.rewrite.new
        jobs.append(uvlock.LockJob(folder=path, rel=folder.dst_rel,
                                   index=with_env_credentials(folder.index_url),
                                   python=stack.python, upgrade=folder.upgrade))
        targets.append(path)
    for path, text in zip(targets, uvlock.run_jobs(jobs), strict=True):
        atomic_write(path / LOCK, text)


def _repin(plan: Plan, staged: list[Path]) -> None:
    from bumper.editors import requirements
    from bumper.fsutil import atomic_write

    for folder, path in zip(plan.folders, staged, strict=True):
        if not folder.repins:
            continue
        text = (path / LOCK).read_text(encoding="utf-8")
        for pin in folder.repins:
            text = requirements.repin(text, pin.name, pin.version, list(pin.hashes))
        atomic_write(path / LOCK, text)


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule, Path(finding.path).name, finding.message)


def _verify(plan: Plan, staged: list[Path], config: Config, locked: bool) -> list[Finding]:
    """Refuse findings the bump introduced; return the drift that was already there."""
    from bumper import check, discover
    from bumper.editors.tokens import apply as apply_tokens
    from bumper.editors.tokens import substitutions

    introduced, carried = [], []
    for folder, path in zip(plan.folders, staged, strict=True):
        image = discover.load(config, path)
        image.rel = folder.dst_rel
        subs = substitutions(folder.rewrite) if folder.rewrite else []
        expected = {(f.rule, Path(f.path).name, apply_tokens(f.message, subs))
                    for f in folder.before}
        for finding in check.check_image(image, config):
            finding = Finding(finding.path.replace(_rel(config, path), folder.dst_rel),
                              finding.line, finding.message, finding.fix, finding.rule)
            if not locked and finding.rule == "lock":
                continue
            (carried if _key(finding) in expected else introduced).append(finding)
    if introduced:
        first = introduced[0]
        more = f" (and {len(introduced) - 1} more)" if len(introduced) > 1 else ""
        raise BumpRefused(f"the bump would introduce: {first}{more}", introduced)
    return carried


def _rel(config: Config, path: Path) -> str:
    try:
        return path.relative_to(config.repo).as_posix()
    except ValueError:
        return path.as_posix()


class BumpRefused(UsageError):
    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings
