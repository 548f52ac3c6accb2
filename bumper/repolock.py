"""One bump at a time per repository: an exclusive lock on ``.git/bumper.lock``.

flock(2) belongs to the open file: the kernel drops it when the process ends, SIGKILL
included, so a killed bump never leaves a lock to clear by hand. A second bump waits
(saying so) up to BUMPER_LOCK_WAIT seconds (default 60), then gives up with exit 2.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bumper.errors import UsageError

WAIT_ENV = "BUMPER_LOCK_WAIT"
DEFAULT_WAIT = 60.0
POLL = 0.1
_depth = [0]  # held by this process already (the CLI takes it before planning, apply again)


def _wait_limit() -> float:
    raw = os.environ.get(WAIT_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_WAIT
    except ValueError:
        raise UsageError(f"{WAIT_ENV}={raw!r}: not a number of seconds (e.g. 30)") from None


@contextlib.contextmanager
def held(git_dir: Path | None) -> Iterator[None]:
    """Hold the repository's bump lock for the block (no-op outside a git repository)."""
    if git_dir is None or _depth[0]:
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    path = git_dir / "bumper.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _depth[0] += 1
        yield
    finally:
        _depth[0] = max(0, _depth[0] - 1)
        os.close(fd)  # releases the lock


def _acquire(fd: int, path: Path) -> None:
    limit = _wait_limit()
    deadline = time.monotonic() + limit
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _holder(path)
        if time.monotonic() >= deadline:
            raise UsageError(f"another bumper{holder} is changing this repository (waited "
                             f"{limit:g} s for {path}); run again when it is done")
        if not told:
            sys.stderr.write(f"waiting for another bumper{holder} in this repository...\n")
            sys.stderr.flush()
            told = True
        time.sleep(POLL)


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return f" (pid {int(path.read_text(encoding='utf-8').split()[0])})"
    return ""
