"""Companion files: the pipeline file and the README table of flavors that name an image
folder from outside it. Real git repositories holding the bundled examples plus the bundled
pipeline file, the real CLI, the local index and real uv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bumper.companions import plan_edits
from bumper.config import load
from bumper.editors.tokens import Rewrite
from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, ROOT, Repo

PIPELINE = f".tekton/odh-training-{CUDA}-pull-request.yaml"
README = f"{IMAGES}/README.md"
TORCH = {old: old.replace("torch291", "torch210") for old in (CPU, CUDA, ROCM)}
NEW_CUDA = TORCH[CUDA]
NEW_PIPELINE = PIPELINE.replace(CUDA, NEW_CUDA)
ROWS = {  # the bundled table's row of each folder, and the row a torch 2.10.0 bump adds
    CPU: (f"| [{CPU}]({CPU}/) | CPU | 2.9.1 | 3.12 | 0.5.0 |",
          f"| [{TORCH[CPU]}]({TORCH[CPU]}/) | CPU | 2.10.0 | 3.12 | 0.5.0 |"),
    CUDA: (f"| [{CUDA}]({CUDA}/) | CUDA 13.0 | 2.9.1 | 3.12 | 0.5.0 |",
           f"| [{NEW_CUDA}]({NEW_CUDA}/) | CUDA 13.0 | 2.10.0 | 3.12 | 0.5.0 |"),
    ROCM: (f"| [{ROCM}]({ROCM}/) | ROCm 6.4.3 | 2.9.1 | 3.12 | 0.5.0 |",
           f"| [{TORCH[ROCM]}]({TORCH[ROCM]}/) | ROCm 6.4.3 | 2.10.0 | 3.12 | 0.5.0 |"),
}
MISSING_FIX = "(remove the file, or restore the folder)"


def add_pipeline(repo: Repo) -> Repo:
    """The bundled pipeline file, committed (the base repository holds the images alone)."""
    (repo.root / ".tekton").mkdir(exist_ok=True)
    shutil.copy(ROOT / PIPELINE, repo.root / PIPELINE)
    repo.commit_all("ci: pipeline of the cuda image")
    return repo


@pytest.fixture
def crepo(repo: Repo) -> Repo:
    return add_pipeline(repo)


def text(repo: Repo, rel: str) -> str:
    return (repo.root / rel).read_text(encoding="utf-8")


def table(repo: Repo) -> list[str]:
    return [line for line in text(repo, README).splitlines() if line.startswith("| [")]


def lines_naming(repo: Repo, rel: str, needle: str) -> list[int]:
    return [number for number, line in enumerate(text(repo, rel).splitlines(), start=1)
            if needle in line]


# --- the bundled files ------------------------------------------------------------------------


def test_the_bundled_companions_name_the_bundled_folders() -> None:
    pipeline = yaml.safe_load((ROOT / PIPELINE).read_text(encoding="utf-8"))
    params = {param["name"]: param["value"] for param in pipeline["spec"]["params"]}
    assert params["path-context"] == f"{IMAGES}/{CUDA}"
    assert params["dockerfile"] == f"{IMAGES}/{CUDA}/Dockerfile"
    assert params["output-image"].startswith(f"quay.io/opendatahub/odh-training-{CUDA}:")
    cel = pipeline["metadata"]["annotations"]["pipelinesascode.tekton.dev/on-cel-expression"]
    assert f'"{IMAGES}/{CUDA}/***".pathChanged()' in cel
    rows = [line for line in (ROOT / README).read_text(encoding="utf-8").splitlines()
            if line.startswith("| [")]
    assert rows == [ROWS[CPU][0], ROWS[CUDA][0], ROWS[ROCM][0]]


# --- major ------------------------------------------------------------------------------------


def test_major_copies_the_pipeline_and_adds_the_rows_in_one_commit(crepo: Repo) -> None:
    repo = crepo
    old_pipeline, old_readme = text(repo, PIPELINE), text(repo, README)
    commits = repo.commits()

    run = repo.ok("major", "--torch", "2.10.0", "--yes")

    # the new pipeline: every path and name of the folder rewritten, nothing else changed
    new = text(repo, NEW_PIPELINE)
    assert CUDA not in new and "torch291" not in new
    assert new == old_pipeline.replace(CUDA, NEW_CUDA)
    pipeline = yaml.safe_load(new)
    params = {param["name"]: param["value"] for param in pipeline["spec"]["params"]}
    assert params["path-context"] == f"{IMAGES}/{NEW_CUDA}"
    assert params["dockerfile"] == f"{IMAGES}/{NEW_CUDA}/Dockerfile"
    assert params["output-image"] == f"quay.io/opendatahub/odh-training-{NEW_CUDA}:on-pr-" \
        "{{revision}}"
    assert pipeline["metadata"]["name"] == f"odh-training-{NEW_CUDA}-on-pull-request"
    cel = pipeline["metadata"]["annotations"]["pipelinesascode.tekton.dev/on-cel-expression"]
    assert f'"{IMAGES}/{NEW_CUDA}/***".pathChanged()' in cel
    assert f'"{NEW_PIPELINE}".pathChanged()' in cel
    assert text(repo, PIPELINE) == old_pipeline  # the old folder keeps its pipeline
    # only the cuda folder has a pipeline file
    assert sorted(p.name for p in (repo.root / ".tekton").iterdir()) == sorted(
        [Path(PIPELINE).name, Path(NEW_PIPELINE).name])

    # three new rows, each right after the row of the folder it was copied from
    assert table(repo) == [ROWS[CPU][0], ROWS[CPU][1], ROWS[CUDA][0], ROWS[CUDA][1],
                           ROWS[ROCM][0], ROWS[ROCM][1]]
    assert [line for line in text(repo, README).splitlines()
            if not line.startswith("| [")] == [line for line in old_readme.splitlines()
                                                if not line.startswith("| [")]

    # one commit holds the new folders and the companions; nothing else is touched
    assert repo.commits() == commits + 1
    changed = repo.changed_in()
    assert {p for p in changed if not p.startswith(f"{IMAGES}/th05-")} == {NEW_PIPELINE, README}
    assert {p.split("/")[3] for p in changed if p.startswith(f"{IMAGES}/th05-")} == set(
        TORCH.values())
    body = repo.git("log", "-1", "--format=%b")
    assert f"- add {NEW_PIPELINE} (from {PIPELINE})" in body
    assert f"- edit {README} (rows added: {TORCH[CPU]} after {CPU}, " in body
    assert repo.status() == ""
    assert "leftovers: none" in run.out
    check = repo.bumper("check")
    assert (check.code, check.out) == (0, ""), str(check)


def test_retire_removes_the_old_pipeline_and_rows_in_the_same_commit(crepo: Repo) -> None:
    repo = crepo
    commits = repo.commits()
    repo.ok("major", "--torch", "2.10.0", "--retire", "--no-lock", "--yes")

    assert not (repo.root / PIPELINE).exists()
    assert CUDA not in text(repo, NEW_PIPELINE)
    assert table(repo) == [ROWS[CPU][1], ROWS[CUDA][1], ROWS[ROCM][1]]  # replaced in place
    assert repo.commits() == commits + 1
    changed = set(repo.changed_in())
    assert {PIPELINE, NEW_PIPELINE, README} <= changed
    assert f"{IMAGES}/{CUDA}/Dockerfile" in changed and f"{IMAGES}/{NEW_CUDA}/Dockerfile" in changed
    body = repo.git("log", "-1", "--format=%b")
    assert f"- remove {PIPELINE}" in body
    assert f"- edit {README} (rows replaced: {CPU} -> {TORCH[CPU]}, " in body
    assert repo.status() == ""
    findings = repo.bumper("--format", "json", "check").json()["findings"]
    assert isinstance(findings, list)
    assert {f["rule"] for f in findings} == {"lock"}  # --no-lock: the locks are all it says


def test_dry_run_shows_the_companion_edits_and_writes_nothing(crepo: Repo) -> None:
    repo = crepo
    before, head = repo.snapshot(), repo.head()

    run = repo.ok("major", "--torch", "2.10.0", "--retire", "--dry-run")

    lines = run.out.splitlines()
    assert f"new file {NEW_PIPELINE} (from {PIPELINE})" in lines
    assert f"--- a/{PIPELINE}" in lines and f"+++ b/{NEW_PIPELINE}" in lines
    assert f"-    value: {IMAGES}/{CUDA}" in lines
    assert f"+    value: {IMAGES}/{NEW_CUDA}" in lines
    assert f"+    value: quay.io/opendatahub/odh-training-{NEW_CUDA}:on-pr-{{{{revision}}}}" \
        in lines
    assert f"remove file {PIPELINE}" in lines
    assert f"--- a/{README}" in lines and f"+++ b/{README}" in lines
    for old, new in ROWS.values():
        assert f"-{old}" in lines and f"+{new}" in lines
    repo.assert_untouched(before, head)

    data = repo.ok("--format", "json", "major", "--torch", "2.10.0", "--dry-run").json()
    assert data["companions"] == [
        {"path": NEW_PIPELINE, "action": "add", "from": PIPELINE},
        {"path": README, "action": "edit", "from": None}]
    repo.assert_untouched(before, head)


def test_a_failed_lock_leaves_the_companions_untouched(faulty_repo: Repo) -> None:
    repo = add_pipeline(faulty_repo)
    assert repo.index is not None
    repo.index.hide("torch", "2.10.0", index="cuda13.0-ubi9")
    before, head = repo.snapshot(), repo.head()

    run = repo.fails(3, "major", "--torch", "2.10.0", "--retire", "--yes")

    assert f"uv could not lock {IMAGES}/{NEW_CUDA}: No solution found" in run.err
    repo.assert_untouched(before, head)
    assert not (repo.root / NEW_PIPELINE).exists()


def test_a_failed_commit_puts_the_companions_back(crepo: Repo) -> None:
    repo = crepo
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    before, head = repo.snapshot(), repo.head()

    run = repo.fails(3, "major", "--torch", "2.10.0", "--retire", "--no-lock", "--yes")

    assert "git commit failed" in run.err
    repo.assert_untouched(before, head)  # the old pipeline is back, the new one gone


def test_a_pipeline_in_a_new_folder_is_rolled_back_with_its_folder(repo: Repo) -> None:
    """A pattern that puts each pipeline in a folder of its own: a failed bump leaves no
    empty folder behind."""
    (repo.root / "pyproject.toml").write_text(
        '[tool.bumper]\ncompanions = [{ kind = "pipeline", glob = "ci/{name}/build.yaml" }]\n',
        encoding="utf-8")
    (repo.root / "ci" / CUDA).mkdir(parents=True)
    (repo.root / "ci" / CUDA / "build.yaml").write_text(f"context: {IMAGES}/{CUDA}\n",
                                                        encoding="utf-8")
    repo.commit_all("ci")
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    before, head = repo.snapshot(), repo.head()
    repo.fails(3, "major", "--cuda", "12.8", "--no-lock", "--yes")
    repo.assert_untouched(before, head)
    hook.unlink()
    repo.ok("major", "--cuda", "12.8", "--no-lock", "--yes")
    new = "th05-cuda128-torch291-py312"
    assert text(repo, f"ci/{new}/build.yaml") == f"context: {IMAGES}/{new}\n"
    assert f"ci/{new}/build.yaml" in repo.changed_in()
    assert not (repo.root / README).read_text(encoding="utf-8").count(new)  # tables: off


def test_an_uncommitted_companion_is_refused(crepo: Repo) -> None:
    repo = crepo
    (repo.root / README).write_text(text(repo, README) + "\nlocal notes\n", encoding="utf-8")
    run = repo.fails(2, "major", "--torch", "2.10.0", "--no-lock", "--yes")
    assert f"{README}: has uncommitted changes" in run.err
    assert not (repo.root / NEW_PIPELINE).exists()


def test_an_existing_pipeline_for_the_new_folder_is_kept(crepo: Repo) -> None:
    repo = crepo
    (repo.root / NEW_PIPELINE).write_text("# written by hand\n", encoding="utf-8")
    repo.commit_all("ci: pipeline ahead of the folder")
    run = repo.ok("major", "--torch", "2.10.0", "--no-lock", "--yes")
    assert text(repo, NEW_PIPELINE) == "# written by hand\n"
    assert f"warning: {NEW_PIPELINE}: already exists; left as it is (compare it with " \
        f"{PIPELINE})" in run.err
    assert NEW_PIPELINE not in repo.changed_in()


def test_a_version_the_bump_cannot_tell_is_a_leftover_in_the_new_pipeline(crepo: Repo) -> None:
    repo = crepo
    (repo.root / PIPELINE).write_text(text(repo, PIPELINE).replace(
        "    pipelines.appstudio.openshift.io/type: build\n",
        "    pipelines.appstudio.openshift.io/type: build\n    torch: \"2.9.1\"\n"),
        encoding="utf-8")
    repo.commit_all("ci: a label with the torch version")
    run = repo.ok("major", "--torch", "2.10.0", "--from", CUDA, "--no-lock", "--yes")
    line = lines_naming(repo, NEW_PIPELINE, '"2.9.1"')[0]
    assert f'  {NEW_PIPELINE}:{line}: torch: "2.9.1"' in run.out.splitlines()
    assert f'{NEW_PIPELINE}:{line}: torch: "2.9.1"' in repo.git("log", "-1", "--format=%b")
    assert table(repo) == [ROWS[CPU][0], ROWS[CUDA][0], ROWS[CUDA][1], ROWS[ROCM][0]]


# --- check ------------------------------------------------------------------------------------


def test_check_reports_companions_of_a_folder_removed_by_hand(crepo: Repo) -> None:
    repo = crepo
    repo.git("rm", "-q", "-r", f"{IMAGES}/{CUDA}")
    repo.git("commit", "-q", "-m", "drop the cuda image")

    run = repo.bumper("check")

    assert run.code == 1, str(run)
    where = f"{IMAGES}/{CUDA}"
    pipeline = [f"{PIPELINE}:{n}: C001 pipeline file names {where}, which does not exist "
                f"{MISSING_FIX}" for n in lines_naming(repo, PIPELINE, CUDA)]
    assert len(pipeline) == 8  # cel expression (2), component, name, image, dockerfile, ...
    row = lines_naming(repo, README, f"[{CUDA}]")[0]
    assert run.out.splitlines() == [
        *pipeline, f"{README}:{row}: C001 table row names {where}, which does not exist "
        "(remove the row, or restore the folder)"]
    data = repo.bumper("--format", "json", "check").json()
    findings = data["findings"]
    assert isinstance(findings, list)
    assert {f["rule"] for f in findings} == {"companion"}


def test_check_reports_a_pipeline_whose_file_name_alone_names_a_missing_folder(
        repo: Repo) -> None:
    gone = "th04-cuda128-torch290-py312"
    (repo.root / ".tekton").mkdir()
    (repo.root / ".tekton" / f"{gone}-push.yaml").write_text("kind: PipelineRun\n",
                                                           encoding="utf-8")
    run = repo.bumper("check")
    assert (run.code, run.out) == (1, f".tekton/{gone}-push.yaml: C001 pipeline file names "
                                      f"{IMAGES}/{gone}, which does not exist {MISSING_FIX}\n")


def test_check_reads_folder_paths_in_any_table_row(repo: Repo) -> None:
    """The top-level README names folders by path; prose and code blocks are not rows."""
    gone = "th04-cuda128-torch290-py312"
    (repo.root / "README.md").write_text(
        f"Images live in {IMAGES}/{gone} and others.\n\n"
        "| image | notes |\n|---|---|\n"
        f"| `{IMAGES}/{CPU}` | fine |\n"
        f"| [cuda]({IMAGES}/{gone}/Dockerfile) | stale |\n\n"
        f"```\n| {IMAGES}/{gone} | in a code block |\n```\n", encoding="utf-8")
    run = repo.bumper("check")
    assert (run.code, run.out) == (1, f"README.md:6: C001 table row names {IMAGES}/{gone}, which "
                                      "does not exist (remove the row, or restore the "
                                      "folder)\n"), str(run)
    # checking some folders only leaves the companions alone
    assert repo.bumper("check", CPU).code == 0


# --- settings ---------------------------------------------------------------------------------


def test_no_companions_when_the_list_is_empty(crepo: Repo) -> None:
    repo = crepo
    (repo.root / "bumper.toml").write_text("companions = []\n", encoding="utf-8")
    repo.commit_all("no companions")
    repo.ok("major", "--torch", "2.10.0", "--no-lock", "--yes")
    assert not (repo.root / NEW_PIPELINE).exists()
    assert NEW_CUDA not in text(repo, README)


@pytest.mark.parametrize(("value", "message"), [
    ('"README.md"', "companions must be a list of tables (or [] for none)"),
    ('["README.md"]', 'companions: each entry is a table like { kind = "pipeline", '
     'glob = ".tekton/*{name}*.yaml" }'),
    ('[{ kind = "docs", glob = "x" }]', "companions: kind 'docs' is not one of pipeline, table"),
    ('[{ kind = "table" }]', "companions: table entry needs a glob (a string)"),
    ('[{ kind = "table", glob = "x.md", when = 1 }]',
     "companions: unknown key 'when' (known: glob, kind)"),
    ('[{ kind = "pipeline", glob = ".tekton/*.yaml" }]',
     "companions: pipeline glob '.tekton/*.yaml' needs {name} where the folder name goes"),
    ('[{ kind = "table", glob = "{name}.md" }]',
     "companions: table glob '{name}.md': a table names every folder; drop {name}"),
    ('[{ kind = "table", glob = "{folder}.md" }]',
     "companions: glob '{folder}.md': unknown field {folder} (known: {name}, {images-root})"),
    ('[{ kind = "table", glob = "../README.md" }]',
     "companions: glob '../README.md' must be relative to the repository root, with / and "
     "without .."),
])
def test_bad_companion_settings_exit_2(repo: Repo, value: str, message: str) -> None:
    (repo.root / "pyproject.toml").write_text(f"[tool.bumper]\ncompanions = {value}\n",
                                              encoding="utf-8")
    run = repo.fails(2, "check")
    assert run.err == f"bumper: error: pyproject.toml [tool.bumper]: {message}\n"


# --- table rows, in process -------------------------------------------------------------------


def _python_bump(name: str, new: str) -> Rewrite:
    from bumper.model import Accel, Stack

    old = Stack("0.5.0", Accel("cuda", "13.0"), "2.9.1", "3.12")
    return Rewrite(old=old, new=old.with_changes(python="3.13"), old_name=name, new_name=new)


def _edits(tmp_path: Path, readme: str, *, retire: bool = False) -> tuple[str | None, list[str]]:
    (tmp_path / IMAGES).mkdir(parents=True)
    (tmp_path / "README.md").write_bytes(readme.encode())
    config = load(tmp_path)
    new = CUDA.replace("py312", "py313")
    edits, warnings = plan_edits(config, [_python_bump(CUDA, new)], retire=retire)
    assert [edit.rel for edit in edits] in ([], ["README.md"])
    return (edits[0].after if edits else None), warnings


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_row_keeps_the_file_newlines_and_a_python_cell_moves(tmp_path: Path,
                                                               newline: str) -> None:
    readme = newline.join(["| Image | Python |", "| :-- | --: |", f"| {CUDA} | 3.12 |",
                           "| other | 3.12 |", ""])
    after, warnings = _edits(tmp_path, readme)
    new = CUDA.replace("py312", "py313")
    assert after == newline.join(["| Image | Python |", "| :-- | --: |", f"| {CUDA} | 3.12 |",
                                  f"| {new} | 3.13 |", "| other | 3.12 |", ""])
    assert warnings == []


def test_a_last_row_without_newline(tmp_path: Path) -> None:
    after, _ = _edits(tmp_path, f"| a | b |\n|---|---|\n| {CUDA} | x |")
    assert after == f"| a | b |\n|---|---|\n| {CUDA} | x |\n| {CUDA[:-1]}3 | x |"
    after, _ = _edits(tmp_path / "retire", f"| a | b |\n|---|---|\n| {CUDA} | x |", retire=True)
    assert after == f"| a | b |\n|---|---|\n| {CUDA[:-1]}3 | x |"


@pytest.mark.parametrize("readme", [
    f"{CUDA} in prose is no row\n",
    f"| {CUDA} | a header is no row |\n|---|---|\n",
    f"```\n| a | b |\n|---|---|\n| {CUDA} | x |\n```\n",
    f"| no separator | after the header |\n| {CUDA} | x |\n",
])
def test_only_table_body_rows_are_edited(tmp_path: Path, readme: str) -> None:
    assert _edits(tmp_path, readme) == (None, [])


def test_a_row_for_the_new_folder_already_there_is_left(tmp_path: Path) -> None:
    new = CUDA.replace("py312", "py313")
    readme = f"| a |\n|---|\n| {CUDA} |\n| {new} |\n"
    assert _edits(tmp_path, readme) == (
        None, [f"README.md: already has a row for {new}; left as it is"])
