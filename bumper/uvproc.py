"""How bumper runs uv: in its own process group (killed with its children on failure or
Ctrl-C), set to die with bumper (PR_SET_PDEATHSIG: SIGKILL of bumper too), and with the
index credentials kept off every disk (a memfd netrc handed over as an open descriptor).

The preexec function is safe with bumper's threads: it only calls prctl and getppid (no
lock, no allocation), and libc's prctl is looked up in the parent beforehand.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bumper.errors import ExternalError, UsageError
from bumper.urls import IndexUrl


class Netrc:
    """The job's credentials as a netrc for uv, or nothing when it has none.

    On Linux the file is a memfd (no path; uv reads it as ``/proc/self/fd/N``, the
    descriptor passed on to it); elsewhere a file of mode 0600 in the job's temporary
    folder, removed with it.
    """

    def __init__(self, indexes: IndexUrl | tuple[IndexUrl, ...], where: Path) -> None:
        self.fd: int | None = None
        self.path: str | None = None
        entries = [_entry(index) for index in
                   (indexes if isinstance(indexes, tuple) else (indexes,))]
        text = "".join(entry for entry in entries if entry).encode()
        if not text:
            return
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("bumper-netrc", os.MFD_CLOEXEC)
            os.write(self.fd, text)
            self.path = f"/proc/self/fd/{self.fd}"
            return
        path = where / "netrc"  # pragma: no cover - not Linux
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        self.path = str(path)

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,) if self.fd is not None else ()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _entry(index: IndexUrl) -> str:
    """The netrc lines for one index's credentials ("" when it has none)."""
    credentials = index.credentials()
    if credentials is None:
        return ""
    user, password = credentials
    if any(ch.isspace() or ch in "\"'#" for ch in user + password):
        raise UsageError("index credentials with spaces, quotes or '#' cannot be handed to "
                         "uv (its netrc reader splits on them)")
    host = urlsplit(index.request_url()).hostname or ""
    return f"machine {host}\nlogin {user}\npassword {password}\n"


class Batch:
    """The uv processes of one `run_jobs` call, so a failure or Ctrl-C can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[str]] = set()
        self.cancelled = False

    def start(self, cmd: list[str], cwd: Path, env: dict[str, str],
              pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[str]:
        """Start uv in its own process group (so it can be killed with its children), set to
        die with this thread (bumper) even when bumper itself is killed."""
        with self._lock:
            if self.cancelled:
                raise ExternalError("stopped (another lock failed)")
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True, pass_fds=pass_fds,
                                    preexec_fn=_die_with_parent())  # noqa: PLW1509
            self._procs.add(proc)
            return proc

    def done(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            procs = list(self._procs)
        for proc in procs:
            kill(proc)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl (Linux), loaded once in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None
    return prctl


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs before exec: ask the kernel to SIGKILL it when the thread that
    started it ends, and exit at once if that already happened (the race before prctl)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


# Seconds the main thread blocks at most in one wait. The kernel may hand SIGINT, SIGTERM or
# SIGHUP to any thread; Python runs the handler in the main thread, but only once that thread
# is back in Python code: a main thread blocked in one long poll() would not see a signal
# that another thread (an index client's, the meanwhile thread) received until uv ends.
POLL = 0.2


def communicate(proc: subprocess.Popen[str], limit: float) -> str:
    """uv's stderr once it ends, in short waits (see POLL); TimeoutExpired after ``limit``."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return proc.communicate(timeout=min(POLL, max(0.0, deadline - time.monotonic())))[1]
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise


def kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
