"""`bumper lock`: relock image folders in place, or check that their locks are current."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bumper import lock, lockform
from bumper.config import Config
from bumper.discover import LOCK, ImageDir
from bumper.fsutil import atomic_write, read_text


@dataclass(frozen=True)
class LockResult:
    rel: str
    changed: bool
    diff: str
    lock: str = LOCK  # the file (a folder may have several locks)


def _diff(old: str, new: str, rel: str, name: str = LOCK) -> str:
    import difflib

    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        f"a/{rel}/{name}", f"b/{rel}/{name}"))


def relock(images: list[ImageDir], *, upgrade: bool = False, packages: tuple[str, ...] = (),
           write: bool = True, progress: bool = False,
           config: Config | None = None) -> list[LockResult]:
    """Lock every folder (concurrently); write the locks that changed when ``write``. Each
    lock keeps its form unless ``[tool.bumper] hashes`` (the folder's scheme) forces one."""
    from bumper import locks

    owners: list[ImageDir] = []
    jobs: list[lock.LockJob] = []
    for image in images:
        policy = _policy(config, image)
        base = lock.job_for(image, upgrade=upgrade, upgrade_packages=packages, policy=policy)
        for job in locks.jobs(base, image.path, config.locks if config else (), policy):
            owners.append(image)
            jobs.append(job)

    shown = False

    def report(done: int, total: int) -> None:
        nonlocal shown
        if progress:
            sys.stderr.write(f"\rlocking: {done}/{total} folder{'s' if total != 1 else ''}")
            sys.stderr.flush()
            shown = True

    try:
        texts = lock.run_jobs(jobs, on_done=report)
    finally:
        if shown:  # end the progress line, also when a lock failed
            sys.stderr.write("\n")
            sys.stderr.flush()
    results = []
    for image, job, new in zip(owners, jobs, texts, strict=True):
        path = Path(image.path) / job.lock_name
        old = image.texts.get(LOCK, "") if job.lock_name == LOCK else read_text(path)
        changed = lockform.comparable(old) != lockform.comparable(new)
        # A lock whose only change would be comment lines (uv's "# via" notes, the
        # header) is left alone: a scheduled refresh then opens no empty pull request.
        if write and (changed or not old.strip()):
            atomic_write(path, new)
        diff = _diff(old, new, image.rel, job.lock_name) if changed else ""
        results.append(LockResult(image.rel, changed, diff, job.lock_name))
    return results


def _policy(config: Config | None, image: ImageDir) -> str:
    scheme = config.scheme_for(image.name) if config else None
    return scheme.hashes if scheme else "auto"
