"""`bumper index versions` and `bumper index missing` against the local index (PEP 691 JSON),
and against a static PEP 503 index served by http.server (HTML only, ignores Accept)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localindex import pages
from localindex.wheels import load_manifest
from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, Repo, lock_pins, public_index

CPU_INDEX = public_index("cpu-ubi9")
CUDA_INDEX = public_index("cuda13.0-ubi9")
ROCM_INDEX = public_index("rocm6.4-ubi9")


# --- index versions -----------------------------------------------------------------------------


def test_versions_on_the_index_of_an_image_newest_first_marking_the_spec(repo: Repo) -> None:
    run = repo.ok("index", "versions", "starlette", "--image", CPU, "--spec", "~=1.3.1")
    assert run.out == (f"starlette on {CPU_INDEX}: 2 versions\n"
                       "  1.3.1  * matches ~=1.3.1\n"
                       "  1.2.0\n")
    assert run.err == ""


def test_versions_on_every_folder_index(repo: Repo) -> None:
    run = repo.ok("index", "versions", "Starlette", "--spec", "starlette>=1.2,<1.3")
    assert run.out == "".join(f"Starlette on {url}: 2 versions\n"
                              "  1.3.1\n"
                              "  1.2.0  * matches starlette>=1.2,<1.3\n"
                              for url in (CPU_INDEX, CUDA_INDEX, ROCM_INDEX))


def test_versions_json(repo: Repo) -> None:
    data = repo.ok("index", "versions", "numpy", "--image", CUDA, "--spec", "<2.3",
                   "--format", "json").json()
    assert data == {
        "schema": 1, "command": "index versions", "package": "numpy", "spec": "<2.3",
        "indexes": [{"index": CUDA_INDEX,
                     "versions": [{"version": "2.3.5", "matches": False},
                                  {"version": "2.3.4", "matches": False},
                                  {"version": "2.2.6", "matches": True}]}]}


def test_versions_by_index_url_and_usage_errors(repo: Repo) -> None:
    assert repo.index is not None
    local = repo.index.index_url("rocm6.4-ubi9")
    run = repo.ok("index", "versions", "pytorch-triton-rocm", "--index-url", local)
    assert run.out == (f"pytorch-triton-rocm on {local}: 2 versions\n"
                       "  3.6.0\n"
                       "  3.5.1\n")
    # the public URL goes through BUMPER_INDEX_MAP, and is what is shown
    run = repo.ok("index", "versions", "triton", "--index-url", CUDA_INDEX)
    assert run.out == f"triton on {CUDA_INDEX}: 2 versions\n  3.6.0\n  3.5.1\n"

    both = repo.fails(2, "index", "versions", "triton", "--image", CUDA, "--index-url", local)
    assert both.err == "bumper: error: pass --image DIR or --index-url URL, not both\n"
    bad = repo.fails(2, "index", "versions", "triton", "--image", CUDA, "--spec", "latest")
    assert bad.err == "bumper: error: --spec latest: not a version specifier such as ~=1.3.1\n"


def test_versions_of_what_the_index_lacks(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hide_late = True
    run = repo.ok("index", "versions", "starlette", "--image", CPU, "--spec", "~=1.3.1")
    assert run.out == f"starlette on {CPU_INDEX}: 1 version\n  1.2.0\n"
    run = repo.ok("index", "versions", "triton", "--image", CPU)
    assert run.out == f"triton on {CPU_INDEX}: no versions\n"


# --- index missing ------------------------------------------------------------------------------


def test_missing_finds_every_pin_of_the_examples(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    run = repo.ok("index", "missing")
    pins = [lock_pins(repo.read(name, "requirements.txt")) for name in (CPU, CUDA, ROCM)]
    total = sum(map(len, pins))
    assert run.out == ""
    assert run.err == f"all {total} pins of 3 locks are on their index\n"
    # one listing per project and index, nothing else
    assert len(repo.index.requests_log) == total
    assert all(method == "GET" for method, _, _ in repo.index.requests_log)


def test_missing_lists_a_deleted_pin_and_a_changed_hash_as_a_request(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hide("numpy", "2.3.4", index="cpu-ubi9")  # one version gone from one index
    repo.index.hide("xxhash")  # a whole project gone from every index
    repo.index.tamper_hash("pyyaml", "6.0.3", index="cuda13.0-ubi9")  # another file listed
    before, head = repo.snapshot(), repo.head()

    run = repo.bumper("index", "missing")
    assert run.code == 1, str(run)
    cpu, cuda, rocm = (f"{IMAGES}/{name}" for name in (CPU, CUDA, ROCM))
    assert run.out == (
        f"Please add to {CPU_INDEX}:\n"
        f"  numpy==2.3.4    # this version is not on the index ({cpu})\n"
        f"  xxhash==3.6.0    # not on the index ({cpu})\n"
        f"Please add to {CUDA_INDEX}:\n"
        f"  pyyaml==6.0.3    # the index lists other files (none matches the lock's hash) "
        f"({cuda})\n"
        f"  xxhash==3.6.0    # not on the index ({cuda})\n"
        f"Please add to {ROCM_INDEX}:\n"
        f"  xxhash==3.6.0    # not on the index ({rocm})\n")
    assert run.err == ""
    repo.assert_untouched(before, head)

    data = repo.bumper("index", "missing", CPU, "--format", "json").json()
    assert data == {"schema": 1, "command": "index missing", "ok": False, "folders": [cpu],
                    "missing": [
                        {"index": CPU_INDEX, "name": "numpy", "version": "2.3.4",
                         "reason": "this version is not on the index", "folder": cpu},
                        {"index": CPU_INDEX, "name": "xxhash", "version": "3.6.0",
                         "reason": "not on the index", "folder": cpu}]}


def test_missing_with_a_wrong_index_url_is_one_error_not_a_list(repo: Repo) -> None:
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace('index-url = "' + CPU_INDEX,
                                                   'index-url = "' + CPU_INDEX.replace(
                                                       "cpu-ubi9", "cpu-ubi8")))
    run = repo.fails(3, "index", "missing", CPU)
    assert run.err == (f"bumper: error: {CPU_INDEX.replace('cpu-ubi9', 'cpu-ubi8')}: HTTP 404: "
                       "no such index (check the index URL)\n")
    assert run.out == ""


def test_missing_without_a_lock(repo: Repo) -> None:
    (repo.folder(CPU) / "requirements.txt").unlink()
    run = repo.fails(2, "index", "missing", CPU)
    assert run.err == (f"bumper: error: {IMAGES}/{CPU}/requirements.txt: missing "
                       f"(run: bumper lock {IMAGES}/{CPU})\n")


# --- a static PEP 503 index (HTML only) ---------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    paths: list[str]

    def log_message(self, format: str, *args: object) -> None:
        self.paths.append(self.path)


@pytest.fixture
def static_index(tmp_path: Path, built_wheels: Path) -> Iterator[tuple[str, list[str]]]:
    """The cpu-ubi9 index as plain files behind http.server: HTML pages, Accept ignored."""
    root = tmp_path / "static"
    entries = load_manifest(built_wheels)["cpu-ubi9"]
    projects = sorted({e.project for e in entries})
    (root / "files").mkdir(parents=True)
    for project in projects:
        listed = [pages.Listed(e.filename, e.version, e.sha256, e.metadata_sha256, e.size)
                  for e in entries if e.project == project]
        (root / "simple" / project).mkdir(parents=True)
        (root / "simple" / project / "index.html").write_bytes(
            pages.project_page(pages.TEXT_HTML, project, listed))
    (root / "simple" / "index.html").write_bytes(pages.root_page(pages.TEXT_HTML, projects))
    for entry in entries:
        for name in (entry.filename, f"{entry.filename}.metadata"):
            (root / "files" / name).write_bytes((built_wheels / "cpu-ubi9" / name).read_bytes())
    paths: list[str] = []
    handler = type("Handler", (_Quiet,), {"paths": paths})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_html_only_index(repo: Repo, static_index: tuple[str, list[str]]) -> None:
    url, paths = static_index
    run = repo.ok("index", "versions", "starlette", "--index-url", url, "--spec", "~=1.3.1")
    assert run.out == f"starlette on {url}: 2 versions\n  1.3.1  * matches ~=1.3.1\n  1.2.0\n"
    # JSON asked by Accept, then once by query parameter: both answered with HTML
    assert paths == ["/simple/starlette/",
                     "/simple/starlette/?format=application/vnd.pypi.simple.v1%2Bjson"]

    # every pin of the cpu lock, with its hash, found in the HTML listings
    paths.clear()
    repo.extra_env["BUMPER_INDEX_MAP"] = f"{CPU_INDEX}={url}"
    pins = len(lock_pins(repo.read(CPU, "requirements.txt")))
    run = repo.ok("index", "missing", CPU)
    assert run.err == f"all {pins} pins of 1 lock are on their index\n"
    assert len(paths) == pins + 1  # the query form is tried once, then no more
