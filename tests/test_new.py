"""`bumper new`: a folder rendered by the Copier template, locked, checked and committed like
a major bump; invalid answers refused with one line and nothing left behind.

Real Copier, real git clones of this repository, real uv against the local index.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bumper import template
from localindex.server import IndexServer

REPO = Path(__file__).resolve().parent.parent
IMAGES = "images/universal/training"
BIN = Path(sys.executable).parent
ANSWERS = ".copier-answers.yml"
COMMON = ["LICENSE.md", "Dockerfile", "entrypoint-universal.sh", "pyproject.toml",
          "requirements.txt", ANSWERS]
FLAVORS = {
    "cuda": (["--flavor", "cuda", "--cuda", "12.8"], "th05-cuda128-torch291-py312",
             ["cuda.repo", "mellanox.repo"], "cuda12.8-ubi9"),
    "rocm": (["--flavor", "rocm", "--rocm", "7.1.1"], "th05-rocm71-torch291-py312",
             ["mellanox.repo", "rocm.repo"], "rocm7.1-ubi9"),
    "cpu": (["--flavor", "cpu"], "th05-cpu-torch291-py312", [], "cpu-ubi9"),
}
VERSIONS = ["--torch", "2.9.1", "--training-hub", "0.5.0"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real clone of this repository (the answers files' commits exist in it)."""
    root = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
    for key, value in (("user.name", "New Tests"), ("user.email", "new@example.invalid"),
                       ("commit.gpgsign", "false")):
        git(root, "config", key, value)
    return root


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> Path:
    """TMPDIR of the bumper process, to see that its scratch folder goes away."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def run(root: Path, *args: str, index: IndexServer | None = None,
        tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BUMPER_", "UV_"))}
    environ.update(UV_PYTHON_DOWNLOADS="never", NO_COLOR="1")
    if index is not None:
        environ["BUMPER_INDEX_MAP"] = index.prefix_map
    if tmpdir is not None:
        environ["TMPDIR"] = str(tmpdir)
    cmd = [str(BIN / "bumper")] if (BIN / "bumper").exists() else [sys.executable, "-m", "bumper"]
    return subprocess.run([*cmd, "--repo", str(root), *args], cwd=root, capture_output=True,
                          text=True, env=environ, timeout=300, check=False)


def hadolint(dockerfile: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hadolint"), "--no-color", "--config",
                           str(REPO / ".hadolint.yaml"), str(dockerfile)], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def snapshot(root: Path) -> tuple[str, str, list[str]]:
    """HEAD, status and the image folders (staging folders included, hidden or not)."""
    return (git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain", "--ignored"),
            sorted(p.name for p in (root / IMAGES).iterdir()))


@pytest.mark.parametrize("flavor", list(FLAVORS))
def test_new_folder_is_locked_checked_committed_and_lints(
        flavor: str, repo: Path, index_server: IndexServer, tmpdir_env: Path,
        tmp_path: Path) -> None:
    args, name, repo_files, segment = FLAVORS[flavor]
    if flavor == "cpu":  # the cpu example has these versions: make it again from scratch
        git(repo, "rm", "-r", "--quiet", "--", f"{IMAGES}/{name}")
        git(repo, "commit", "--quiet", "-m", "remove the cpu example")
    head = git(repo, "rev-parse", "HEAD").strip()
    proc = run(repo, "new", *args, *VERSIONS, "--yes", index=index_server, tmpdir=tmpdir_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    folder = repo / IMAGES / name
    assert sorted(p.name for p in folder.iterdir()) == sorted(COMMON + repo_files)
    # exactly one commit, holding exactly the new folder; nothing else left around
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(files) == sorted(f"{IMAGES}/{name}/{f}" for f in COMMON + repo_files)
    assert git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all") == ""
    assert list(tmpdir_env.iterdir()) == []
    assert f"committed {git(repo, 'rev-parse', 'HEAD')[:12]}" in proc.stdout
    # the lock comes from the flavor's own index, and the folder says so everywhere
    lock = (folder / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^torch==2\.9\.1(\+\S+)? \\$", lock, re.M), lock[:400]
    assert "--hash=sha256:" in lock
    assert index_server.base_url not in lock + (folder / "pyproject.toml").read_text()
    public = f"/3.4-EA1/{segment}/simple/"
    assert public in (folder / "Dockerfile").read_text(encoding="utf-8")
    assert public in template.answers(folder)["index_url"]
    # bumper check accepts it (all folders), hadolint passes, the entrypoint parses
    checked = run(repo, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lint = hadolint(folder / "Dockerfile", tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert subprocess.run(["sh", "-n", str(folder / "entrypoint-universal.sh")],
                          check=False).returncode == 0
    # the answers file records the commit it was rendered from, and Copier agrees: an
    # immediate `template-update` has nothing to do
    assert head.startswith(template.recorded_commit(folder) or "-")
    again = run(repo, "template-update", name)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{IMAGES}/{name}: up to date\n"
    if flavor == "cpu":  # the same folder as the bundled example (the lock may be newer)
        example = REPO / IMAGES / name
        for path in example.iterdir():
            if path.name == "requirements.txt":
                continue
            mine = (folder / path.name).read_text(encoding="utf-8")
            theirs = path.read_text(encoding="utf-8")
            if path.name == ANSWERS:
                mine, theirs = (re.sub(r"_commit: \S+", "", t) for t in (mine, theirs))
            assert mine == theirs, path.name


def test_new_cuda_folder_is_what_the_template_renders(repo: Path, index_server: IndexServer,
                                                      tmp_path: Path) -> None:
    args, name, _, _ = FLAVORS["cuda"]
    proc = run(repo, "new", *args, *VERSIONS, "--yes", "--base-image",
               "registry.example.com/org/custom-cuda-py312-ubi9:1.2.3", index=index_server)
    assert proc.returncode == 0, proc.stderr
    folder = repo / IMAGES / name
    rendered = tmp_path / name
    template.render(repo, rendered, template.answers(folder),
                    template.recorded_commit(folder) or "")
    for path in rendered.iterdir():
        assert path.read_bytes() == (folder / path.name).read_bytes(), path.name
    assert "ARG BASE_IMAGE=registry.example.com/org/custom-cuda-py312-ubi9:1.2.3\n" in (
        folder / "Dockerfile").read_text(encoding="utf-8")


def test_dry_run_shows_every_file_and_writes_nothing(repo: Path, tmpdir_env: Path) -> None:
    before = snapshot(repo)
    proc = run(repo, "new", "--flavor", "rocm", "--rocm", "7.1.1", *VERSIONS, "--dry-run",
               tmpdir=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    rel = f"{IMAGES}/th05-rocm71-torch291-py312"
    assert proc.stdout.startswith(f"new folder {rel} (rendered by the template)\n")
    for name in (ANSWERS, "Dockerfile", "LICENSE.md", "entrypoint-universal.sh",
                 "mellanox.repo", "pyproject.toml", "rocm.repo"):
        assert f"+++ b/{rel}/{name}\n" in proc.stdout
    assert "+[ROCm-7.1.1]\n" in proc.stdout
    assert "+ARG BASE_IMAGE=" in proc.stdout
    assert f"lock {rel}/requirements.txt with uv" in proc.stdout
    assert snapshot(repo) == before
    assert list(tmpdir_env.iterdir()) == []


INVALID = {
    "cuda-twelve": (["--flavor", "cuda", "--cuda", "twelve"], "--cuda twelve"),
    "flavor-tpu": (["--flavor", "tpu"], "--flavor tpu"),
    "index-dotdot": (["--flavor", "cpu", "--index-url",
                      "https://packages.example.com/api/../simple/"], "'..'"),
    "index-encoded-dotdot": (["--flavor", "cpu", "--index-url",
                              "https://packages.example.com/api/%2E%2e/simple/"], "'..'"),
    "index-http-remote": (["--flavor", "cpu", "--index-url", "http://example.com/simple/"],
                          "plain http"),
    "index-no-slash": (["--flavor", "cpu", "--index-url", "https://example.com/simple"],
                       "must end with /"),
    "rocm-short": (["--flavor", "rocm", "--rocm", "7.1"], "--rocm 7.1"),
    "cuda-on-cpu": (["--flavor", "cpu", "--cuda", "12.8"], "--cuda 12.8"),
    "base-image": (["--flavor", "cpu", "--base-image", "no-tag"], "base_image"),
    "name-path": (["--flavor", "cpu", "--name", "../escape"], "--name ../escape"),
    "name-nested": (["--flavor", "cpu", "--name", "a/b"], "--name a/b"),
    "exists": (["--flavor", "cuda", "--cuda", "13.0"], "already exists"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_answers_exit_2_with_one_line_and_leave_nothing(
        case: str, repo: Path, tmpdir_env: Path) -> None:
    args, needle = INVALID[case]
    before = snapshot(repo)
    torch = ["--torch", "2.9.0"] if case != "exists" else ["--torch", "2.9.1"]
    proc = run(repo, "new", *args, *torch, "--training-hub", "0.5.0", "--yes",
               tmpdir=tmpdir_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("bumper: error: ")
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert snapshot(repo) == before  # no folder, no staging folder, no commit
    assert not (repo / "images/universal/escape").exists()
    assert list(tmpdir_env.iterdir()) == []


def test_failed_lock_leaves_nothing(repo: Path, index_server: IndexServer,
                                    tmpdir_env: Path) -> None:
    """CUDA 12.6 has no index: uv fails (exit 3) after the render; nothing stays."""
    before = snapshot(repo)
    proc = run(repo, "new", "--flavor", "cuda", "--cuda", "12.6", *VERSIONS, "--yes",
               index=index_server, tmpdir=tmpdir_env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("bumper: error: uv could not lock")
    assert snapshot(repo) == before
    assert list(tmpdir_env.iterdir()) == []


def test_no_lock_no_commit_leaves_the_folder_in_the_tree(repo: Path, tmpdir_env: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    proc = run(repo, "new", "--flavor", "cpu", "--torch", "2.9.0", "--training-hub", "0.5.0",
               "--no-lock", "--no-commit", "--yes", tmpdir=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    rel = f"{IMAGES}/th05-cpu-torch290-py312"
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == f"?? {rel}/\n"
    assert f"lock not regenerated: run bumper lock {rel}" in proc.stderr
    assert not (repo / rel / "requirements.txt").exists()
    assert list(tmpdir_env.iterdir()) == []


def test_credentials_in_the_index_url_never_reach_a_file_or_the_commit(
        repo: Path, index_server: IndexServer) -> None:
    url = index_server.index_url("cpu-ubi9").replace("http://", "http://tok:s3cr3t@")
    proc = run(repo, "new", "--flavor", "cpu", "--torch", "2.10.0", "--training-hub", "0.6.0",
               "--index-url", url, "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "s3cr3t" not in proc.stdout + proc.stderr
    folder = repo / IMAGES / "th06-cpu-torch210-py312"
    public = index_server.index_url("cpu-ubi9")
    assert (folder / "requirements.txt").read_text(encoding="utf-8").startswith(
        f"--index-url={public}\n")
    for path in folder.iterdir():
        assert "s3cr3t" not in path.read_text(encoding="utf-8"), path.name
    assert "s3cr3t" not in git(repo, "log", "-p", "-1")
    assert template.answers(folder)["index_url"] == public


def test_a_repository_without_the_template_is_refused(repo: Path, tmpdir_env: Path) -> None:
    """Copier would take the whole repository for the template and render every image
    folder into the new one."""
    git(repo, "rm", "-r", "--quiet", "--", "copier.yml", "template")
    git(repo, "commit", "--quiet", "-m", "no template here")
    before = snapshot(repo)
    proc = run(repo, "new", "--flavor", "cpu", "--torch", "2.9.0", "--training-hub", "0.5.0",
               "--dry-run", tmpdir=tmpdir_env)
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no copier.yml in commit" in proc.stderr
    assert snapshot(repo) == before
    assert list(tmpdir_env.iterdir()) == []


def test_an_uncommitted_template_change_is_not_used_and_is_said(repo: Path) -> None:
    entry = repo / "template" / "entrypoint-universal.sh"
    entry.write_text(entry.read_text(encoding="utf-8").replace("set -eu\n", "set -eux\n"),
                     encoding="utf-8")
    proc = run(repo, "new", "--flavor", "cpu", "--torch", "2.9.0", "--training-hub", "0.5.0",
               "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "+set -eu\n" in proc.stdout
    assert "set -eux" not in proc.stdout
    assert ("warning: template/entrypoint-universal.sh: uncommitted template change, not "
            "used") in proc.stdout
