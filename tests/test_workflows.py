"""The GitHub Actions workflows: valid by the workflow schema, and their bumper steps green on
the bundled examples against the local index.

The steps are read from the YAML (the `run:` scripts of the jobs' steps that start with
`bumper` or `python -m localindex`) and run as Actions runs them (`bash -eo pipefail`, the
workflow, job and step `env:`, an unset secret as an empty string) in a snapshot of this
checkout, with this virtual environment first on PATH in place of the `pip install .` step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bumprepo import CPU, CUDA, IMAGES, Repo, lock_pins
from tests.helpers import git, worktree_repo

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOWS = REPO / ".github" / "workflows"
PR = WORKFLOWS / "bumper-pr.yml"
REFRESH = WORKFLOWS / "bumper-refresh.yml"
BUMPER_STEP = re.compile(r"\A(bumper|python -m localindex)\b")
SECRET = re.compile(r"\A\$\{\{\s*secrets\.\w+\s*\}\}\Z")
LOCK = "requirements.txt"


# --- schema ---------------------------------------------------------------------------------


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_every_workflow_file_validates() -> None:
    files = sorted(p for p in WORKFLOWS.iterdir() if p.suffix in {".yml", ".yaml"})
    assert {PR, REFRESH} <= set(files)
    done = check_jsonschema(*files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The builtin schema really validates (offline): a job without runs-on fails."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  check:\n    steps:\n      - run: bumper check\n",
                      encoding="utf-8")
    done = check_jsonschema(broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runs-on" in done.stdout, done.stdout


# --- running the jobs' bumper steps ---------------------------------------------------------


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def env_of(*tables: dict[str, Any] | None) -> dict[str, str]:
    """`env:` tables merged as Actions does; a secret that is not set is an empty string."""
    out: dict[str, str] = {}
    for table in tables:
        for key, value in (table or {}).items():
            text = str(value)
            if "${{" in text:
                assert SECRET.match(text), f"{key}: no stand-in for {text!r} in this test"
                text = ""
            out[key] = text
    return out


def bumper_steps(path: Path, job_id: str) -> list[tuple[str, dict[str, str]]]:
    """(script, env) of the job's steps whose `run:` starts with bumper or the local index."""
    workflow = load(path)
    job = workflow["jobs"][job_id]
    steps = []
    for step in job["steps"]:
        script = step.get("run", "").strip()
        if not BUMPER_STEP.match(script):
            continue
        assert "shell" not in step and "working-directory" not in step, step
        steps.append((script, env_of(workflow.get("env"), job.get("env"), step.get("env"))))
    return steps


@pytest.fixture(scope="session")
def actions_env(tmp_path_factory: pytest.TempPathFactory,
                bump_env: dict[str, str]) -> dict[str, str]:
    """The runner: this venv first on PATH (the `pip install .` step), no user git config,
    and the local index's wheel cache (`python -m localindex run`) in a session dir."""
    return {**bump_env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("xdg-cache"))}


@pytest.fixture
def checkout(tmp_path: Path, actions_env: dict[str, str]) -> Path:
    """actions/checkout: this repository's working tree in a fresh git repository."""
    root = tmp_path / "checkout"
    worktree_repo(root, actions_env)
    return root


def run_steps(root: Path, base_env: dict[str, str],
              steps: list[tuple[str, dict[str, str]]]) -> list[subprocess.CompletedProcess[str]]:
    """Each step as Actions runs a `run:` script; stops at the first failing one."""
    done = []
    for script, env in steps:
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                                cwd=root, env={**base_env, **env}, capture_output=True,
                                text=True, timeout=300, check=False)
        done.append(result)
        if result.returncode != 0:
            break
    return done


def show(done: list[subprocess.CompletedProcess[str]]) -> str:
    return "\n".join(f"$ {d.args[-1]}  -> exit {d.returncode}\n{d.stdout}{d.stderr}"
                     for d in done)


def changed(root: Path, env: dict[str, str]) -> list[str]:
    return sorted(line[3:] for line in git(root, env, "status", "--porcelain").splitlines())


def test_refresh_job_upgrades_the_locks_and_they_pass_check(checkout: Path,
                                                            actions_env: dict[str, str]) -> None:
    steps = bumper_steps(REFRESH, "refresh")
    scripts = [script for script, _ in steps]
    assert any("bumper lock --upgrade" in s for s in scripts), scripts
    assert scripts[-1] == "bumper check", scripts
    # Unset secrets reach bumper as empty strings: they must count as no credentials.
    assert {"BUMPER_INDEX_USERNAME": "", "BUMPER_INDEX_PASSWORD": ""}.items() <= steps[0][1].items()
    locks = {name: (checkout / IMAGES / name / LOCK).read_text(encoding="utf-8")
             for name in (CPU, CUDA)}

    done = run_steps(checkout, actions_env, steps)
    assert [d.returncode for d in done] == [0] * len(steps), show(done)

    # --upgrade moved pins (the index serves newer versions than the bundled locks hold), and
    # only locks changed: the pull request would carry requirements.txt files alone.
    touched = changed(checkout, actions_env)
    assert f"{IMAGES}/{CPU}/{LOCK}" in touched, touched
    assert all(path.startswith(IMAGES) and path.endswith(f"/{LOCK}") for path in touched), touched
    for name, before in locks.items():
        after = (checkout / IMAGES / name / LOCK).read_text(encoding="utf-8")
        moved = {pkg for pkg, version in lock_pins(after).items()
                 if lock_pins(before).get(pkg) != version}
        assert moved, f"{name}: no pin moved"

    # The changed locks are consistent and current against the index the refresh used.
    again = run_steps(checkout, actions_env, [
        ("bumper check", {}), ("python -m localindex run -- bumper lock --check", {})])
    assert [d.returncode for d in again] == [0, 0], show(again)

    # The next day, with nothing new on the index: the tree stays as committed, so
    # create-pull-request has nothing to push.
    git(checkout, actions_env, "commit", "-q", "-am", "refresh")
    done = run_steps(checkout, actions_env, steps)
    assert [d.returncode for d in done] == [0] * len(steps), show(done)
    assert changed(checkout, actions_env) == []


def test_refresh_pull_request_carries_only_locks() -> None:
    """create-pull-request opens or updates one branch, with the locks only."""
    steps = load(REFRESH)["jobs"]["refresh"]["steps"]
    pr = [s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request@")]
    assert len(pr) == 1, steps
    options = pr[0]["with"]
    assert options["branch"]
    assert options["add-paths"] == "images/**/requirements.txt"


def test_pr_job_passes_on_the_examples(checkout: Path, actions_env: dict[str, str]) -> None:
    steps = bumper_steps(PR, "check")
    scripts = [script for script, _ in steps]
    assert "bumper check" in scripts, scripts
    assert any(s.endswith("bumper lock --check") for s in scripts), scripts
    done = run_steps(checkout, actions_env, steps)
    assert [d.returncode for d in done] == [0] * len(steps), show(done)
    assert changed(checkout, actions_env) == []


def test_pr_job_fails_on_a_broken_folder(checkout: Path, actions_env: dict[str, str]) -> None:
    pyproject = checkout / IMAGES / CPU / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"torch==2.9.1"', '"torch==2.10.0"'), encoding="utf-8")
    steps = bumper_steps(PR, "check")
    for script, env in steps:  # every step on its own: each one catches it
        [done] = run_steps(checkout, actions_env, [(script, env)])
        assert done.returncode == 1, show([done])
        assert f"{IMAGES}/{CPU}/" in done.stdout, show([done])


# --- comment-only changes -------------------------------------------------------------------


def test_a_relock_that_changes_only_comments_leaves_the_lock_alone(repo: Repo) -> None:
    """What keeps a quiet day's refresh from opening a pull request: uv's `# via` notes and
    the header may differ from the file, the pins and hashes do not."""
    text = repo.read(CPU, LOCK)
    assert text.count("    # via tensorboard\n") >= 1
    edited = text.replace("    # via tensorboard\n", "    # via tensorboard (by hand)\n")
    header = "#    bumper lock images/universal/training/" + CPU + "\n"
    assert header in edited
    edited = edited.replace(header, "#    uv pip compile pyproject.toml -o requirements.txt\n")
    repo.write(CPU, LOCK, edited)

    run = repo.ok("lock", CPU)
    assert run.out == f"{IMAGES}/{CPU}/{LOCK}: unchanged\n", str(run)
    assert repo.read(CPU, LOCK) == edited
    run = repo.ok("lock", "--check", CPU)
    assert repo.read(CPU, LOCK) == edited
    repo.ok("check", CPU)

    # A change that is not a comment is seen, and the relock writes uv's whole output.
    repo.write(CPU, LOCK, edited.replace("absl-py==2.3.1", "absl-py==2.3.0"))
    assert repo.bumper("lock", "--check", CPU).code == 1
    repo.ok("lock", CPU)
    assert repo.read(CPU, LOCK) == text
