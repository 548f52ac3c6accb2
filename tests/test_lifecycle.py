"""Process life cycle, one test per way it broke: signals in every command and from the
first import, uv outliving bumper, credentials on disk, what a SIGKILL leaves, the report
after the commit, a detached HEAD, two bumps at once. Real signals, real uv, the loopback
index holding requests to keep uv busy (no sleeps)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bumprepo import CPU, CUDA, IMAGES, Repo, uv_compile_of, wait_for
from tests.test_interrupt_battery import PASSWORD, USER, assert_no_secret_in, staging, uv_under


def with_password(repo: Repo, tmp_path: Path) -> Path:
    """The index asks for a password, given in the environment; bumper's $TMPDIR is private."""
    assert repo.index is not None
    repo.index.auth = (USER, PASSWORD)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    repo.extra_env.update(BUMPER_INDEX_USERNAME=USER, BUMPER_INDEX_PASSWORD=PASSWORD,
                          TMPDIR=str(tmp))
    return tmp


def uv_busy(repo: Repo, proc: subprocess.Popen[str]) -> list[int]:
    index = repo.index
    assert index is not None
    index.hold()
    return wait_for(lambda: index.held and uv_compile_of(proc),  # type: ignore[return-value]
                    what="uv to wait on the index")


# --- 1, 13: SIGTERM / SIGKILL of `bumper lock` mid-lock --------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_mid_lock_leaves_no_uv_and_no_credential(faulty_repo: Repo, tmp_path: Path,
                                                          sig: int) -> None:
    repo = faulty_repo
    tmp = with_password(repo, tmp_path)
    before = repo.snapshot()
    proc = repo.start("lock", CPU, "--upgrade")
    try:
        uv_busy(repo, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        # the index still holds uv's requests: uv cannot end on its own
        wait_for(lambda: not uv_under(repo.root), timeout=30, what="uv to die with bumper")
    finally:
        assert repo.index is not None
        repo.index.release()
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert err.strip().splitlines() == ["bumper: interrupted"]
    assert_no_secret_in(tmp)
    assert repo.snapshot() == before


# --- 5: a signal during the first imports ----------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_click_is_imported_is_no_traceback(repo: Repo, tmp_path: Path,
                                                          sig: int) -> None:
    # an audit hook sends the signal the moment `import click` starts: the real import,
    # interrupted at a known point instead of a guessed number of milliseconds
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\n"
        "def hook(event, args):\n"
        "    if event == 'import' and args[0] == 'click' and not hasattr(sys, '_sent'):\n"
        "        sys._sent = True\n"
        f"        os.kill(os.getpid(), {int(sig)})\n"
        "sys.addaudithook(hook)\n", encoding="utf-8")
    env = dict(repo._env(), PYTHONPATH=f"{site}{os.pathsep}{Path(__file__).parent.parent}")
    done = subprocess.run([sys.executable, "-m", "bumper", "check"], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "bumper: interrupted\n"


# --- 3: SIGKILL leaves staging: git never sees it, the next run clears it ---------------------


def test_staging_a_killed_bump_leaves_is_ignored_by_git_and_cleared(faulty_repo: Repo,
                                                                   tmp_path: Path) -> None:
    repo = faulty_repo
    with_password(repo, tmp_path)
    head = repo.head()
    proc = repo.start("major", "--cuda", "12.8", "--yes")
    try:
        uv_busy(repo, proc)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        assert repo.index is not None
        repo.index.release()
    left = staging(repo)
    assert left
    assert repo.status() == ""  # git does not show it
    run = repo.ok("minor", CUDA, "--base-image", ":2026b", "--no-lock", "--yes")
    assert f"note: {IMAGES}/{left[0]}: left by a bumper (pid {proc.pid}) that was killed; it " \
           "had changed nothing" in run.err
    assert not staging(repo) and repo.status() == "" and repo.commits() == 2
    assert repo.git("rev-parse", "HEAD~1").strip() == head


# --- 4: Ctrl-C once the commit is made, before the report is out -----------------------------


def test_an_interrupt_after_the_commit_still_reports_it(repo: Repo) -> None:
    """The report blocks on a full stdout pipe after the commit: the state where today's
    main said "interrupted" though HEAD had moved."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_end, b"x" * 4096)
    os.set_blocking(write_end, True)
    head = repo.head()
    proc = subprocess.Popen(repo.command("--format", "json", "minor", CUDA, "--base-image",
                                         ":2026b", "--no-lock", "--yes"),
                            cwd=repo.root, env=repo._env(), stdout=write_end,
                            stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    try:
        wait_for(lambda: repo.head() != head, timeout=120, what="the commit")
        proc.send_signal(signal.SIGINT)
        with os.fdopen(read_end, "rb") as pipe:
            out = pipe.read().lstrip(b"x")
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["commit"] == repo.head()
    assert "warning: interrupt received" in err


# --- 9: a detached HEAD ---------------------------------------------------------------------


def test_a_bump_on_a_detached_head_says_the_commit_is_on_no_branch(repo: Repo) -> None:
    repo.git("checkout", "-q", "--detach")
    run = repo.ok("minor", CUDA, "--base-image", ":2026b", "--no-lock", "--yes")
    assert "warning: HEAD is detached: the commit will be on no branch (keep it with git " \
           "switch -c NAME afterwards)" in run.err
    assert repo.commits() == 2


# --- 10: two bumps at once -------------------------------------------------------------------


@contextlib.contextmanager
def relock_in_flight(repo: Repo) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`minor CUDA --upgrade` held while uv waits on the index; on leaving, the index lets
    it go and the list gets its stderr once it has ended."""
    proc = repo.start("minor", CUDA, "--upgrade", "--yes")
    result: list[str] = []
    try:
        uv_busy(repo, proc)
        yield proc, result
        assert repo.index is not None
        repo.index.release()
        result.append(proc.communicate(timeout=120)[1])
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_second_bump_waits_for_the_first_then_gives_up(faulty_repo: Repo) -> None:
    repo = faulty_repo
    with relock_in_flight(repo) as (proc, result):
        repo.extra_env["BUMPER_LOCK_WAIT"] = "0"
        run = repo.fails(2, "minor", CUDA, "--base-image", ":2026b", "--no-lock", "--yes")
        assert f"another bumper (pid {proc.pid}) is changing this repository" in run.err
    err = result[0]
    assert proc.returncode == 0, err
    assert ":2026b" not in repo.read(CUDA, "Dockerfile") and repo.status() == ""


def test_a_change_made_while_the_bump_locks_is_not_lost(faulty_repo: Repo) -> None:
    repo = faulty_repo
    head = repo.head()
    with relock_in_flight(repo) as (proc, result):
        edited = repo.read(CUDA, "Dockerfile") + "# a change made meanwhile\n"
        repo.write(CUDA, "Dockerfile", edited)  # an editor, or a bump that took no lock
    err = result[0]
    assert proc.returncode == 2, err
    assert f"bumper: error: {IMAGES}/{CUDA}: changed while the bump ran" in err
    assert repo.read(CUDA, "Dockerfile") == edited and repo.head() == head
    assert not staging(repo)


def test_a_second_bump_waits_for_the_repo_lock_then_plans(repo: Repo) -> None:
    lock = repo.root / ".git" / "bumper.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another bump holds the repository
    try:
        proc = repo.start("major", "--cuda", "12.8", "--no-lock", "--yes")
        wait_for(lambda: any(Path(f"/proc/{proc.pid}/fd/{n}").resolve() == lock
                             for n in os.listdir(f"/proc/{proc.pid}/fd")),
                 what="the bump to wait for the repo lock")
        assert repo.commits() == 1
    finally:
        os.close(fd)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # it waited, then planned on what was there
    assert "waiting for another bumper in this repository..." in err
    assert repo.commits() == 2


def test_a_plan_whose_files_changed_before_it_is_applied_is_refused(repo: Repo) -> None:
    """The plan was made from one text and the file holds another when the bump copies it
    (a plan kept open, as the interactive flow does): refused, not mixed."""
    from bumper import config as configuration
    from bumper.apply import apply
    from bumper.errors import UsageError
    from bumper.minor import MinorRequest, plan_minor

    config = configuration.load(repo.root)
    plan = plan_minor(config, MinorRequest(dirs=(CUDA,), base_image=":2026b"))
    repo.write(CUDA, "pyproject.toml", repo.read(CUDA, "pyproject.toml") + "# meanwhile\n")
    repo.commit_all("a change after the plan")
    before, head = repo.snapshot(), repo.head()
    with pytest.raises(UsageError, match=r"pyproject.toml: changed since the plan was made"):
        apply(plan, config, lock=False, commit=True)
    repo.assert_untouched(before, head)
