"""An index that is alive but never done (one byte a second, status line and headers
included) cannot hold bumper: every request has an overall deadline and uv a wall-clock
limit, so each command ends in one line and exit 3. And a mapped index that fails is
named by its public URL, also for the files it links to."""

from __future__ import annotations

import re
import time
from urllib.request import urlopen

import pytest

from bumper.index import IndexClient
from bumper.urls import IndexUrl
from localindex.server import IndexServer
from tests.bumprepo import CPU, CUDA, IMAGES, Repo, public_index

CPU_INDEX = public_index("cpu-ubi9")
CUDA_INDEX = public_index("cuda13.0-ubi9")
COMMANDS = {
    "missing": ("index", "missing", CPU),
    "versions": ("index", "versions", "starlette", "--image", CPU),
    "align": ("align", CUDA),
    "lock": ("lock", CPU),
}
SLOW = r"not done within 3 s \(too slow\) \(1 attempt; BUMPER_INDEX_TIMEOUT sets the limit\)"
EXPECT = {
    "missing": rf"{CPU_INDEX}[a-z0-9-]+/: {SLOW}",
    "versions": rf"{CPU_INDEX}starlette/: {SLOW}",
    # align resolves with uv: its timeout or the wall-clock limit, as for lock
    "align": rf"(uv could not resolve {IMAGES}/{CUDA}: .*(timed out|timeout).*|uv for "
             rf"{IMAGES}/{CUDA}: no lock within 8 s \(the index answers too slowly; "
             r"BUMPER_LOCK_TIMEOUT sets the limit\))",
    # uv's own timeout (UV_HTTP_TIMEOUT) or, failing that, the wall-clock limit
    "lock": rf"(uv could not lock {IMAGES}/{CPU}: .*(timed out|timeout).*|uv for {IMAGES}/{CPU}: "
            r"no lock within 8 s \(the index answers too slowly; BUMPER_LOCK_TIMEOUT sets the "
            r"limit\))",
}
BOUND = 40.0  # seconds; without the deadline the first command never ends


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_trickling_index_cannot_hold_a_command(faulty_repo: Repo, command: str) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.extra_env.update(BUMPER_INDEX_TIMEOUT="1", BUMPER_LOCK_TIMEOUT="8")
    before, head = repo.snapshot(), repo.head()
    repo.index.trickle(interval=0.5)  # every byte well within the 1 s read timeout

    start = time.monotonic()
    run = repo.bumper(*COMMANDS[command], timeout=90)
    elapsed = time.monotonic() - start

    assert elapsed < BOUND, f"{elapsed:.1f} s\n{run}"
    assert run.code == 3, str(run)
    assert run.out == "", str(run)
    assert run.err.count("\n") == 1, str(run)
    assert re.fullmatch(f"bumper: error: {EXPECT[command]}", run.err.rstrip("\n")), str(run)
    assert "127.0.0.1" not in run.err
    repo.assert_untouched(before, head)


def test_the_trickle_fault_sends_everything_slowly(index_server: IndexServer) -> None:
    import socket

    index_server.trickle(interval=0.05, times=1)
    host, port = index_server.base_url.removeprefix("http://").split(":")
    path = index_server.index_url("cpu-ubi9").split(port, 1)[1]
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        start = time.monotonic()
        got = b""
        while len(got) < 12:
            got += conn.recv(100)
        assert got == b"HTTP/1.1 200"  # the status line itself trickles
        assert time.monotonic() - start >= 0.5  # 11 waits of 0.05 s at least
    index_server.trickle(times=0)  # pages come at once again
    assert b"starlette" in urlopen(index_server.index_url("cpu-ubi9"), timeout=5).read()


def test_align_names_the_public_url_when_the_mapped_index_fails(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.fail(500, times=None, path=".metadata")  # pages work, metadata files fail
    run = repo.fails(3, "align", CUDA)
    line = run.err.rstrip("\n")
    # align resolves with uv: uv names the metadata file it could not fetch, by its public URL
    assert re.fullmatch(rf"bumper: error: uv could not resolve {IMAGES}/{CUDA}: .*"
                        rf"{CUDA_INDEX.removesuffix('simple/')}files/[^ ]+\.whl\.metadata "
                        r"\(HTTP status server error \(500 Internal Server Error\)\)",
                        line), str(run)
    assert "127.0.0.1" not in run.out + run.err


def test_every_url_under_a_mapped_prefix_is_shown_public(
        index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUMPER_INDEX_MAP", index_server.prefix_map)
    mirror = index_server.index_url("cpu-ubi9")
    with IndexClient(IndexUrl.parse(CPU_INDEX)) as client:
        assert client.public(mirror + "starlette/") == CPU_INDEX + "starlette/"
        sibling = mirror.removesuffix("simple/") + "files/x-1.0-py3-none-any.whl"
        assert client.public(sibling) == CPU_INDEX.removesuffix("simple/") + \
            "files/x-1.0-py3-none-any.whl"
