"""The local index: deterministic wheels, simple-API pages, switches and faults, real uv."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError

import pytest
import uv

from localindex import pages
from localindex.__main__ import main
from localindex.server import PUBLIC_PREFIX, IndexServer
from localindex.universe import UniverseError, load_universe
from localindex.wheels import UNIVERSE_PATH, build, load_manifest, universe_key
from tests.bumprepo import wait_for

CUDA = "cuda13.0-ubi9"
CPU = "cpu-ubi9"
ROCM = "rocm6.4-ubi9"
JSON = "application/vnd.pypi.simple.v1+json"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, final url), HTTP errors included."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read(), resp.url
    except HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read(), url


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def project_json(server: IndexServer, project: str, index: str = CUDA) -> dict:
    status, _, body, _ = fetch(f"{server.index_url(index)}{project}/", {"Accept": JSON})
    assert status == 200
    return json.loads(body)


def entry(built: Path, index: str, filename: str):
    return next(e for e in load_manifest(built)[index] if e.filename == filename)


# --- wheels ------------------------------------------------------------------------


def test_build_is_byte_identical_and_cached(tmp_path: Path) -> None:
    first = build(UNIVERSE_PATH, tmp_path / "a")
    second = build(UNIVERSE_PATH, tmp_path / "b")
    assert first.keys() == second.keys() == set(load_universe().indexes)
    for index, paths in first.items():
        assert [p.name for p in paths] == [p.name for p in second[index]]
        for a, b in zip(paths, second[index], strict=True):
            assert a.read_bytes() == b.read_bytes()
            assert Path(f"{a}.metadata").read_bytes() == Path(f"{b}.metadata").read_bytes()
    wheel = first[CUDA][0]
    mtime = wheel.stat().st_mtime_ns
    assert build(UNIVERSE_PATH, tmp_path / "a") == first
    assert wheel.stat().st_mtime_ns == mtime  # reused, not rebuilt (a state, not a time)


def test_changed_universe_rebuilds(tmp_path: Path) -> None:
    universe = tmp_path / "u.toml"
    universe.write_text(
        '[indexes]\n"a-ubi9" = ["cuda"]\n"b-ubi9" = ["cpu"]\n'
        '[[package]]\nname = "Foo.Bar"\nindexes = ["b-ubi9"]\n'
        '[package.versions]\n"1.0" = []\n'
    )
    out = tmp_path / "out"
    assert build(universe, out) == {
        "a-ubi9": [],
        "b-ubi9": [out / "b-ubi9/foo_bar-1.0-py3-none-any.whl"],
    }
    universe.write_text(universe.read_text().replace('"1.0"', '"2.0"'))
    assert build(universe, out)["b-ubi9"] == [out / "b-ubi9/foo_bar-2.0-py3-none-any.whl"]
    assert not (out / "b-ubi9/foo_bar-1.0-py3-none-any.whl").exists()


def test_universe_rejects_unknown_tag_and_duplicates(tmp_path: Path) -> None:
    bad = tmp_path / "u.toml"
    bad.write_text(
        '[indexes]\n"x" = ["cpu"]\n[[package]]\nname = "a"\nindexes = ["gpu"]\n'
        '[package.versions]\n"1" = []\n'
    )
    with pytest.raises(UniverseError, match="unknown index"):
        load_universe(bad)
    bad.write_text(
        '[indexes]\n"x" = ["cpu"]\n' + '[[package]]\nname = "a"\n[package.versions]\n"1" = []\n' * 2
    )
    with pytest.raises(UniverseError, match="twice"):
        load_universe(bad)


def test_universe_late_versions_and_selection() -> None:
    universe = load_universe()
    assert universe.late_versions("FileLock") == {"3.20.0"}
    names = {(r.name, r.version) for r in universe.releases(CPU)}
    assert ("numba", "0.62.1") in names
    assert not any(n in {"triton", "deepspeed"} for n, _ in names)
    late = {r.version for r in universe.releases(CUDA) if r.name == "numpy" and r.late}
    assert late == {"2.3.5"}


def test_training_hub_wheel_content(built_wheels: Path) -> None:
    wheel = built_wheels / CUDA / "training_hub-0.5.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr for i in infos} == {0o100644 << 16}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        files = {i.filename: zf.read(i) for i in infos}
    metadata = files["training_hub-0.5.0.dist-info/METADATA"].decode()
    assert metadata == Path(f"{wheel}.metadata").read_text()
    lines = metadata.splitlines()
    assert lines[:3] == ["Metadata-Version: 2.1", "Name: training-hub", "Version: 0.5.0"]
    assert "Requires-Dist: torch>=2.6.0" in lines
    assert 'Requires-Dist: peft>=0.15.0; extra == "lora"' in lines
    assert 'Requires-Dist: trl>=0.20.0; extra == "lora"' in lines
    assert sum(line.startswith("Requires-Dist:") for line in lines) == 9
    assert [line for line in lines if line.startswith("Provides-Extra")] == ["Provides-Extra: lora"]
    assert "Tag: py3-none-any" in files["training_hub-0.5.0.dist-info/WHEEL"].decode()
    record = files["training_hub-0.5.0.dist-info/RECORD"].decode().splitlines()
    assert record[-1] == "training_hub-0.5.0.dist-info/RECORD,,"
    for line in record[:-1]:
        path, digest, size = line.split(",")
        data = files[path]
        want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={want}", len(data))


def test_torch_metadata_differs_per_accelerator(built_wheels: Path) -> None:
    name = "torch-2.9.1-py3-none-any.whl"
    meta = {i: Path(built_wheels, i, f"{name}.metadata").read_text() for i in (CUDA, ROCM, CPU)}
    assert "Requires-Dist: triton==3.5.1" in meta[CUDA]
    assert "Requires-Dist: pytorch-triton-rocm==3.5.1" in meta[ROCM]
    assert "triton" not in meta[CPU]
    assert len({entry(built_wheels, i, name).sha256 for i in meta}) == 3


# --- pages -------------------------------------------------------------------------


def test_urls_and_prefix_map(index_server: IndexServer) -> None:
    base = index_server.base_url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    assert (
        index_server.index_url(CUDA) == f"{base}/api/pypi/public-rhai/rhoai/3.4-EA1/{CUDA}/simple/"
    )
    assert index_server.public_index_url(CPU, "3.3") == (
        f"{PUBLIC_PREFIX}api/pypi/public-rhai/rhoai/3.3/{CPU}/simple/"
    )
    assert index_server.prefix_map == f"https://packages.example.com/={base}/"
    with pytest.raises(ValueError, match="unknown index"):
        index_server.index_url("nope")


def test_html_listing(index_server: IndexServer, built_wheels: Path) -> None:
    status, headers, body, _ = fetch(index_server.index_url(CPU))
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    root = body.decode()
    assert '<a href="training-hub/">training-hub</a>' in root
    assert "triton" not in root
    status, _, body, _ = fetch(index_server.index_url(CUDA) + "training-hub/")
    page = body.decode()
    name = "training_hub-0.5.0-py3-none-any.whl"
    e = entry(built_wheels, CUDA, name)
    assert (
        f'<a href="../../files/{name}#sha256={e.sha256}"'
        f' data-dist-info-metadata="sha256={e.metadata_sha256}"'
        f' data-core-metadata="sha256={e.metadata_sha256}">{name}</a>'
    ) in page


def test_json_listing_and_pep658(index_server: IndexServer, built_wheels: Path) -> None:
    doc = project_json(index_server, "training-hub")
    assert doc["meta"] == {"api-version": "1.1"}
    assert doc["name"] == "training-hub"
    assert doc["versions"] == ["0.5.0", "0.6.0"]
    first = doc["files"][0]
    name = "training_hub-0.5.0-py3-none-any.whl"
    e = entry(built_wheels, CUDA, name)
    assert first == {
        "filename": name,
        "url": f"../../files/{name}",
        "hashes": {"sha256": e.sha256},
        "requires-python": None,
        "core-metadata": {"sha256": e.metadata_sha256},
        "dist-info-metadata": {"sha256": e.metadata_sha256},
        "yanked": False,
        "size": e.size,
    }
    page = f"{index_server.index_url(CUDA)}training-hub/"
    _, _, wheel, _ = fetch(urllib.parse.urljoin(page, first["url"]))
    assert hashlib.sha256(wheel).hexdigest() == e.sha256
    status, _, meta, _ = fetch(urllib.parse.urljoin(page, first["url"] + ".metadata"))
    assert status == 200
    assert hashlib.sha256(meta).hexdigest() == first["core-metadata"]["sha256"]
    assert b"Provides-Extra: lora" in meta


def test_json_by_query_param_and_root(index_server: IndexServer) -> None:
    url = index_server.index_url(CUDA)
    status, headers, body, _ = fetch(f"{url}torch/?format={JSON}")
    assert (status, headers["Content-Type"]) == (200, JSON)
    assert json.loads(body)["versions"] == ["2.9.1", "2.10.0"]
    _, headers, body, _ = fetch(url, {"Accept": "application/vnd.pypi.simple.latest+json"})
    assert headers["Content-Type"] == JSON
    assert {"name": "torch"} in json.loads(body)["projects"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        (f"{JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", JSON),
        (f"text/html, {JSON};q=0.5", "text/html"),
        (f"text/html;q=0.1, {JSON}", JSON),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        (f"{JSON};q=0, */*;q=0.1", "text/html"),
        ("application/*", "application/vnd.pypi.simple.v1+html"),
        ("image/png", None),
    ],
)
def test_negotiation(accept: str | None, expected: str | None) -> None:
    assert pages.negotiate(accept) == expected


def test_not_acceptable_and_head(index_server: IndexServer) -> None:
    url = index_server.index_url(CUDA) + "torch/"
    assert fetch(url, {"Accept": "image/png"})[0] == 406
    status, headers, body, _ = fetch(url, method="HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 0


def test_normalizes_names_and_rejects_unknown(
    index_server: IndexServer, built_wheels: Path
) -> None:
    url = index_server.index_url(CUDA)
    status, _, body, final = fetch(f"{url}Training_Hub")
    assert (status, final) == (200, f"{url}training-hub/")
    assert fetch(f"{url}Training.Hub/?format={JSON}")[3] == f"{url}training-hub/?format={JSON}"
    assert fetch(url.removesuffix("/"))[3] == url
    other = f"{index_server.base_url}/anything/else/9.9/{ROCM}/simple/torch/"
    status, _, body, _ = fetch(other)
    assert status == 200
    assert (
        f"#sha256={entry(built_wheels, ROCM, 'torch-2.9.1-py3-none-any.whl').sha256}"
        in body.decode()
    )
    assert fetch(f"{index_server.base_url}/x/nope-ubi9/simple/")[0] == 404
    assert fetch(f"{url}no-such-project/")[0] == 404
    assert fetch(f"{index_server.index_url(CPU)}triton/")[0] == 404
    assert fetch(f"{url.removesuffix('simple/')}files/../../etc/passwd")[0] == 404


# --- switches ------------------------------------------------------------------------


def test_auth(index_server: IndexServer) -> None:
    index_server.auth = ("alice", "s3cret")
    url = index_server.index_url(CUDA)
    status, headers, _, _ = fetch(url)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic")
    assert fetch(url, basic("alice", "wrong"))[0] == 401
    assert fetch(url, {"Authorization": "Basic !!!"})[0] == 401
    assert fetch(url, basic("alice", "s3cret"))[0] == 200
    assert [user for _, _, user in index_server.requests_log] == [None, "alice", None, "alice"]
    assert "s3cret" not in repr(index_server.requests_log)
    index_server.auth = None
    assert fetch(url)[0] == 200


def test_hide_and_hide_late(index_server: IndexServer) -> None:
    url = index_server.index_url(CUDA)
    assert project_json(index_server, "filelock")["versions"] == ["3.19.1", "3.20.0"]
    index_server.hide_late = True
    assert project_json(index_server, "filelock")["versions"] == ["3.19.1"]
    assert fetch(f"{url.removesuffix('simple/')}files/filelock-3.20.0-py3-none-any.whl")[0] == 404
    index_server.hide_late = False
    index_server.hide("Training_Hub", "0.6", index=CUDA)
    assert project_json(index_server, "training-hub")["versions"] == ["0.5.0"]
    assert project_json(index_server, "training-hub", CPU)["versions"] == ["0.5.0", "0.6.0"]
    index_server.hide("peft")
    assert b"peft" not in fetch(url)[2]
    assert fetch(f"{url}peft/")[0] == 404
    with pytest.raises(ValueError, match="unknown index"):
        index_server.hide("peft", index="nope")


def test_tamper_hash(index_server: IndexServer, built_wheels: Path) -> None:
    name = "numpy-2.2.6-py3-none-any.whl"
    real = entry(built_wheels, CUDA, name).sha256
    index_server.tamper_hash("numpy", "2.2.6", index=CUDA)
    files = {f["filename"]: f for f in project_json(index_server, "numpy")["files"]}
    assert files[name]["hashes"]["sha256"] != real
    assert (
        files["numpy-2.3.4-py3-none-any.whl"]["hashes"]["sha256"] != files[name]["hashes"]["sha256"]
    )
    html = fetch(index_server.index_url(CUDA) + "numpy/")[2].decode()
    assert f"{name}#sha256={real}" not in html
    assert {f["hashes"]["sha256"] for f in project_json(index_server, "numpy", CPU)["files"]} >= {
        entry(built_wheels, CPU, name).sha256
    }
    wheel = fetch(f"{index_server.base_url}/p/{CUDA}/files/{name}")[2]
    assert hashlib.sha256(wheel).hexdigest() == real


def test_fail_drop_not_found_delay(index_server: IndexServer) -> None:
    url = index_server.index_url(CUDA)
    index_server.fail(503, times=2)
    assert [fetch(url)[0] for _ in range(3)] == [503, 503, 200]
    index_server.fail(times=None)
    assert [fetch(url)[0] for _ in range(3)] == [500, 500, 500]
    index_server.reset_faults()
    index_server.drop()
    with pytest.raises((OSError, http.client.HTTPException)):
        fetch(url)
    assert fetch(url)[0] == 200
    index_server.not_found("torch")
    assert fetch(f"{url}torch/")[0] == 404
    assert b'href="torch/"' in fetch(url)[2]
    index_server.delay = 0.2
    start = time.perf_counter()
    assert fetch(url)[0] == 200
    assert time.perf_counter() - start >= 0.2
    index_server.reset_faults()
    assert fetch(f"{url}torch/")[0] == 200


def test_hold_keeps_requests_waiting_until_released(index_server: IndexServer) -> None:
    url = index_server.index_url(CUDA)
    index_server.hold()
    with ThreadPoolExecutor(2) as pool:
        pending = [pool.submit(fetch, url) for _ in range(2)]
        wait_for(lambda: index_server.held == 2, what="both requests to wait at the gate")
        assert not any(f.done() for f in pending)
        index_server.release()
        assert [f.result(timeout=30)[0] for f in pending] == [200, 200]
    assert index_server.held == 0
    assert fetch(url)[0] == 200  # released: no more waiting


def test_fail_countdown_is_thread_safe(index_server: IndexServer) -> None:
    index_server.fail(502, times=5)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: fetch(index_server.index_url(CPU))[0], range(24)))
    assert sorted(codes) == [200] * 19 + [502] * 5


# --- real uv --------------------------------------------------------------------------


def uv_compile(tmp_path: Path, index_url: str, requirements: str) -> str:
    (tmp_path / "requirements.in").write_text(requirements)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env |= {
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    cmd = [
        uv.find_uv_bin(),
        "pip",
        "compile",
        "--no-config",
        "--generate-hashes",
        "--python-platform=linux",
        "--python-version=3.12",
        f"--index-url={index_url}",
        str(tmp_path / "requirements.in"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_uv_compiles_training_hub_against_cuda(
    index_server: IndexServer, built_wheels: Path, tmp_path: Path
) -> None:
    out = uv_compile(
        tmp_path, index_server.index_url(CUDA), "training_hub[lora]==0.5.0\ntorch==2.9.1\n"
    )
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", out, re.M))
    assert pins["training-hub"] == "0.5.0"
    assert pins["torch"] == "2.9.1"
    assert pins["triton"] == "3.5.1"
    assert {"peft", "trl", "transformers", "datasets"} <= pins.keys()
    torch = entry(built_wheels, CUDA, "torch-2.9.1-py3-none-any.whl")
    assert f"--hash=sha256:{torch.sha256}" in out
    assert any(p.endswith(".metadata") for _, p, _ in index_server.requests_log)


def test_uv_cpu_torch_has_no_triton(index_server: IndexServer, tmp_path: Path) -> None:
    out = uv_compile(tmp_path, index_server.index_url(CPU), "torch==2.9.1\n")
    assert "torch==2.9.1" in out
    assert "triton" not in out


# --- command line ---------------------------------------------------------------------


def test_cli_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(tmp_path / "w")]) == 0
    assert "wheels in" in capsys.readouterr().out
    assert (tmp_path / "w" / CUDA / "torch-2.9.1-py3-none-any.whl").is_file()
    assert len(universe_key()) == 64
