"""A bump that fails or is interrupted leaves the repository exactly as it was: same bytes,
same index, same HEAD, no new folder, no staging folder left behind. Real uv, a real local
index with its fault switches, real signals."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.bumprepo import CUDA, IMAGES, Repo, uv_compile_of, wait_for

NEW_CUDA = "th05-cuda128-torch291-py312"


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("bumper: ")]
    assert len(lines) == 1, err
    return lines[0]


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def no_uv_left(proc_pid: int, uv_pids: list[int]) -> None:
    """The uv processes bumper started are gone (not orphaned, still compiling)."""
    def gone() -> bool:
        return not any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in uv_pids)

    wait_for(gone, timeout=10, what=f"uv children of {proc_pid} to exit")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def uv_waiting_on_the_index(repo: Repo, proc: subprocess.Popen[str]) -> list[int]:
    """Hold the index and wait until uv is running and one of its requests waits there: the
    lock cannot finish before the test lets it, so a signal sent now lands mid-lock."""
    assert repo.index is not None
    index = repo.index
    return wait_for(lambda: index.held and uv_compile_of(proc),  # type: ignore[return-value]
                    what="uv pip compile to wait on the index")


# --- the lock fails ---------------------------------------------------------------------------


def test_a_package_missing_from_the_new_index_changes_nothing(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hide("safetensors", index="cuda12.8-ubi9")
    before, head = repo.snapshot(), repo.head()

    run = repo.bumper("major", "--cuda", "12.8", "--yes")

    assert run.code == 3, str(run)
    line = one_error_line(run.err)
    assert "safetensors" in line and NEW_CUDA in line
    assert repo.index.prefix_map.split("=", 1)[1] not in line  # the public URL, not the mapped
    repo.assert_untouched(before, head)


def test_an_index_answering_500_changes_nothing(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.fail(500, times=None)
    repo.extra_env["UV_HTTP_RETRIES"] = "1"  # uv's own backoff would only make this slow
    before, head = repo.snapshot(), repo.head()

    run = repo.bumper("major", "--cuda", "12.8", "--yes")

    assert run.code == 3, str(run)
    line = one_error_line(run.err)
    assert "500" in line
    repo.assert_untouched(before, head)


def test_a_transitive_set_against_a_failing_index_changes_nothing(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.fail(503, times=None)
    before, head = repo.snapshot(), repo.head()
    run = repo.bumper("minor", CUDA, "--set", "starlette~=1.3.1", "--yes")
    assert run.code == 3, str(run)
    assert "503" in one_error_line(run.err)
    repo.assert_untouched(before, head)


def test_uv_killed_during_the_lock_changes_nothing(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hold()
    before, head = repo.snapshot(), repo.head()

    proc = repo.start("major", "--cuda", "12.8", "--yes")
    try:
        uv = uv_waiting_on_the_index(repo, proc)
        os.kill(uv[0], signal.SIGKILL)
        code, _, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        repo.index.release()
    assert code == 3, err
    line = one_error_line(err)
    assert NEW_CUDA in line and "uv" in line
    repo.assert_untouched(before, head)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupt_during_the_lock_changes_nothing(faulty_repo: Repo, sig: int) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hold()
    before, head = repo.snapshot(), repo.head()

    proc = repo.start("major", "--cuda", "12.8", "--yes")
    try:
        uv = uv_waiting_on_the_index(repo, proc)
        staging = [n for n in repo.folders() if n.startswith(".bumper-staging-")]
        assert staging, "the lock runs in a staging folder"
        proc.send_signal(sig)
        code, _, err = finish(proc)  # uv waits at the gate: bumper must stop it, not wait
    finally:
        if proc.poll() is None:
            proc.kill()
        repo.index.release()
    assert code == 130, err
    assert one_error_line(err) == "bumper: interrupted"
    no_uv_left(proc.pid, uv)
    repo.assert_untouched(before, head)


def test_interrupt_while_several_folders_lock_changes_nothing(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hold()
    before, head = repo.snapshot(), repo.head()
    proc = repo.start("major", "--torch", "2.10.0", "--yes")
    try:
        uv = uv_waiting_on_the_index(repo, proc)
        proc.send_signal(signal.SIGINT)
        code, _, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        repo.index.release()
    assert code == 130, err
    assert one_error_line(err) == "bumper: interrupted"
    no_uv_left(proc.pid, uv)
    repo.assert_untouched(before, head)


# --- after the lock ---------------------------------------------------------------------------


def test_a_failing_commit_puts_everything_back(repo: Repo) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    before, head = repo.snapshot(), repo.head()

    run = repo.bumper("major", "--cuda", "12.8", "--no-lock", "--retire", "--yes")

    assert run.code == 3, str(run)
    assert "git commit failed" in one_error_line(run.err)
    repo.assert_untouched(before, head)  # the retired folder is back, the index is clean
    assert CUDA in repo.folders() and NEW_CUDA not in repo.folders()


def test_a_failing_in_place_commit_restores_the_folder(repo: Repo) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    before, head = repo.snapshot(), repo.head()
    run = repo.bumper("minor", CUDA, "--base-image", ":2026a", "--yes")
    assert run.code == 3, str(run)
    one_error_line(run.err)
    repo.assert_untouched(before, head)


def test_a_result_the_check_refuses_changes_nothing(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    # a ROCm base image for a CUDA folder: the bump itself would introduce the problem
    run = repo.bumper("major", "--cuda", "12.8", "--no-lock", "--yes", "--base-image",
                      "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-rocm-py312"
                      "-ubi9:2026a")
    assert run.code == 2, str(run)
    line = one_error_line(run.err)
    assert "the bump would introduce" in line and "rocm" in line
    repo.assert_untouched(before, head)


def test_outside_a_git_repository_a_commit_is_refused(repo: Repo) -> None:
    import shutil

    shutil.rmtree(repo.root / ".git")
    before = repo.snapshot()
    run = repo.bumper("major", "--cuda", "12.8", "--no-lock", "--yes")
    assert run.code == 2, str(run)
    assert "not a git repository" in one_error_line(run.err)
    assert repo.snapshot() == before
    run = repo.bumper("major", "--cuda", "12.8", "--no-lock", "--no-commit")
    assert run.code == 0, str(run)
    assert NEW_CUDA in repo.folders()
    assert f"{IMAGES}" in run.err + run.out
