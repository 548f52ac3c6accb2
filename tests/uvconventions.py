"""Image folders that follow the uv conventions real repos moved to (issue 11), for the tests.

Each is one CPU folder ``th05-cpu-torch291-py312`` in a repo of its own, against the
``cpu-ubi9-uvconv`` index of the local universe (which has newer versions than the folders'
constraints allow) and, for some, the second ``ga-ubi9`` index:

- ``constraints``: an unhashed lock with the ``--index-url=`` first line; CVE fixes in
  ``[tool.uv] constraint-dependencies``, one with ``>=``, one with ``~=``.
- ``override``: a hashed lock; an evaluation harness that pins ``numpy<2`` against the
  image's ``numpy>=2``: the ``override-dependencies`` entry the header explains is the only
  way to resolve.
- ``two-index``: an unhashed lock; ``index-strategy = "unsafe-best-match"`` with the GA
  index as ``extra-index-url`` (it has a newer urllib3), ``exclude-newer`` and
  ``environments``.
- ``split``: ``constraints`` plus a second lock, ``requirements-ga.txt``, compiled from
  ``requirements-ga.in`` against the GA index (its first line), as its uv header says.
- ``sources``: a package only the GA index has, taken from it by ``[tool.uv.sources]`` and
  ``[[tool.uv.index]]`` (explicit).

The locks are made by the folder's documented command (its pyproject header), run by hand
in a copy of the folder whose public index URLs point at the local server: what the
maintainers would run; `hand_lock` is also what the tests compare bumper's locks with.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bumper.lock import build_python, uv_bin
from localindex.server import IndexServer
from tests.bumprepo import Repo

IMAGES = "images/universal/training"
NAME = "th05-cpu-torch291-py312"
PUBLIC_HOST = "https://packages.example.com/"
MAIN = f"{PUBLIC_HOST}api/pypi/public-rhai/rhoai/3.4-EA1/cpu-ubi9-uvconv/simple/"
GA = f"{PUBLIC_HOST}api/pypi/public-rhai/rhoai/3.4-EA1/ga-ubi9/simple/"
FIXTURES = ("constraints", "override", "two-index", "sources", "split")
GA_LOCK = "requirements-ga.txt"
GA_INPUT = "requirements-ga.in"
GA_HEADER = ("uv pip compile requirements-ga.in --python-platform=linux --python-version=3.12 "
             "-o requirements-ga.txt")
DIR = f"{IMAGES}/{NAME}"

BASE = "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-cpu-py312-ubi9:2025b-v1.39"
DOCKERFILE = f"""\
# {NAME}: Training Hub 0.5.0 / CPU / PyTorch 2.9.1 / Python 3.12
ARG BASE_IMAGE={BASE}
ARG PYTHON_VERSION=3.12

FROM ${{BASE_IMAGE}}

USER 0
ENV OMP_NUM_THREADS=1

COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir uv==0.9.5 && uv pip install --no-cache --no-deps \\
        --index-url={MAIN} \\
        --python=/opt/app-root/bin/python${{PYTHON_VERSION}} \\
        -r /tmp/requirements.txt

LABEL name="universal-training-{NAME}"
USER 1001
"""

HEADER = """\
# Training Hub 0.5.0, CPU, PyTorch 2.9.1, Python 3.12.
#
# Lock with (in this folder):
#
#   uv pip compile{hashes} --index-url={main} \\
#     --python-platform=linux --python-version=3.12 -o requirements.txt pyproject.toml
#
"""

PROJECT = """\
[project]
name = "universal-training-{name}"
version = "1.0.0"
requires-python = "==3.12.*"
dependencies = [
    # PyTorch and Training Hub: changing either is a major bump (a new folder)
    "torch==2.9.1",
    "training_hub==0.5.0",
    # serving and HTTP
    "fastapi>=0.118.0",
    "requests>=2.32.0",
{more}]
"""


def pyproject(kind: str) -> str:
    hashes = " --generate-hashes" if kind == "override" else ""
    text = HEADER.format(hashes=hashes, main=MAIN)
    if kind == "split":
        text += f"# split lock: {GA_LOCK} (GA index) is compiled from {GA_INPUT}\n"
    if kind == "override":
        text += ("# rhai-eval-harness 0.3.0 declares numpy<2 but works with numpy 2; the\n"
                 "# override below is the only way this folder resolves.\n")
    more = {"override": '    "rhai-eval-harness==0.3.0",\n',
            "sources": '    # only on the GA index, see [tool.uv.sources]\n'
                       '    "rhai-ga-tools>=1.0.0",\n'}.get(kind, "")
    text += PROJECT.format(name=NAME, more=more) + "\n[tool.uv]\n" + f'index-url = "{MAIN}"\n'
    if kind in ("constraints", "split"):
        text += ("constraint-dependencies = [\n    # CVE fixes (transitive)\n"
                 '    "starlette>=1.2.0,<1.3",  # CVE-2025-0001\n'
                 '    "urllib3~=2.5.0",\n]\n')
    elif kind == "override":
        text += 'override-dependencies = [\n    "numpy>=2.0.0,<2.4",\n]\n'
    elif kind == "two-index":
        text += (f'extra-index-url = ["{GA}"]\n'
                 'index-strategy = "unsafe-best-match"\n'
                 'environments = ["sys_platform == \'linux\'"]\n'
                 'constraint-dependencies = ["starlette>=1.2.0,<1.4"]\n')
    elif kind == "sources":
        text += (f'\n[[tool.uv.index]]\nname = "ga"\nurl = "{GA}"\nexplicit = true\n\n'
                 '[tool.uv.sources]\nrhai-ga-tools = { index = "ga" }\n')
    return text


def lead_lines(kind: str) -> str:
    """The hand-kept first lines of the lock: the folder's index, then the others."""
    return f"--index-url={MAIN}\n" + (f"--extra-index-url={GA}\n"
                                        if kind in ("two-index", "sources") else "")


def hand_lock(folder: Path, local_prefix: str, env: dict[str, str], *,
              upgrade: bool = False, hashes: bool | None = None) -> str:
    """The lock the folder's documented command gives, run by hand in a copy of the folder
    whose public URLs point at ``local_prefix`` (no user configuration: an empty
    XDG_CONFIG_HOME); with the hand-kept first lines."""
    text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    kind = kind_of(text)
    if hashes is None:
        hashes = kind == "override"
    with tempfile.TemporaryDirectory(prefix="hand-lock-") as tmp:
        where = Path(tmp) / "folder"
        where.mkdir()
        (where / "pyproject.toml").write_text(text.replace(PUBLIC_HOST, local_prefix),
                                              encoding="utf-8")
        lock = folder / "requirements.txt"
        if lock.exists() and not upgrade:  # the pins to prefer, without the hand-kept lines
            kept = lock.read_text(encoding="utf-8").splitlines(keepends=True)
            (where / "requirements.txt").write_text(
                "".join(ln for ln in kept if not ln.startswith("--")), encoding="utf-8")
        (Path(tmp) / "xdg").mkdir()
        cmd = [uv_bin(), "pip", "compile", *(["--generate-hashes"] if hashes else []),
               f"--index-url={MAIN.replace(PUBLIC_HOST, local_prefix)}",
               "--python-platform=linux", "--python-version=3.12", "-o", "requirements.txt",
               "pyproject.toml", "--quiet", *(["--upgrade"] if upgrade else [])]
        python = build_python()
        if python:
            cmd.append(f"--python={python}")
        done = subprocess.run(cmd, cwd=where, env={**env, "XDG_CONFIG_HOME": f"{tmp}/xdg"},
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        out = (where / "requirements.txt").read_text(encoding="utf-8")
    lines = out.splitlines(keepends=True)
    while lines and lines[0].startswith("--"):
        lines.pop(0)
    return lead_lines(kind) + "".join(lines).replace(local_prefix, PUBLIC_HOST)


def hand_ga_lock(folder: Path, local_prefix: str, env: dict[str, str], *,
                 upgrade: bool = False) -> str:
    """The split fixture's second lock by its header command, run by hand (against GA)."""
    with tempfile.TemporaryDirectory(prefix="hand-lock-") as tmp:
        where = Path(tmp) / "folder"
        where.mkdir()
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        (where / "pyproject.toml").write_text(text.replace(PUBLIC_HOST, local_prefix),
                                              encoding="utf-8")
        shutil.copy(folder / GA_INPUT, where / GA_INPUT)
        lock = folder / GA_LOCK
        if lock.exists() and not upgrade:
            kept = lock.read_text(encoding="utf-8").splitlines(keepends=True)
            (where / GA_LOCK).write_text("".join(ln for ln in kept if not ln.startswith("--")),
                                         encoding="utf-8")
        (Path(tmp) / "xdg").mkdir()
        cmd = [uv_bin(), *GA_HEADER.split()[1:], "--quiet",
               f"--index-url={GA.replace(PUBLIC_HOST, local_prefix)}",
               *(["--upgrade"] if upgrade else [])]
        python = build_python()
        if python:
            cmd.append(f"--python={python}")
        done = subprocess.run(cmd, cwd=where, env={**env, "XDG_CONFIG_HOME": f"{tmp}/xdg"},
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        out = (where / GA_LOCK).read_text(encoding="utf-8")
    return f"--index-url={GA}\n" + out.replace(local_prefix, PUBLIC_HOST)


def kind_of(pyproject_text: str) -> str:
    if "override-dependencies" in pyproject_text:
        return "override"
    if "unsafe-best-match" in pyproject_text:
        return "two-index"
    if "[tool.uv.sources]" in pyproject_text:
        return "sources"
    return "split" if "# split lock" in pyproject_text else "constraints"


def write_repo(root: Path, kind: str, local_prefix: str, env: dict[str, str]) -> Path:
    """A git repository at ``root`` with the ``kind`` folder, committed; the folder."""
    folder = root / IMAGES / NAME
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (folder / "pyproject.toml").write_text(pyproject(kind), encoding="utf-8")
    (folder / "requirements.txt").write_text(hand_lock(folder, local_prefix, env),
                                             encoding="utf-8")
    if kind == "split":
        (folder / GA_INPUT).write_text("# what the GA index adds\nrhai-ga-tools>=1.0.0\n",
                                       encoding="utf-8")
        (folder / GA_LOCK).write_text(hand_ga_lock(folder, local_prefix, env),
                                      encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "-m", f"{kind} image folder"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return folder


def local_prefix(server: IndexServer) -> str:
    """Where BUMPER_INDEX_MAP sends the public host."""
    return server.prefix_map.split("=", 1)[1]


@pytest.fixture(scope="session")
def uv_repos(tmp_path_factory: pytest.TempPathFactory, bump_env: dict[str, str],
             shared_index: IndexServer) -> dict[str, Path]:
    """Each fixture folder's repo, written and committed once per session."""
    out = {}
    for kind in FIXTURES:
        root = tmp_path_factory.mktemp(kind) / "repo"
        root.mkdir()
        write_repo(root, kind, local_prefix(shared_index), bump_env)
        out[kind] = root
    return out


@pytest.fixture
def uv_repo(uv_repos: dict[str, Path], tmp_path: Path, bump_env: dict[str, str],
            shared_index: IndexServer) -> Callable[[str], Repo]:
    """A private copy of one fixture folder's repo (by kind)."""
    def make(kind: str) -> Repo:
        dst = tmp_path / kind
        shutil.copytree(uv_repos[kind], dst, symlinks=True)
        return Repo(dst, bump_env, shared_index)

    return make
