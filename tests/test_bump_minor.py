"""`bumper minor` end to end: in-place edits of the bundled examples in a real git repo, the
real CLI, the local index and real uv."""

from __future__ import annotations

import json
import re
import urllib.request

from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, Repo, lock_hashes, lock_pins, public_index

JSON = "application/vnd.pypi.simple.v1+json"
OLD_CUDA_INDEX = public_index("cuda13.0-ubi9")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def diff_lines(repo: Repo, commit: str = "HEAD") -> dict[str, list[str]]:
    """file -> the -/+ lines of the commit (no context)."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in repo.git("show", "--format=", "-U0", "--no-renames", commit).splitlines():
        if line.startswith("+++ b/"):
            current = line.removeprefix("+++ b/")
            out[current] = []
        elif line.startswith("+++ /dev/null"):
            current = ""
        elif line.startswith(("--- ", "diff ", "index ", "@@", "new file", "deleted file")):
            continue
        elif line.startswith(("+", "-")) and current:
            out[current].append(line)
    return out


def index_sha256(repo: Repo, segment: str, filename_prefix: str) -> str:
    assert repo.index is not None
    project = filename_prefix.split("-", maxsplit=1)[0]
    request = urllib.request.Request(f"{repo.index.index_url(segment)}{project}/",
                                     headers={"Accept": JSON})
    with _OPENER.open(request, timeout=10) as response:
        files = json.loads(response.read())["files"]
    return next(f"sha256:{f['hashes']['sha256']}" for f in files
                if f["filename"].startswith(filename_prefix))


def base_image(repo: Repo, folder: str) -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", repo.read(folder, "Dockerfile"), re.M)
    assert match
    return match[1]


# --- base image ---------------------------------------------------------------------------------


def test_minor_base_image_changes_exactly_the_arg_line(repo: Repo) -> None:
    old = base_image(repo, CUDA)
    new = old.rsplit(":", 1)[0].replace("-cuda-", "-cuda-next-") + ":2026a-v1.40"
    commits = repo.commits()
    repo.ok("minor", CUDA, "--base-image", new, "--yes")

    assert repo.commits() == commits + 1
    changes = diff_lines(repo)
    docker, answers = f"{IMAGES}/{CUDA}/Dockerfile", f"{IMAGES}/{CUDA}/.copier-answers.yml"
    assert set(changes) == {docker, answers}
    assert changes[docker] == [f"-ARG BASE_IMAGE={old}", f"+ARG BASE_IMAGE={new}"]
    assert changes[answers] == [f"-base_image: {old}", f"+base_image: {new}"]
    assert repo.status() == ""


def test_minor_base_image_tag_over_every_folder_keeps_each_image(repo: Repo) -> None:
    olds = {name: base_image(repo, name) for name in (CUDA, ROCM, CPU)}
    repo.ok("minor", "--base-image", ":2026a-v1.40", "--yes")
    for name, old in olds.items():
        assert base_image(repo, name) == old.rsplit(":", 1)[0] + ":2026a-v1.40"
    assert len(diff_lines(repo)) == 6  # Dockerfile and answers of each folder


def test_minor_one_full_base_image_for_several_folders_exits_2(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", "--base-image", "quay.io/org/workbench:1", "--yes")
    assert ":TAG" in run.err and "{accel}" in run.err
    repo.assert_untouched(before, head)


def test_minor_with_the_same_value_does_nothing(repo: Repo) -> None:
    head = repo.head()
    run = repo.ok("minor", CUDA, "--base-image", base_image(repo, CUDA), "--yes")
    assert "nothing to do" in run.err + run.out
    assert repo.head() == head and repo.status() == ""


# --- index URL ----------------------------------------------------------------------------------


def test_minor_index_url_changes_every_place_and_relocks(repo: Repo) -> None:
    new = OLD_CUDA_INDEX.replace("/3.4-EA1/", "/3.4/")
    assert repo.index is not None
    requests = len(repo.index.requests_log)
    repo.ok("minor", CUDA, "--index-url", new, "--yes")

    docker = repo.read(CUDA, "Dockerfile")
    assert f"        --index-url={new} \\\n" in docker
    pyproject = repo.read(CUDA, "pyproject.toml")
    assert f'index-url = "{new}"' in pyproject
    assert f"#     --index-url={new} \\\n" in pyproject
    lock = repo.read(CUDA, "requirements.txt")
    assert lock.splitlines()[0] == f"--index-url={new}"
    answers = repo.read(CUDA, ".copier-answers.yml")
    assert f"index_url: {new}\n" in answers and "release: '3.4'\n" in answers
    for name in ("Dockerfile", "pyproject.toml", "requirements.txt", ".copier-answers.yml"):
        assert OLD_CUDA_INDEX not in repo.read(CUDA, name), name
    # the lock was made again, against the new URL
    paths = [path for _, path, _ in repo.index.requests_log[requests:]]
    assert any("/rhoai/3.4/cuda13.0-ubi9/simple/torch/" in path for path in paths)
    assert not any("/3.4-EA1/" in path for path in paths)
    assert {p.split("/")[3] for p in repo.changed_in()} == {CUDA}
    assert repo.bumper("check", CUDA).code == 0


def test_minor_index_url_with_accel_over_every_folder(repo: Repo) -> None:
    url = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4/{accel}-ubi9/simple/"
    run = repo.ok("minor", "--index-url", url, "--no-lock", "--yes")
    for name, segment in ((CUDA, "cuda13.0"), (ROCM, "rocm6.4"), (CPU, "cpu")):
        mine = url.replace("{accel}", segment)
        assert f'index-url = "{mine}"' in repo.read(name, "pyproject.toml")
        assert repo.read(name, "requirements.txt").splitlines()[0] == f"--index-url={mine}"
    assert run.err.count("lock not regenerated") == 3
    assert "{accel}" in repo.git("log", "-1", "--format=%s")


def test_minor_index_url_of_another_accelerator_version_names_major(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", CUDA, "--index-url", public_index("cuda12.8-ubi9"), "--yes")
    assert "bumper major --cuda 12.8" in run.err
    repo.assert_untouched(before, head)


# --- --set ----------------------------------------------------------------------------------------


def test_minor_set_direct_dependency_edits_pyproject_and_relocks(repo: Repo) -> None:
    old_pins = lock_pins(repo.read(CPU, "requirements.txt"))
    assert old_pins["starlette"] == "1.2.0"
    repo.ok("minor", CPU, "--set", "starlette~=1.3.1", "--yes")

    changes = diff_lines(repo)
    pyproject = f"{IMAGES}/{CPU}/pyproject.toml"
    assert changes[pyproject] == ['-    "starlette~=1.2.0",', '+    "starlette~=1.3.1",']
    lock = repo.read(CPU, "requirements.txt")
    new_pins = lock_pins(lock)
    assert new_pins["starlette"] == "1.3.1"
    assert lock_hashes(lock, "starlette") == [index_sha256(repo, "cpu-ubi9", "starlette-1.3.1-")]
    # a relock moves only what must move
    assert {k: v for k, v in new_pins.items() if k != "starlette"} == \
        {k: v for k, v in old_pins.items() if k != "starlette"}
    assert set(changes) == {pyproject, f"{IMAGES}/{CPU}/requirements.txt"}
    assert repo.bumper("check", CPU).code == 0


def test_minor_set_transitive_dependency_repins_only_its_lines(repo: Repo) -> None:
    assert '"starlette' not in repo.read(CUDA, "pyproject.toml")
    old = repo.read(CUDA, "requirements.txt")
    old_hash = lock_hashes(old, "starlette")
    repo.ok("minor", CUDA, "--set", "starlette~=1.3.1", "--yes")

    new_hash = index_sha256(repo, "cuda13.0-ubi9", "starlette-1.3.1-")
    changes = diff_lines(repo)
    assert changes == {f"{IMAGES}/{CUDA}/requirements.txt": [
        "-starlette==1.2.0 \\", *[f"-    --hash={h}" for h in old_hash],
        "+starlette==1.3.1 \\", f"+    --hash={new_hash}"]}
    assert "    # via fastapi" in repo.read(CUDA, "requirements.txt")
    assert repo.bumper("check", CUDA).code == 0


def test_minor_set_torch_or_training_hub_names_the_major_command(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", "--set", "torch==2.10.0", "--yes")
    assert "bumper major --torch 2.10.0" in run.err
    run = repo.fails(2, "minor", CPU, "--set", "training_hub==0.6.0", "--yes")
    assert "bumper major --training-hub 0.6.0" in run.err
    repo.assert_untouched(before, head)


def test_minor_set_a_version_the_index_lacks_lists_the_available_ones(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", CPU, "--set", "starlette~=9.0", "--yes")
    assert "available: 1.3.1, 1.2.0" in run.err
    run = repo.fails(2, "minor", CPU, "--set", "no-such-package==1.0", "--yes")
    assert "not a dependency" in run.err
    run = repo.fails(2, "minor", CPU, "--set", "starlette>>1", "--yes")
    assert "PEP 508" in run.err
    repo.assert_untouched(before, head)


def test_minor_upgrade_relocks_to_the_newest_allowed(repo: Repo) -> None:
    assert lock_pins(repo.read(CPU, "requirements.txt"))["filelock"] == "3.19.1"
    repo.ok("minor", CPU, "--upgrade", "--yes")
    pins = lock_pins(repo.read(CPU, "requirements.txt"))
    assert pins["filelock"] == "3.20.0"
    assert pins["starlette"] == "1.2.0"  # starlette~=1.2.0 holds it
    assert {p.split("/")[3] for p in repo.changed_in()} == {CPU}


# --- refusals and options ---------------------------------------------------------------------


def test_minor_without_a_change_exits_2(repo: Repo) -> None:
    run = repo.fails(2, "minor", CPU)
    assert "needs a change" in run.err


def test_minor_on_a_dirty_folder_exits_2(repo: Repo) -> None:
    pyproject = repo.folder(CPU) / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", CPU, "--base-image", ":2026a", "--yes")
    assert f"{IMAGES}/{CPU}/pyproject.toml: has uncommitted changes" in run.err
    assert repo.snapshot() == before and repo.head() == head


def test_minor_dry_run_writes_nothing(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("minor", CPU, "--set", "starlette~=1.3.1", "--base-image", ":2026a",
                  "--dry-run")
    repo.assert_untouched(before, head)
    assert '\n-    "starlette~=1.2.0",\n+    "starlette~=1.3.1",\n' in run.out
    assert f"relock {IMAGES}/{CPU}/requirements.txt with uv" in run.out
    assert re.search(r"\n\+ARG BASE_IMAGE=\S+:2026a\n", run.out)


def test_minor_no_commit_leaves_changes_unstaged(repo: Repo) -> None:
    head = repo.head()
    repo.ok("minor", ROCM, "--set", "starlette~=1.3.1", "--no-commit")
    assert repo.head() == head
    assert repo.status() == f" M {IMAGES}/{ROCM}/requirements.txt\n"
    assert lock_pins(repo.read(ROCM, "requirements.txt"))["starlette"] == "1.3.1"


def test_minor_json_output(repo: Repo) -> None:
    data = repo.ok("--format", "json", "minor", CPU, "--set", "starlette~=1.3.1",
                   "--yes").json()
    assert data["command"] == "minor" and data["commit"] == repo.head()
    folders = data["folders"]
    assert isinstance(folders, list)
    assert folders[0]["to"] == f"{IMAGES}/{CPU}" and folders[0]["new"] is False
    assert folders[0]["relock"] is True
    transitive = repo.ok("--format", "json", "minor", CUDA, "--set", "starlette~=1.3.1",
                         "--dry-run").json()
    folders = transitive["folders"]
    assert isinstance(folders, list)
    assert folders[0]["repins"] == ["starlette==1.3.1"]


# --- credentials ------------------------------------------------------------------------------


def test_credentials_reach_uv_and_the_index_but_no_file_or_message(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = ("robot", "s3cr3t-t0ken")
    public = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4/cpu-ubi9/simple/"
    secret_url = public.replace("https://", "https://robot:s3cr3t-t0ken@")
    before, head = repo.snapshot(), repo.head()
    denied = repo.bumper("minor", CPU, "--index-url", public, "--yes")
    assert denied.code == 3, str(denied)
    repo.assert_untouched(before, head)

    run = repo.ok("minor", CPU, "--index-url", secret_url, "--yes")

    assert any(user == "robot" for _, _, user in repo.index.requests_log)
    assert repo.read(CPU, "requirements.txt").splitlines()[0] == f"--index-url={public}"
    assert f'index-url = "{public}"' in repo.read(CPU, "pyproject.toml")
    leaks = [name for name, data in repo.snapshot().items() if b"s3cr3t" in data]
    assert leaks == []
    assert "s3cr3t" not in run.out + run.err
    assert "s3cr3t" not in repo.git("log", "-p", "-1")
    dry = repo.ok("minor", CPU, "--index-url", secret_url.replace("/3.4/", "/3.5/"),
                  "--dry-run")
    assert "s3cr3t" not in dry.out + dry.err
    assert "/3.5/cpu-ubi9/simple/" in dry.out
