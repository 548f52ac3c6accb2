"""SIGINT, SIGTERM, SIGHUP and SIGKILL at each state of `bumper major --cuda 12.8` with a
lock, against a loopback index that asks for a password and holds requests while the test
wants uv busy. Every state is reached by watching for it (a file open, a request waiting,
a hook's marker file, a process gone), never by sleeping.

After each case: the tree is as before (or the whole bump, when the signal came once the
result was being put in place), no `.bumper-staging-*`, no file in $TMPDIR holding the
password, no live uv, and the next bump succeeds (after SIGKILL it first says what the
killed run left and clears it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bumprepo import CUDA, IMAGES, Repo, uv_compile_of, wait_for

NEW = "th05-cuda128-torch291-py312"
USER, PASSWORD = "battery", "Pa55-battery-w0rd"
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]


@dataclass
class Case:
    repo: Repo
    tmp: Path  # bumper's $TMPDIR
    proc: subprocess.Popen[str] | None = None
    uv: tuple[int, ...] = ()

    @property
    def fifo(self) -> Path:
        return self.tmp.parent / "hook.fifo"

    @property
    def marker(self) -> Path:
        return self.tmp.parent / "hook.entered"

    def start(self) -> subprocess.Popen[str]:
        repo = self.repo
        # its own session: SIGKILL goes to bumper and its git and hook (as `kill -9` of a
        # job), uv runs in a session of its own and must die with bumper on its own
        self.proc = subprocess.Popen(repo.command("major", "--cuda", "12.8", "--yes"),
                                     cwd=repo.root, env=repo._env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        return self.proc

    def hook(self, name: str) -> None:
        """A git hook that says it runs (the marker) and waits until the test lets it."""
        os.mkfifo(self.fifo)
        hook = self.repo.root / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ntouch '{self.marker}'\nread line < '{self.fifo}'\n",
                        encoding="utf-8")
        hook.chmod(0o755)

    def let_hook_go(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)  # the hook has it open for reading: no wait
        os.write(fd, b"go\n")
        os.close(fd)

    def remove_hooks(self) -> None:
        for hook in (self.repo.root / ".git" / "hooks").glob("*-commit"):
            hook.unlink()


@pytest.fixture
def case(faulty_repo: Repo, tmp_path: Path) -> Iterator[Case]:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, PASSWORD)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    repo.extra_env.update(BUMPER_INDEX_USERNAME=USER, BUMPER_INDEX_PASSWORD=PASSWORD,
                          TMPDIR=str(tmp))
    it = Case(repo, tmp)
    yield it
    repo.index.release()
    if it.proc is not None and it.proc.poll() is None:
        os.killpg(it.proc.pid, signal.SIGKILL)
        it.proc.communicate()


# --- reaching each state ----------------------------------------------------------------------


@contextlib.contextmanager
def waiting_for_the_repo_lock(case: Case) -> Iterator[None]:
    """Before staging: another bump holds the repository's lock; this one waits for it."""
    path = case.repo.root / ".git" / "bumper.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = case.start()
        wait_for(lambda: _has_open(proc.pid, path), what="bumper to wait for the repo lock")
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def locking(case: Case) -> Iterator[None]:
    """During uv: uv runs, one of its requests waits at the index."""
    index = case.repo.index
    assert index is not None
    index.hold()
    proc = case.start()
    case.uv = tuple(wait_for(lambda: index.held and uv_compile_of(proc),  # type: ignore[arg-type]
                             what="uv to wait on the index"))
    yield
    index.release()


@contextlib.contextmanager
def locked(case: Case) -> Iterator[None]:
    """After uv, before the swap: uv has written the lock and exited while bumper was
    stopped (SIGSTOP); the signal is pending when bumper goes on (SIGCONT after it)."""
    index = case.repo.index
    assert index is not None
    with locking(case):
        assert case.proc is not None
        os.kill(case.proc.pid, signal.SIGSTOP)
        index.release()
    wait_for(lambda: not any(_alive(pid) for pid in case.uv), what="uv to finish")
    yield
    if case.proc is not None and case.proc.poll() is None:
        os.kill(case.proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def in_the_commit_hook(case: Case, name: str = "pre-commit") -> Iterator[None]:
    """During the commit (pre-commit) or right after it (post-commit): the tree is swapped,
    a hook of git's runs and waits."""
    case.hook(name)
    case.start()
    wait_for(case.marker.exists, timeout=120, what=f"the {name} hook to run")
    yield


def after_the_commit(case: Case) -> contextlib.AbstractContextManager[None]:
    return in_the_commit_hook(case, "post-commit")


STATES: dict[str, Callable[[Case], contextlib.AbstractContextManager[None]]] = {
    "before-staging": waiting_for_the_repo_lock,
    "during-uv": locking,
    "after-uv": locked,
    "in-commit-hook": in_the_commit_hook,
    "after-commit": after_the_commit,
}
SWAPPED = ("in-commit-hook", "after-commit")  # signals then are held until the report


def _has_open(pid: int, path: Path) -> bool:
    with contextlib.suppress(OSError):
        return any(Path(f"/proc/{pid}/fd/{fd}").resolve() == path.resolve()
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    return False


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def uv_under(root: Path) -> list[int]:
    """Live `uv pip compile` processes working in ``root`` (their parent may be gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if (entry.name.isdigit() and b" compile " in (entry / "cmdline").read_bytes()
                    .replace(b"\0", b" ") and (entry / "cwd").resolve().is_relative_to(root)
                    and _alive(int(entry.name))):
                found.append(int(entry.name))
    return found


def assert_no_secret_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def staging(repo: Repo) -> list[str]:
    return [name for name in repo.folders() if name.startswith(".bumper-staging-")]


# --- the battery ------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("state", list(STATES))
def test_a_signal_leaves_nothing_behind(case: Case, state: str, sig: int) -> None:
    repo = case.repo
    before, head, commits = repo.snapshot(), repo.head(), repo.commits()
    with STATES[state](case):
        proc = case.proc
        assert proc is not None
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
            if state in SWAPPED:
                case.let_hook_go()
        # while the index still holds uv's requests: uv cannot end on its own, bumper (or,
        # for SIGKILL, the kernel: PR_SET_PDEATHSIG) must end it
        wait_for(lambda: not uv_under(repo.root), timeout=30, what="no uv left")
    assert proc is not None
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err

    assert_no_secret_in(case.tmp)
    killed = sig == signal.SIGKILL
    if killed:
        assert proc.returncode == -signal.SIGKILL
    elif state in SWAPPED:  # held back: the bump is finished and reported, then told
        assert proc.returncode == 0, err
        assert f"committed {repo.head()[:12]}" in out
        assert "warning: interrupt received" in err
        assert repo.commits() == commits + 1 and repo.status() == ""
        assert NEW in repo.folders() and not staging(repo)
    else:
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "bumper: interrupted"
        repo.assert_untouched(before, head)

    case.remove_hooks()
    if state in SWAPPED and (not killed or state == "after-commit"):
        # the bump is in (the kill came after git made the commit): the next bump goes on
        run = repo.ok("minor", NEW, "--base-image", ":2026b", "--no-lock", "--yes")
        assert ("its commit was made" in run.err) == killed, run.err
        assert repo.commits() == commits + 2
    else:
        run = repo.ok("major", "--cuda", "12.8", "--yes")
        if killed and state != "before-staging":
            assert "note: " in run.err and "was killed" in run.err, run.err
        assert repo.commits() == commits + 1
        table = f"{IMAGES}/README.md"  # the bump adds the new folder's row
        assert repo.changed_in() == sorted([table, *(p for p in repo.git("ls-files").splitlines()
                                                     if p.startswith(f"{IMAGES}/{NEW}/"))])
        now = repo.snapshot()
        assert ({k: v for k, v in now.items() if f"/{NEW}" not in k and k != table}
                == {k: v for k, v in before.items() if k != table})
    assert repo.status() == "" and not staging(repo)
    assert_no_secret_in(case.tmp)
    assert CUDA in repo.folders()
