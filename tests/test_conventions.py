"""Any repo's conventions (issue 12): `bumper init` learns them, `check` reports only real
drift, `major` edits versionless folders in place, `downstream` builds the switch style.

The repos are written by tests/convention_repos.py (three conventions, locks by the real
uv against the local index); every test works on its own copy.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from localindex.server import IndexServer
from tests.bumprepo import Repo
from tests.convention_repos import IMAGES, write_repo

STYLES = ("versioned", "versionless", "transition")
CUDA_B, ROCM_B, CPU_B = "th-torch-cuda-py312", "th-torch-rocm-py312", "th-torch-cpu-py312"
CUDA_A, ROCM_A, CPU_A = ("th05-cuda130-torch291-py312", "th05-rocm64-torch291-py312",
                         "th05-cpu-torch291-py312")


@pytest.fixture(scope="session")
def style_repos(tmp_path_factory: pytest.TempPathFactory, bump_env: dict[str, str],
                shared_index: IndexServer) -> dict[str, Path]:
    """Each convention's repo, written and committed once per session (not yet init'ed)."""
    out = {}
    for style in STYLES:
        root = tmp_path_factory.mktemp(style) / "repo"
        root.mkdir()
        write_repo(root, style, shared_index.index_url, bump_env)
        out[style] = root
    return out


@pytest.fixture
def make_repo(style_repos: dict[str, Path], tmp_path: Path, bump_env: dict[str, str],
              shared_index: IndexServer) -> Callable[[str], Repo]:
    def make(style: str) -> Repo:
        dst = tmp_path / style
        shutil.copytree(style_repos[style], dst, symlinks=True)
        return Repo(dst, bump_env, shared_index)

    return make


def initialized(repo: Repo) -> Repo:
    """`bumper init`, then commit the settings as a user would."""
    repo.ok("init")
    repo.commit_all("bumper init")
    return repo


def findings(repo: Repo, *args: str) -> list[dict[str, object]]:
    run = repo.bumper("--format", "json", "check", *args)
    assert run.code in (0, 1), str(run)
    data = run.json()
    assert isinstance(data["findings"], list)
    return data["findings"]


def edit(repo: Repo, folder: str, file: str, old: str, new: str, count: int = 1) -> None:
    text = repo.read(folder, file)
    assert text.count(old) >= count, f"{old!r} not in {folder}/{file}"
    repo.write(folder, file, text.replace(old, new, count))


# --- init, then a clean check ---------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_init_writes_settings_after_which_check_is_clean(make_repo: Callable[[str], Repo],
                                                         style: str) -> None:
    repo = make_repo(style)
    dry = repo.ok("init", "--dry-run")
    assert "+[tool.bumper]" in dry.out and "inferred naming = " in dry.out
    assert repo.status() == ""  # --dry-run writes nothing
    initialized(repo)
    settings = tomllib.loads((repo.root / "pyproject.toml").read_text())["tool"]["bumper"]
    expected = {
        "versioned": ("th{th}-{accel}-torch{torch}-py{python}", "universal-training-{name}",
                      "always", "banner", "dependencies"),
        "versionless": ("th-torch-{accel_kind}-py{python}", "th-torch-{accel_kind}-universal-image",
                        "never", "switch", "constraints"),
        "transition": ("th-torch-{accel_kind}-py{python}", "th-torch-{accel_kind}-universal-image",
                       "never", "switch", "constraints"),
    }[style]
    keys = ("naming", "project-name", "hashes", "downstream", "cve-fixes")
    assert tuple(settings[k] for k in keys) == expected
    assert settings["images-root"] == IMAGES
    if style == "transition":
        assert [(t["naming"], t["hashes"], t["downstream"]) for t in settings["legacy"]] == [
            ("th{th}-{accel}-torch{torch}-py{python}", "always", "banner")]
    else:
        assert "legacy" not in settings
    assert settings["label-name"] == ("universal-training-{name}" if style == "versioned"
                                      else "{name}")
    run = repo.ok("check")
    assert run.out == "" and "no findings" in run.err


def test_init_refuses_to_guess_where_folders_disagree(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("versionless")
    edit(repo, ROCM_B, "pyproject.toml", 'name = "th-torch-rocm-universal-image"',
         'name = "rocm-training"')
    run = repo.fails(2, "init")
    assert "disagree on 1 point(s)" in run.err
    listed = [line for line in run.err.splitlines() if line.startswith("disagreement: ")]
    assert len(listed) == 1
    assert f"{IMAGES}/{ROCM_B}: rocm-training" in listed[0]
    assert not (repo.root / "pyproject.toml").exists()


# --- planted drifts: each one finding, with its rule code -------------------------------------


def _unhashed_a(repo: Repo) -> None:
    text = repo.read(CUDA_A, "requirements.txt")
    repo.write(CUDA_A, "requirements.txt", re.sub(r" \\\n(?:    --hash=\S+(?: \\)?\n)+", "\n",
                                                  text))


DRIFTS: list[tuple[str, str, Callable[[Repo], None]]] = [
    ("versionless", "V003", lambda r: edit(r, CUDA_B, "Dockerfile", "image with PyTorch 2.9.1",
                                           "image with PyTorch 2.9.0")),
    ("versionless", "I001", lambda r: edit(r, ROCM_B, "Dockerfile", "3.4-EA1/rocm6.4",
                                           "3.3/rocm6.4")),
    ("versionless", "D002", lambda r: edit(r, CPU_B, "Dockerfile", "ENTRYPOINT",
                                           "RUN dnf install -y vim-minimal\nENTRYPOINT")),
    ("versionless", "D003", lambda r: edit(r, CUDA_B, "Dockerfile", "ARG DOWNSTREAM=false",
                                           "ARG DOWNSTREAM=true")),
    ("versionless", "L006", lambda r: edit(r, CUDA_B, "pyproject.toml", '"urllib3>=2.5.0"',
                                           '"urllib3>=2.5.0,<2.6"')),
    ("versionless", "N004", lambda r: edit(r, ROCM_B, "Dockerfile", f'name="{ROCM_B}"',
                                           'name="th-torch-rocm-py311"')),
    ("versionless", "N003", lambda r: edit(r, CPU_B, "pyproject.toml",
                                           '"th-torch-cpu-universal-image"', '"th-torch-cpu"')),
    ("versionless", "L004", lambda r: edit(r, CPU_B, "requirements.txt", "\nxxhash==3.6.0\n",
                                           "\nxxhash==3.6.0 \\\n    --hash=sha256:" + "ab" * 32
                                           + "\n")),
    ("versionless", "N002", lambda r: r.git("mv", f"{IMAGES}/{CPU_B}", f"{IMAGES}/torch-cpu")),
    ("versioned", "L004", _unhashed_a),
    ("versioned", "V001", lambda r: edit(r, CUDA_A, "Dockerfile", "ARG PYTHON_VERSION=3.12",
                                         "ARG PYTHON_VERSION=3.11")),
    ("versioned", "V002", lambda r: edit(r, CUDA_A, "Dockerfile", "cuda-nvcc-13-0",
                                         "cuda-nvcc-12-8")),
    ("versioned", "D001", lambda r: edit(r, ROCM_A, "Dockerfile", "# END MIDSTREAM ONLY\n", "")),
    ("versioned", "L001", lambda r: r.write(CPU_A, "requirements.txt", r.read(
        CPU_A, "requirements.txt").split("\n", 1)[1])),
    ("transition", "L002", lambda r: edit(r, ROCM_A, "pyproject.toml", '"numpy>=2.0.0,<2.4",',
                                          '"numpy>=2.0.0,<2.4",\n    "einops>=0.8",')),
]


@pytest.mark.parametrize(("style", "code", "drift"), DRIFTS,
                         ids=[f"{s}-{c}" for s, c, _ in DRIFTS])
def test_each_planted_drift_gives_exactly_its_one_finding(
        make_repo: Callable[[str], Repo], style: str, code: str,
        drift: Callable[[Repo], None]) -> None:
    repo = initialized(make_repo(style))
    drift(repo)
    found = findings(repo)
    assert [f["code"] for f in found] == [code], json.dumps(found, indent=1)
    assert found[0]["severity"] in ("error", "warning")
    # --ignore drops it, --select of another family keeps it out too
    assert findings(repo, "--ignore", code) == []
    assert findings(repo, "--select", "C") == []
    assert [f["code"] for f in findings(repo, "--select", code[0])] == [code]


def test_an_unhashed_lock_on_a_hashed_repo_is_one_finding_with_the_pins_inside(
        make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versioned"))
    _unhashed_a(repo)
    lock = repo.read(CUDA_A, "requirements.txt")
    pins = [line.split(" ")[0] for line in lock.splitlines() if re.match(r"^[a-z0-9].*==", line)]
    assert len(pins) > 20
    (finding,) = findings(repo)
    assert finding["message"] == (f"{len(pins)} of {len(pins)} pins have no --hash; this repo's "
                                  "policy is hashed")
    assert [d.split(" ")[0] for d in finding["details"]] == pins  # type: ignore[union-attr]
    text = repo.bumper("check")
    assert text.code == 1
    assert len(text.out.splitlines()) == 5  # the finding, three pins, "... and N more"


def test_locks_without_the_index_line_are_a_convention_not_a_finding(
        make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versionless"))
    for name in (CUDA_B, ROCM_B, CPU_B):
        repo.write(name, "requirements.txt", repo.read(name, "requirements.txt").split("\n", 1)[1])
    assert findings(repo) == []


def test_a_folder_outside_every_scheme_names_the_naming_setting(
        make_repo: Callable[[str], Repo]) -> None:
    """Without init, a versionless repo's names fit the default scheme nowhere: one finding,
    whose fix is the setting that fits them all."""
    repo = make_repo("versionless")
    found = [f for f in findings(repo) if f["code"] == "N002"]
    assert len(found) == 1
    assert found[0]["fix"] == ('set naming = "th-torch-{accel_kind}-py{python}" in '
                               "[tool.bumper]: it fits every folder (bumper init)")
    assert len(found[0]["details"]) == 3  # type: ignore[arg-type]


# --- major in place ---------------------------------------------------------------------------


def test_major_torch_edits_the_versionless_folders_in_place(
        make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versionless"))
    before = repo.folders()
    commits = repo.commits()
    repo.ok("major", "--torch", "2.10.0", "--yes")
    assert repo.folders() == before
    assert repo.commits() == commits + 1
    changed = repo.changed_in()
    for name in (CUDA_B, ROCM_B, CPU_B):
        assert f"{IMAGES}/{name}/pyproject.toml" in changed
        assert f"{IMAGES}/{name}/requirements.txt" in changed
        pyproject = repo.read(name, "pyproject.toml")
        kind = name.split("-")[2]
        assert f'name = "th-torch-{kind}-universal-image"' in pyproject
        assert '"torch==2.10.0"' in pyproject and "2.9.1" not in pyproject
        docker = repo.read(name, "Dockerfile")
        assert f'LABEL name="{name}"' in docker
        assert docker.splitlines()[0].endswith("PyTorch 2.10.0 / Python 3.12 universal training "
                                               "image")
        assert "with PyTorch 2.10.0" in docker and "2.9.1" not in docker
        lock = repo.read(name, "requirements.txt")
        assert "\ntorch==2.10.0" in lock and "--hash=" not in lock
    assert repo.ok("check").out == ""
    assert "in place" in repo.git("log", "-1", "--format=%B")


def test_retire_is_refused_for_an_in_place_major(make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versionless"))
    head = repo.head()
    run = repo.fails(2, "major", "--torch", "2.10.0", "--retire", "--yes")
    assert "edited in place" in run.err
    assert repo.head() == head and repo.status() == ""


def test_minor_still_refuses_a_stack_change(make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versionless"))
    run = repo.fails(2, "minor", "--set", "torch==2.10.0", "--yes")
    assert "run: bumper major --torch 2.10.0" in run.err


def test_transition_major_makes_new_folders_by_the_current_scheme_only(
        make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("transition"))
    before = set(repo.folders())
    repo.ok("major", "--training-hub", "0.6.0", "--yes")
    added = set(repo.folders()) - before
    # cuda: the versionless folder is the newest and is edited in place; rocm and cpu
    # have legacy folders only: their new folders follow the current scheme
    assert added == {ROCM_B, CPU_B}
    assert '"training_hub==0.6.0"' in repo.read(CUDA_B, "pyproject.toml")
    for name in (ROCM_B, CPU_B):
        assert 'name = "th-torch-' in repo.read(name, "pyproject.toml")
        assert f'LABEL name="{name}"' in repo.read(name, "Dockerfile")
    for legacy in (CUDA_A, ROCM_A, CPU_A):
        assert '"training_hub==0.5.0"' in repo.read(legacy, "pyproject.toml")
    assert findings(repo) == []


# --- downstream -------------------------------------------------------------------------------


def test_downstream_of_a_switch_folder_drops_exactly_the_guarded_steps(
        make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versionless"))
    for name in (CUDA_B, ROCM_B, CPU_B):
        source = repo.read(name, "Dockerfile").splitlines()
        run = repo.ok("downstream", name)
        assert "--build-arg DOWNSTREAM=true" in run.err
        out = run.out.splitlines()
        first = next(i for i, line in enumerate(source) if line.startswith("RUN if [ "))
        last = next(i for i in range(first, len(source)) if source[i].strip() == "fi")
        kept = [line if line != "ARG DOWNSTREAM=false" else "ARG DOWNSTREAM=true"
                for i, line in enumerate(source) if not first <= i <= last]
        assert out == kept
        assert "ARG DOWNSTREAM=false" not in run.out
        assert [ln for ln in source if ln.startswith(("ENV", "COPY"))] == [
            ln for ln in out if ln.startswith(("ENV", "COPY"))]
        assert not any("dnf install" in line for line in out)


def test_downstream_convert_moves_banners_to_the_switch(make_repo: Callable[[str], Repo]) -> None:
    repo = initialized(make_repo("versioned"))
    before = repo.read(CUDA_A, "Dockerfile")
    repo.ok("downstream", CUDA_A, "--convert")
    after = repo.read(CUDA_A, "Dockerfile")
    assert "ARG DOWNSTREAM=false" in after and 'RUN if [ "${DOWNSTREAM}" != "true" ]' in after
    assert [ln for ln in before.splitlines() if ln.startswith(("ENV", "COPY"))] == [
        ln for ln in after.splitlines() if ln.startswith(("ENV", "COPY"))]
    # the converted folder is a switch folder now; the repo setting says banner: set it per
    # folder style (auto) and check is clean, every dnf step guarded
    settings = repo.root / "pyproject.toml"
    settings.write_text(settings.read_text().replace('downstream = "banner"',
                                                     'downstream = "auto"'))
    assert findings(repo) == []
    down = repo.ok("downstream", CUDA_A).out
    assert "dnf install" not in down and "COPY cuda.repo" in down


def test_downstream_context_of_a_switch_folder_keeps_the_repo_files(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    repo = initialized(make_repo("versionless"))
    out = tmp_path / "context"
    repo.ok("downstream", ROCM_B, "--output", str(out))
    assert (out / "rocm.repo").is_file()
    assert "COPY rocm.repo /etc/yum.repos.d/" in (out / "Dockerfile").read_text()
    assert repo.status() == ""


@pytest.mark.parametrize("flavor", ["cuda", "rocm", "cpu"])
def test_the_template_renders_the_switch_style(flavor: str, tmp_path: Path) -> None:
    from bumper import downstream, template
    from bumper.formats import dockerfile
    from tests.helpers import REPO

    head = _head(REPO)
    out = tmp_path / flavor
    template.render(REPO, out, {"flavor": flavor, "torch_version": "2.9.1",
                                "training_hub_version": "0.5.0",
                                "downstream_style": "switch"}, head)
    text = (out / "Dockerfile").read_text(encoding="utf-8")
    facts = dockerfile.read(text)
    assert facts.args["DOWNSTREAM"][0] == "false"
    assert dockerfile.unguarded_steps(facts) == []
    assert sum(dockerfile.guarded(ins) for ins in facts.instructions) == 1
    down = downstream.dockerfile(text)
    assert "dnf install" not in down and "ARG DOWNSTREAM=true" in down
    assert [ln for ln in text.splitlines() if ln.startswith(("ENV", "COPY"))] == [
        ln for ln in down.splitlines() if ln.startswith(("ENV", "COPY"))]


def _head(repo: Path) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_an_unknown_rule_is_a_usage_error(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("versioned")
    run = repo.fails(2, "check", "--select", "Z9")
    assert "--select Z9: no such rule" in run.err
    assert repo.fails(2, "check", "--ignore", "lokc").code == 2
