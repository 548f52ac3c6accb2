"""Fault modes of the index for `index versions`, `index missing` and `lock`: each ends in
success, or in one clear line on stderr and exit 3, within a bounded time, and a failure
leaves the tree as it was."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from localindex.server import IndexServer
from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, Repo, public_index

CPU_INDEX = public_index("cpu-ubi9")
TIMEOUT = "1"  # BUMPER_INDEX_TIMEOUT for every test here: requests give up after 1 s
COMMANDS = {
    "versions": ("index", "versions", "starlette", "--image", CPU),
    "missing": ("index", "missing", CPU),
    "lock": ("lock", CPU),
}
# Wall-clock bounds per command, generous for a loaded machine; a hang would blow them.
BOUND = {"versions": 10.0, "missing": 10.0, "lock": 40.0}
OK_OUTPUT = {
    "versions": (f"starlette on {CPU_INDEX}: 2 versions\n  1.3.1\n  1.2.0\n", ""),
    "missing": ("", "all 67 pins of 1 lock are on their index\n"),
    "lock": (f"{IMAGES}/{CPU}/requirements.txt: unchanged\n", ""),
}


@dataclass(frozen=True)
class Fault:
    arm: Callable[[IndexServer], None]
    # per command: None = ends in success; else the exit code and a pattern for the one line
    expect: dict[str, tuple[int, str] | None]


def _slow(server: IndexServer) -> None:
    server.delay = 1.5


def _auth(server: IndexServer) -> None:
    server.auth = ("user", "S3CRET")


UV_FAILED = rf"uv could not lock {IMAGES}/{CPU}: "
FAULTS = {
    "slow": Fault(_slow, {
        "versions": (3, rf"{CPU_INDEX}starlette/: no answer within 1 s \(ReadTimeout\) "
                        r"\(2 attempts; BUMPER_INDEX_TIMEOUT sets the limit\)"),
        "missing": (3, rf"{CPU_INDEX}[a-z0-9-]+/: no answer within 1 s \(ReadTimeout\) "
                       r"\(2 attempts; BUMPER_INDEX_TIMEOUT sets the limit\)"),
        "lock": (3, UV_FAILED + rf"Request failed after \d+ retries in [0-9.]+s: Failed to "
                                rf"fetch: {CPU_INDEX}[a-z0-9-]+/ \(operation timed out\)")}),
    "500-twice": Fault(lambda s: s.fail(500, times=2),
                       {"versions": None, "missing": None, "lock": None}),
    "500-forever": Fault(lambda s: s.fail(500, times=None), {
        "versions": (3, rf"{CPU_INDEX}starlette/: HTTP 500 \(4 attempts\)"),
        "missing": (3, rf"{CPU_INDEX}[a-z0-9-]+/: HTTP 500 \(4 attempts\)"),
        "lock": (3, UV_FAILED + rf"Request failed after \d+ retries in [0-9.]+s: Failed to "
                                rf"fetch: {CPU_INDEX}[a-z0-9-]+/ \(HTTP status server error "
                                r"\(500 Internal Server Error\)\)")}),
    "404": Fault(lambda s: s.not_found("starlette"), {
        "versions": None,  # the index lacks the project: a plain answer (below)
        "missing": None,  # the pin goes on the request list (below)
        "lock": (3, UV_FAILED + r"No solution found when resolving dependencies: Because "
                                r"starlette was not found in the package registry and .*, we "
                                r"can conclude that your requirements are unsatisfiable\.")}),
    "drop-once": Fault(lambda s: s.drop(times=1),
                       {"versions": None, "missing": None, "lock": None}),
    "drop-forever": Fault(lambda s: s.drop(times=None), {
        "versions": (3, rf"{CPU_INDEX}starlette/: connection failed \(RemoteProtocolError\) "
                        r"\(4 attempts\)"),
        "missing": (3, rf"{CPU_INDEX}[a-z0-9-]+/: connection failed \(RemoteProtocolError\) "
                       r"\(4 attempts\)"),
        "lock": (3, UV_FAILED + rf"Request failed after \d+ retries in [0-9.]+s: Failed to "
                                rf"fetch: {CPU_INDEX}[a-z0-9-]+/ \(.+\)")}),
    "401": Fault(_auth, {
        "versions": (3, rf"{CPU_INDEX}starlette/: HTTP 401: access denied \(check the index "
                        r"credentials\)"),
        "missing": (3, rf"{CPU_INDEX}[a-z0-9-]+/: HTTP 401: access denied \(check the index "
                       r"credentials\)"),
        "lock": (3, UV_FAILED + rf"An index URL \({CPU_INDEX}\) could not be queried due to a "
                                r"lack of valid authentication credentials \(401 Unauthorized\)")}),
}
# What the 404 of starlette's page means where it is not an error.
NOT_FOUND_OUTPUT = {
    "versions": (0, f"starlette on {CPU_INDEX}: no versions\n", ""),
    "missing": (1, f"Please add to {CPU_INDEX}:\n"
                   f"  starlette==1.2.0    # not on the index ({IMAGES}/{CPU})\n", ""),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault(faulty_repo: Repo, fault: str, command: str) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.extra_env["BUMPER_INDEX_TIMEOUT"] = TIMEOUT
    before, head = repo.snapshot(), repo.head()
    FAULTS[fault].arm(repo.index)

    start = time.monotonic()
    run = repo.bumper(*COMMANDS[command], timeout=120)
    elapsed = time.monotonic() - start

    assert elapsed < BOUND[command], f"{elapsed:.1f} s\n{run}"
    assert "Traceback" not in run.out + run.err, str(run)
    expect = FAULTS[fault].expect[command]
    if expect is None:
        code, out, err = NOT_FOUND_OUTPUT.get(command, (0, *OK_OUTPUT[command])) \
            if fault == "404" else (0, *OK_OUTPUT[command])
        assert (run.code, run.out, run.err) == (code, out, err), str(run)
    else:
        code, pattern = expect
        assert run.code == code, str(run)
        assert run.out == "", str(run)
        assert run.err.count("\n") == 1, str(run)  # one line
        line = run.err.rstrip("\n")
        assert re.fullmatch(f"bumper: error: {pattern}", line), str(run)
        assert "127.0.0.1" not in line  # the public URL, never the mapped one
        assert "S3CRET" not in line
    repo.assert_untouched(before, head)  # failure or not, nothing written


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_wrong_index_url_is_named(repo: Repo, command: str) -> None:
    wrong = CPU_INDEX.replace("cpu-ubi9", "cpu-ubi8")
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace(f'index-url = "{CPU_INDEX}"',
                                                   f'index-url = "{wrong}"'))
    before = repo.snapshot()
    run = repo.fails(3, *COMMANDS[command])
    prefix = f"uv could not lock {IMAGES}/{CPU}: " if command == "lock" else ""
    assert run.err == (f"bumper: error: {prefix}{wrong}: HTTP 404: no such index "
                       "(check the index URL)\n")
    assert repo.snapshot() == before


def test_one_failing_folder_leaves_every_lock_as_it_was(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hide("triton")  # only the cuda folder needs it
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(3, "lock", "--upgrade")  # would change every lock if it got through
    assert f"uv could not lock {IMAGES}/{CUDA}: " in run.err
    assert "triton" in run.err
    repo.assert_untouched(before, head)
    assert {ROCM, CPU} <= set(repo.folders())
