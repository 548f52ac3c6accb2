"""`bumper major` end to end: a real git repo with the bundled examples, the real CLI, the
local index and real uv. Each test works on its own copy of the repository."""

from __future__ import annotations

import json
import re
import urllib.request
from functools import cache

import pytest

from localindex.server import IndexServer
from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, Repo, lock_hashes, lock_pins, public_index

NEW_CUDA = "th05-cuda128-torch291-py312"
NEW_ROCM = "th05-rocm71-torch291-py312"
README = f"{IMAGES}/README.md"  # its table of flavors gets a row per new folder
JSON = "application/vnd.pypi.simple.v1+json"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@cache
def _index_hashes(base: str, project: str) -> dict[str, set[str]]:
    request = urllib.request.Request(f"{base}{project}/", headers={"Accept": JSON})
    with _OPENER.open(request, timeout=10) as response:
        data = json.loads(response.read())
    out: dict[str, set[str]] = {}
    for item in data["files"]:
        version = item["filename"].split("-")[1]
        out.setdefault(version, set()).add(f"sha256:{item['hashes']['sha256']}")
    return out


def assert_hashes_from(index: IndexServer, segment: str, lock: str) -> None:
    """Every pin of the lock is hashed with what ``segment``'s index lists for it."""
    pins = lock_pins(lock)
    assert len(pins) > 50
    for name, version in pins.items():
        listed = _index_hashes(index.index_url(segment), name).get(version)
        assert listed, f"{name}=={version} is not on {segment}"
        assert set(lock_hashes(lock, name)) <= listed, f"{name}: hashes not from {segment}"


def leftover_lines(run_out: str) -> set[str]:
    """The ``path:line: text`` lines bumper printed under its leftovers heading."""
    lines = run_out.splitlines()
    if "leftovers: none" in lines:
        return set()
    start = next(i for i, line in enumerate(lines) if line.startswith("leftovers to review"))
    out = set()
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        out.add(line.strip())
    return out


def old_tokens_outside_leftovers(repo: Repo, folder: str, tokens: list[str],
                                 reported: set[str]) -> list[str]:
    """Lines (lock aside) that still hold an old token and were not reported."""
    missing = []
    for path in sorted(repo.folder(folder).iterdir()):
        if path.name == "requirements.txt" or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(token in line for token in tokens):
                where = f"{IMAGES}/{folder}/{path.name}:{number}: {line.strip()}"
                if where not in reported:
                    missing.append(where)
    return missing


# --- one flavor -------------------------------------------------------------------------------


def test_major_cuda_makes_one_rewritten_locked_committed_folder(repo: Repo) -> None:
    head, commits = repo.head(), repo.commits()
    old_lock = repo.read(CUDA, "requirements.txt")
    assert repo.index is not None
    requests = len(repo.index.requests_log)

    run = repo.ok("major", "--cuda", "12.8", "--yes")

    assert NEW_CUDA in repo.folders()
    docker = repo.read(NEW_CUDA, "Dockerfile")
    for package in ("cuda-nvcc-12-8", "cuda-cudart-devel-12-8", "libcublas-devel-12-8"):
        assert f"        {package} \\\n" in docker
    assert 'summary="TH05 CUDA 12.8 Python 3.12 image with PyTorch 2.9.1"' in docker
    assert "cuda12.8-ubi9/simple/" in docker
    assert 'TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0"' in docker  # an arch list is not a version
    pyproject = repo.read(NEW_CUDA, "pyproject.toml")
    assert f'name = "universal-training-{NEW_CUDA}"' in pyproject
    assert f'index-url = "{public_index("cuda12.8-ubi9")}"' in pyproject
    assert '"numpy>=2.0.0,<2.4",' in pyproject
    assert "cuda_version: '12.8'" in repo.read(NEW_CUDA, ".copier-answers.yml")
    assert "name=CUDA 12.8 for RHEL 9" in repo.read(NEW_CUDA, "cuda.repo")

    # no old token left except the ones bumper reported, and those are path:line: text
    reported = leftover_lines(run.out)
    for item in reported:
        assert re.fullmatch(rf"{IMAGES}/{NEW_CUDA}/[^:]+:[0-9]+: .+", item), item
    assert old_tokens_outside_leftovers(repo, NEW_CUDA, ["13-0", "13.0", "cuda130"],
                                        reported) == []

    lock = repo.read(NEW_CUDA, "requirements.txt")
    assert lock.splitlines()[0] == f"--index-url={public_index('cuda12.8-ubi9')}"
    assert f"#    bumper lock {IMAGES}/{NEW_CUDA}" in lock
    assert not re.search(r"cuda13\.0|cuda130|cu130|13-0", lock)
    assert_hashes_from(repo.index, "cuda12.8-ubi9", lock)
    # uv asked the cuda12.8 index, and only that one
    paths = [path for _, path, _ in repo.index.requests_log[requests:]]
    assert any("/cuda12.8-ubi9/simple/torch/" in path for path in paths)
    assert not [path for path in paths if "/cuda12.8-ubi9/" not in path]

    # one commit, touching only the new folder and the images README's table (a companion)
    assert repo.commits() == commits + 1
    assert repo.git("rev-parse", "HEAD~1").strip() == head
    changed = [p for p in repo.changed_in() if p != README]
    assert len(changed) + 1 == len(repo.changed_in())
    assert changed and all(p.startswith(f"{IMAGES}/{NEW_CUDA}/") for p in changed)
    assert f"{IMAGES}/{NEW_CUDA}/requirements.txt" in changed
    subject = repo.git("log", "-1", "--format=%s").strip()
    assert subject == f"major: {CUDA} -> {NEW_CUDA} (CUDA 13.0 -> 12.8)"
    body = repo.git("log", "-1", "--format=%b")
    assert f"Locked with uv: {IMAGES}/{NEW_CUDA}/requirements.txt" in body
    assert "edit .copier-answers.yml, Dockerfile, cuda.repo, pyproject.toml" in body
    assert all(item in body for item in reported)
    assert repo.status() == ""
    assert repo.read(CUDA, "requirements.txt") == old_lock

    check = repo.bumper("check")
    assert check.code == 0, str(check)


def test_major_rocm_rewrites_repo_file_paths_and_index(repo: Repo) -> None:
    commits = repo.commits()
    run = repo.ok("major", "--rocm", "7.1.1", "--yes")

    assert NEW_ROCM in repo.folders()
    repo_file = repo.read(NEW_ROCM, "rocm.repo")
    assert "[ROCm-7.1.1]" in repo_file
    assert "baseurl=https://repo.radeon.com/rocm/rhel9/7.1.1/main" in repo_file
    assert "[amdgraphics-7.1.1]" in repo_file
    assert "6.4" not in repo_file
    docker = repo.read(NEW_ROCM, "Dockerfile")
    assert "ROCM_PATH=/opt/rocm-7.1.1" in docker
    assert "ln -sfn /opt/rocm-7.1.1 /opt/rocm" in docker
    assert "/opt/rocm-6.4.3" not in docker
    assert "rocm7.1-ubi9/simple/" in docker
    assert "rocm_version: 7.1.1" in repo.read(NEW_ROCM, ".copier-answers.yml")
    reported = leftover_lines(run.out)
    assert old_tokens_outside_leftovers(repo, NEW_ROCM, ["6.4.3", "rocm64", "rocm6.4"],
                                        reported) == []
    lock = repo.read(NEW_ROCM, "requirements.txt")
    assert lock.splitlines()[0] == f"--index-url={public_index('rocm7.1-ubi9')}"
    assert repo.index is not None
    assert_hashes_from(repo.index, "rocm7.1-ubi9", lock)
    assert repo.commits() == commits + 1
    assert all(p.startswith(f"{IMAGES}/{NEW_ROCM}/") for p in repo.changed_in() if p != README)
    assert repo.bumper("check").code == 0


# --- every flavor -----------------------------------------------------------------------------


def test_major_torch_makes_three_torch210_folders(repo: Repo) -> None:
    commits = repo.commits()
    olds = {name: repo.read(name, "pyproject.toml") for name in (CUDA, ROCM, CPU)}
    run = repo.ok("major", "--torch", "2.10.0", "--yes")

    news = ["th05-cuda130-torch210-py312", "th05-rocm64-torch210-py312",
            "th05-cpu-torch210-py312"]
    for name in news:
        pyproject = repo.read(name, "pyproject.toml")
        assert '    "torch==2.10.0",\n' in pyproject
        assert "PyTorch 2.10.0" in repo.read(name, "Dockerfile")
        assert lock_pins(repo.read(name, "requirements.txt"))["torch"] == "2.10.0"
        assert "torch_version: 2.10.0" in repo.read(name, ".copier-answers.yml")
        assert old_tokens_outside_leftovers(repo, name, ["2.9.1", "torch291"],
                                            leftover_lines(run.out)) == []
    assert lock_pins(repo.read(news[0], "requirements.txt"))["triton"] == "3.6.0"
    assert lock_pins(repo.read(news[1], "requirements.txt"))["pytorch-triton-rocm"] == "3.6.0"
    # the old folders are as they were; one commit holds the three new ones
    assert {name: repo.read(name, "pyproject.toml") for name in olds} == olds
    assert repo.commits() == commits + 1
    assert {p.split("/")[3] for p in repo.changed_in()} == {*news, "README.md"}
    assert repo.git("log", "-1", "--format=%s").strip() == \
        "major: PyTorch 2.9.1 -> 2.10.0 (3 folders)"


def test_major_training_hub_keeps_extras(repo: Repo) -> None:
    repo.ok("major", "--training-hub", "0.6.0", "--yes")
    news = {"cuda": "th06-cuda130-torch291-py312", "rocm": "th06-rocm64-torch291-py312",
            "cpu": "th06-cpu-torch291-py312"}
    assert set(news.values()) <= set(repo.folders())
    for flavor, name in news.items():
        pyproject = repo.read(name, "pyproject.toml")
        want = '"training_hub==0.6.0"' if flavor == "cpu" else '"training_hub[lora]==0.6.0"'
        assert f"    {want},\n" in pyproject
        assert "0.5.0" not in pyproject
        assert "# Hugging Face training stack" in pyproject  # comments between items kept
        assert lock_pins(repo.read(name, "requirements.txt"))["training-hub"] == "0.6.0"
        assert 'summary="TH06 ' in repo.read(name, "Dockerfile")
        assert "training_hub_version: 0.6.0" in repo.read(name, ".copier-answers.yml")
    assert repo.bumper("check").code == 0


def test_major_python_rewrites_arg_requires_python_base_image_and_locks_for_it(
        repo: Repo) -> None:
    # a dependency only Python 3.13 pulls in shows which Python the new lock was made for
    pyproject = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", pyproject.replace(
        '    "starlette~=1.2.0",\n',
        '    "starlette~=1.2.0",\n    "ninja ; python_version >= \'3.13\'",\n'))
    repo.commit_all("cpu: ninja on Python 3.13")
    assert "ninja" not in lock_pins(repo.read(CPU, "requirements.txt"))

    run = repo.ok("major", "--python", "3.13", "--yes")

    for name in ("th05-cuda130-torch291-py313", "th05-rocm64-torch291-py313",
                 "th05-cpu-torch291-py313"):
        docker = repo.read(name, "Dockerfile")
        assert "ARG PYTHON_VERSION=3.13\n" in docker
        base = re.search(r"^ARG BASE_IMAGE=(\S+)$", docker, re.M)
        assert base and "-py313-" in base[1] and "py312" not in base[1]
        pyproject = repo.read(name, "pyproject.toml")
        assert 'requires-python = "==3.13.*"' in pyproject
        assert "--python-version=3.13" in pyproject
        assert "python_version: '3.13'" in repo.read(name, ".copier-answers.yml")
        assert old_tokens_outside_leftovers(repo, name, ["3.12", "py312"],
                                            leftover_lines(run.out)) == []
    assert lock_pins(repo.read("th05-cpu-torch291-py313", "requirements.txt"))["ninja"]
    assert repo.bumper("check").code == 0


def test_major_several_flavors_take_base_image_tag_and_accel_index(repo: Repo) -> None:
    bases = {name: re.search(r"^ARG BASE_IMAGE=(\S+):\S+$", repo.read(name, "Dockerfile"),
                             re.M)[1]  # type: ignore[index]
             for name in (CUDA, ROCM, CPU)}
    url = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4/{accel}-ubi9/simple/"
    repo.ok("major", "--torch", "2.10.0", "--base-image", ":2026a-v1.40", "--index-url", url,
            "--yes")
    for old, segment in ((CUDA, "cuda13.0"), (ROCM, "rocm6.4"), (CPU, "cpu")):
        name = old.replace("torch291", "torch210")
        docker = repo.read(name, "Dockerfile")
        assert f"ARG BASE_IMAGE={bases[old]}:2026a-v1.40\n" in docker
        mine = url.replace("{accel}", segment)
        assert f"--index-url={mine} \\" in docker
        assert f'index-url = "{mine}"' in repo.read(name, "pyproject.toml")
        assert repo.read(name, "requirements.txt").splitlines()[0] == f"--index-url={mine}"
        answers = repo.read(name, ".copier-answers.yml")
        assert f"base_image: {bases[old]}:2026a-v1.40" in answers
        assert "release: '3.4'" in answers


def test_major_one_full_base_image_for_several_flavors_exits_2(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", "--torch", "2.10.0", "--base-image",
                     "quay.io/org/workbench:2026a", "--yes")
    assert ":TAG" in run.err
    assert "{accel}" in run.err
    repo.assert_untouched(before, head)


def test_major_one_plain_index_url_for_several_flavors_exits_2(repo: Repo) -> None:
    run = repo.fails(2, "major", "--torch", "2.10.0", "--index-url",
                     public_index("cuda13.0-ubi9"), "--yes")
    assert "{accel}" in run.err


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("--python", "3.12"), ("--cuda", "13.0"),
                                  ("--torch", "2.9.1", "--training-hub", "0.5.0")])
def test_major_without_a_version_change_exits_2(repo: Repo, args: tuple[str, ...]) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", *args, "--yes")
    assert "version" in run.err
    repo.assert_untouched(before, head)


def test_major_into_an_existing_folder_exits_2(repo: Repo) -> None:
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--yes")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", "--cuda", "12.8", "--yes")
    assert f"{IMAGES}/{NEW_CUDA}: already exists" in run.err
    repo.assert_untouched(before, head)
    run = repo.fails(2, "major", "--cuda", "12.8", "--name", CPU, "--yes")
    assert "already exists" in run.err


def test_major_with_a_dirty_path_of_the_plan_exits_2(repo: Repo) -> None:
    docker = repo.folder(CUDA) / "Dockerfile"
    docker.write_text(docker.read_text(encoding="utf-8") + "# local edit\n", encoding="utf-8")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", "--cuda", "12.8", "--retire", "--yes")  # CUDA is in the plan
    assert f"{IMAGES}/{CUDA}/Dockerfile: has uncommitted changes" in run.err
    assert repo.snapshot() == before
    assert repo.head() == head
    # an untracked file in the folder the bump copies would land in the new folder unseen
    repo.git("checkout", "--", ".")
    (repo.folder(CUDA) / "notes.txt").write_text("wip\n", encoding="utf-8")
    before = repo.snapshot()
    for args in (("--retire",), ()):
        run = repo.fails(2, "major", "--cuda", "12.8", *args, "--yes")
        assert f"{IMAGES}/{CUDA}/notes.txt: has uncommitted changes" in run.err
        assert repo.snapshot() == before
        assert repo.head() == head
    # a dirty folder the bump does not read is no reason to refuse
    (repo.folder(CUDA) / "notes.txt").unlink()
    (repo.folder(CPU) / "notes.txt").write_text("wip\n", encoding="utf-8")
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--yes")
    assert "notes.txt" not in repo.git("show", "--stat", "HEAD")


def test_minor_input_to_major_names_the_folder_kind(repo: Repo) -> None:
    run = repo.fails(2, "major", "--cuda", "12.8", "--rocm", "7.1.1")
    assert "--cuda and --rocm" in run.err
    run = repo.fails(2, "major", "--cuda", "12.x")
    assert "not a CUDA version" in run.err


# --- options ----------------------------------------------------------------------------------


def test_major_dry_run_writes_nothing_and_prints_every_edit(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("major", "--cuda", "12.8", "--dry-run")
    repo.assert_untouched(before, head)
    out = run.out
    assert f"new folder {IMAGES}/{NEW_CUDA} (from {IMAGES}/{CUDA})" in out
    for name in ("Dockerfile", "pyproject.toml", "requirements.txt", "cuda.repo",
                 ".copier-answers.yml"):
        assert f"--- a/{IMAGES}/{CUDA}/{name}\n+++ b/{IMAGES}/{NEW_CUDA}/{name}\n" in out
    for line in ("-        cuda-nvcc-13-0 \\", "+        cuda-nvcc-12-8 \\",
                 "-cuda_version: '13.0'", "+cuda_version: '12.8'",
                 f"+--index-url={public_index('cuda12.8-ubi9')}",
                 f'+name = "universal-training-{NEW_CUDA}"',
                 "+name=CUDA 12.8 for RHEL 9 (x86_64)"):
        assert f"\n{line}\n" in out, line
    assert "  copy LICENSE.md unchanged" in out
    assert f"relock {IMAGES}/{NEW_CUDA}/requirements.txt with uv" in out
    assert '+    NVIDIA_REQUIRE_CUDA="cuda>=12.8" \\\n' in out
    # every changed line of the dry run is what the real run then writes
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--yes")
    docker = repo.read(NEW_CUDA, "Dockerfile").splitlines()
    plus = [line[1:] for line in out.split(f"+++ b/{IMAGES}/{NEW_CUDA}/Dockerfile\n")[1]
            .split("\n--- ")[0].splitlines() if line.startswith("+")]
    assert plus and all(line in docker for line in plus)


def test_major_no_commit_leaves_the_changes_unstaged(repo: Repo) -> None:
    head = repo.head()
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--no-commit")
    assert repo.head() == head
    status = repo.status().splitlines()
    assert f" M {README}" in status
    status.remove(f" M {README}")
    assert status and all(line.startswith(f"?? {IMAGES}/{NEW_CUDA}/") for line in status)
    assert repo.git("diff", "--cached", "--name-only") == ""
    assert "cuda-nvcc-12-8" in repo.read(NEW_CUDA, "Dockerfile")


def test_major_no_lock_reports_the_stale_lock_once(repo: Repo) -> None:
    run = repo.ok("major", "--cuda", "12.8", "--no-lock", "--yes")
    assert run.err.count("lock not regenerated") == 1
    assert f"run bumper lock {IMAGES}/{NEW_CUDA}" in run.err
    lock = repo.read(NEW_CUDA, "requirements.txt")
    assert lock.splitlines()[0] == f"--index-url={public_index('cuda12.8-ubi9')}"
    assert lock_pins(lock) == lock_pins(repo.read(CUDA, "requirements.txt"))
    body = repo.git("log", "-1", "--format=%b")
    assert f"Lock not regenerated (--no-lock): run bumper lock {IMAGES}/{NEW_CUDA}" in body


def test_major_retire_removes_the_old_folder_in_the_same_commit(repo: Repo) -> None:
    commits = repo.commits()
    files = sorted(p.name for p in repo.folder(CUDA).iterdir())
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--retire", "--yes")
    assert CUDA not in repo.folders()
    assert NEW_CUDA in repo.folders()
    assert repo.commits() == commits + 1
    changed = repo.changed_in()
    assert {f"{IMAGES}/{CUDA}/{name}" for name in files} <= set(changed)
    assert {f"{IMAGES}/{NEW_CUDA}/{name}" for name in files} <= set(changed)
    assert f"- retire {IMAGES}/{CUDA}" in repo.git("log", "-1", "--format=%b")
    assert repo.status() == ""


def test_major_from_and_name(repo: Repo) -> None:
    run = repo.ok("major", "--cuda", "12.8", "--from", CUDA, "--name", "cuda128-trial",
                  "--no-lock", "--yes")
    assert "cuda128-trial" in repo.folders()
    assert "universal-training-cuda128-trial" in repo.read("cuda128-trial", "pyproject.toml")
    assert "not the name the naming scheme gives" in run.err


def test_major_json_output_has_the_documented_keys(repo: Repo) -> None:
    run = repo.ok("--format", "json", "major", "--cuda", "12.8", "--no-lock", "--yes")
    data = run.json()
    assert {"schema", "command", "dry_run", "subject", "folders", "removed", "leftovers",
            "warnings", "commit"} <= set(data)
    assert data["command"] == "major"
    assert data["dry_run"] is False
    assert data["commit"] == repo.head()
    assert data["removed"] == []
    folders = data["folders"]
    assert isinstance(folders, list) and len(folders) == 1
    folder = folders[0]
    assert folder["from"] == f"{IMAGES}/{CUDA}" and folder["to"] == f"{IMAGES}/{NEW_CUDA}"
    assert folder["new"] is True
    assert "Dockerfile" in folder["files_changed"]
    leftovers = data["leftovers"]
    assert isinstance(leftovers, list)
    for item in leftovers:
        assert {"path", "line", "text"} <= set(item)
    dry = repo.ok("--format", "json", "major", "--rocm", "7.1.1", "--dry-run").json()
    assert dry["dry_run"] is True and dry["commit"] is None


# --- leftovers --------------------------------------------------------------------------------


def test_leftovers_are_reported_with_path_and_line(repo: Repo) -> None:
    docker = repo.read(CUDA, "Dockerfile")
    docker = docker.replace("COPY cuda.repo", "ENV CUDA_VERSION=13.0.1\n\nCOPY cuda.repo")
    docker = docker.replace("        rdma-core \\\n",
                            "        libnccl-2.28.7-1+cuda13.3 \\\n        rdma-core \\\n")
    repo.write(CUDA, "Dockerfile", docker)
    repo.commit_all("cuda: more CUDA 13 tokens")

    run = repo.ok("major", "--cuda", "12.8", "--yes")

    new = repo.read(NEW_CUDA, "Dockerfile").splitlines()
    env_line = new.index("ENV CUDA_VERSION=13.0.1") + 1
    nccl_line = new.index("        libnccl-2.28.7-1+cuda13.3 \\") + 1
    where = f"{IMAGES}/{NEW_CUDA}/Dockerfile"
    reported = leftover_lines(run.out)
    assert f"{where}:{env_line}: ENV CUDA_VERSION=13.0.1" in reported
    assert f"{where}:{nccl_line}: libnccl-2.28.7-1+cuda13.3 \\" in reported
    # the NCCL build the check flags is a leftover for a human, not a reason to refuse
    assert f"{where}:{nccl_line}: NCCL build +cuda13.3" in run.err
    body = repo.git("log", "-1", "--format=%b")
    assert f"{where}:{env_line}: ENV CUDA_VERSION=13.0.1" in body
    # what was rewritten is not reported
    assert not any("cuda-nvcc" in item or "NVIDIA_REQUIRE_CUDA" in item for item in reported)
    assert '    NVIDIA_REQUIRE_CUDA="cuda>=12.8" \\\n' in repo.read(NEW_CUDA, "Dockerfile")


def test_torch_bump_reports_a_triton_pin_of_the_old_torch(repo: Repo) -> None:
    pyproject = repo.read(CUDA, "pyproject.toml")
    torch = '    "torch==2.9.1",\n'
    pinned = pyproject.replace(torch, torch + '    "triton==3.5.1",\n')
    repo.write(CUDA, "pyproject.toml", pinned)
    repo.commit_all("cuda: triton pinned")
    run = repo.bumper("major", "--torch", "2.10.0", "--from", CUDA, "--dry-run")
    assert run.code == 0, str(run)
    new = "th05-cuda130-torch210-py312"
    assert any(item.startswith(f"{IMAGES}/{new}/pyproject.toml:") and "triton==3.5.1" in item
               for item in leftover_lines(run.out))


def test_an_index_url_without_accelerator_needs_index_url(repo: Repo) -> None:
    old = public_index("cuda13.0-ubi9")
    mirror = "https://mirror.example.com/simple/"
    for name in ("Dockerfile", "pyproject.toml", "requirements.txt", ".copier-answers.yml"):
        repo.write(CUDA, name, repo.read(CUDA, name).replace(old, mirror))
    repo.commit_all("cuda: a mirror without an accelerator segment")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", "--cuda", "12.8", "--yes")
    assert "cannot derive the new index URL" in run.err and "--index-url" in run.err
    repo.assert_untouched(before, head)
    new = "https://mirror.example.com/cuda12.8/simple/"
    repo.ok("major", "--cuda", "12.8", "--index-url", new, "--no-lock", "--yes")
    assert f'index-url = "{new}"' in repo.read(NEW_CUDA, "pyproject.toml")
    # a URL that names another accelerator than the new folder's is refused
    run = repo.fails(2, "major", "--cuda", "12.9", "--index-url", public_index("cuda13.0-ubi9"))
    assert "names cuda13.0" in run.err
