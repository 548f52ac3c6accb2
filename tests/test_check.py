"""`bumper check`: every rule breaks a copy of an example and gets one exact finding.

Findings are compared as printed (`path:line: message (fix)`). Lines are
looked up by the text that carries them, so a re-rendered example keeps the
tests meaningful; messages and fixes are literal.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import (
    CPU,
    CUDA,
    IMAGES,
    ROCM,
    at,
    check,
    line_of,
    path,
    replace,
    run_cli,
    sub,
)

BASE = "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-{}-py312-ubi9:2025b-v1.39"
INDEX = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4-EA1/{}-ubi9/simple/"
OTHER_INDEX = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.3/{}-ubi9/simple/"
SCHEME = "th{th}-{accel}-torch{torch}-py{python}"


def found(root: Path, rel: str, needle: str | None, text: str) -> str:
    """A finding as printed: the line is that of ``needle`` in ``rel`` (none: no line)."""
    head = f"{IMAGES}/{rel}" if needle is None else at(root, rel, needle)
    return f"{head}: {text}"


def lock_fix(folder: str) -> str:
    return f"run: bumper lock {IMAGES}/{folder}"


def name_fix(expected: str) -> str:
    return f"rename the folder to {expected}, or use bumper major for a new folder"


def scheme_fix(expected: str) -> str:
    """The fix of a folder name that fits no naming scheme: rename, or the naming setting."""
    return (f"rename the folder to {expected}, or set naming in [tool.bumper] to a scheme it "
            "fits ([[tool.bumper.legacy]] naming for an older one)")


def coded(line: str, code: str, warning: bool = False) -> str:
    """A finding as the CLI prints it: the rule code after the place."""
    where, _, rest = line.partition(": ")
    return f"{where}: {code}{' warning:' if warning else ''} {rest}"


def rename(root: Path, old: str, new: str) -> None:
    """Rename a folder, and its row in the images README's table (else check says so)."""
    path(root, old).rename(path(root, new))
    readme = root / IMAGES / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


# --- the bundled examples ------------------------------------------------------------------


def test_bundled_examples_have_no_findings(examples: Path) -> None:
    assert check(examples) == []
    assert check(examples, CUDA, f"{IMAGES}/{ROCM}/", str(path(examples, CPU))) == []


def test_cli_on_the_bundled_examples_exits_0(examples: Path) -> None:
    result = run_cli(examples, "check")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "", "3 folders checked: no findings\n")
    result = run_cli(examples, "--format", "json", "check")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "schema": 1, "command": "check", "ok": True, "findings": [],
        "folders": [f"{IMAGES}/{folder}" for folder in (CPU, CUDA, ROCM)]}


# --- folder name vs the versions in the files ----------------------------------------------


@pytest.mark.parametrize(("folder", "renamed", "needle", "text"), [
    (CUDA, "th06-cuda130-torch291-py312", '"training_hub[lora]==',
     "folder name says Training Hub 06, the files say 0.5.0 (renders as 05)"),
    (CUDA, "th05-cuda130-torch290-py312", '"torch==',
     "folder name says PyTorch 290, the files say 2.9.1 (renders as 291)"),
    (CUDA, "th05-cuda130-torch291-py311", "requires-python",
     "folder name says Python 311, the files say 3.12 (renders as 312)"),
    (CUDA, "th05-cuda128-torch291-py312", "index-url =",
     "folder name says accelerator cuda128, the files say CUDA 13.0 (renders as cuda130)"),
    (ROCM, "th05-rocm63-torch291-py312", "index-url =",
     "folder name says accelerator rocm63, the files say ROCm 6.4.3 (renders as rocm64)"),
    (CPU, "th05-rocm64-torch291-py312-x", None, ""),
])
def test_folder_name_field_against_the_files(examples: Path, folder: str, renamed: str,
                                             needle: str | None, text: str) -> None:
    if needle is None:  # a name outside the scheme: one finding on the folder itself
        rename(examples, folder, renamed)
        assert check(examples) == [
            f"{IMAGES}/{renamed}: folder name {renamed} does not fit the naming scheme {SCHEME} "
            f"(the files say {folder}) ({scheme_fix(folder)})"]
        return
    rename(examples, folder, renamed)
    assert check(examples) == [
        found(examples, f"{renamed}/pyproject.toml", needle, f"{text} ({name_fix(folder)})")]


def test_folder_name_in_other_case(examples: Path) -> None:
    rename(examples, CPU, CPU.upper())
    assert check(examples) == [
        f"{IMAGES}/{CPU.upper()}: folder name {CPU.upper()} differs from {CPU} that the files "
        f"give ({name_fix(CPU)})"]


def test_one_torch_pin_change_shows_every_place_that_names_the_old_version(
        examples: Path) -> None:
    replace(examples, f"{CUDA}/pyproject.toml", '"torch==2.9.1"', '"torch==2.9.0"')
    new = "th05-cuda130-torch290-py312"
    df, pp, lk = f"{CUDA}/Dockerfile", f"{CUDA}/pyproject.toml", f"{CUDA}/requirements.txt"
    torch_fix = "the files say 2.9.0 (write PyTorch 2.9.0)"
    name_text = f"names {CUDA}, the files give {new} (write {new})"
    assert check(examples) == [
        found(examples, df, "# TH05", f"header comment says PyTorch 2.9.1, {torch_fix}"),
        found(examples, df, "regenerated with", f"header comment {name_text}"),
        found(examples, df, "summary=", f"LABEL summary says PyTorch 2.9.1, {torch_fix}"),
        found(examples, df, " description=", f"LABEL description says PyTorch 2.9.1, {torch_fix}"),
        found(examples, df, "display-name=",
              f"LABEL io.k8s.display-name says PyTorch 2.9.1, {torch_fix}"),
        found(examples, pp, "# Universal", f"header comment says PyTorch 2.9.1, {torch_fix}"),
        found(examples, pp, "description =",
              f"[project] description says PyTorch 2.9.1, {torch_fix}"),
        found(examples, pp, '"torch==', "folder name says PyTorch 291, the files say 2.9.0 "
              f"(renders as 290) ({name_fix(new)})"),
        found(examples, lk, "torch==2.9.1", "torch==2.9.1 does not satisfy 'torch==2.9.0' of "
              f"pyproject.toml ({lock_fix(CUDA)})"),
    ]


def test_project_name_follows_the_pattern_the_folders_share(examples: Path) -> None:
    replace(examples, f"{CPU}/pyproject.toml", f'name = "universal-training-{CPU}"',
            'name = "universal-training-th05-cpu-torch290-py312"')
    assert check(examples) == [found(
        examples, f"{CPU}/pyproject.toml", "name =", "[project] name "
        "'universal-training-th05-cpu-torch290-py312' does not follow the pattern "
        f"universal-training-{{name}} (universal-training-{CPU}) "
        f'(set name = "universal-training-{CPU}")')]


# --- Python ------------------------------------------------------------------------------


def test_python_arg_against_requires_python(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "ARG PYTHON_VERSION=3.12", "ARG PYTHON_VERSION=3.11")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "ARG PYTHON_VERSION=",
        "ARG PYTHON_VERSION=3.11 but requires-python says 3.12 (set ARG PYTHON_VERSION=3.12)")]


def test_python_of_the_base_image(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "cuda-py312-ubi9", "cuda-py311-ubi9")
    base = BASE.format("cuda").replace("py312", "py311")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "ARG BASE_IMAGE",
        f"base image {base} is for Python 3.11, the image uses Python 3.12 "
        "(use the py312 base image)")]


@pytest.mark.parametrize("spec", ["==3.12.4", ">=3.12,<3.13", "~=3.12.0", "==3.12.*"])
def test_requires_python_forms(examples: Path, spec: str) -> None:
    replace(examples, f"{CPU}/pyproject.toml", '"==3.12.*"', f'"{spec}"')
    assert check(examples, CPU) == []


# --- accelerator: base image, dnf names, paths, repo files ---------------------------------


@pytest.mark.parametrize(("folder", "kind", "written", "text"), [
    (CUDA, "cuda", "rocm", "is a rocm image, the image is CUDA 13.0 (use a cuda base image)"),
    (CUDA, "cuda", "cpu", "is a cpu image, the image is CUDA 13.0 (use a cuda base image)"),
    (CPU, "cpu", "cuda", "is a cuda image, the image is CPU (use a cpu base image)"),
    (ROCM, "rocm", "cuda", "is a cuda image, the image is ROCm 6.4.3 (use a rocm base image)"),
    (CUDA, "cuda", "cuda12.8", "names cuda12.8, the image is CUDA 13.0 "
     "(use the matching base image)"),
    (ROCM, "rocm", "rocm-6.3", "names rocm6.3, the image is ROCm 6.4.3 "
     "(use the matching base image)"),
])
def test_accelerator_of_the_base_image(examples: Path, folder: str, kind: str, written: str,
                                       text: str) -> None:
    replace(examples, f"{folder}/Dockerfile", BASE.format(kind), BASE.format(written))
    assert check(examples) == [found(examples, f"{folder}/Dockerfile", "ARG BASE_IMAGE",
                                     f"base image {BASE.format(written)} {text}")]


@pytest.mark.parametrize(("folder", "kind", "written"), [
    (CUDA, "cuda", "cuda13.0"), (CUDA, "cuda", "cuda130"), (CUDA, "cuda", "cuda-13.0"),
    (ROCM, "rocm", "rocm6.4"), (ROCM, "rocm", "rocm6.4.3"), (ROCM, "rocm", "rocm64"),
])
def test_base_image_accelerator_versions_that_match(examples: Path, folder: str, kind: str,
                                                    written: str) -> None:
    replace(examples, f"{folder}/Dockerfile", BASE.format(kind), BASE.format(written))
    assert check(examples) == []


@pytest.mark.parametrize(("ref", "problem"), [
    ("nvidia/cuda:13.0.1-cudnn-devel-ubi9", None),
    ("nvidia/cuda:12.8.1-cudnn-devel-ubi9", "names cuda12.8.1, the image is CUDA 13.0 "
     "(use the matching base image)"),
    ("quay.io/example/ubi9-python-312:latest", None),  # names no accelerator: nothing to compare
    ("quay.io/example/ubi9-python-311:latest", "is for Python 3.11, the image uses Python 3.12 "
     "(use the py312 base image)"),
])
def test_base_image_references_of_other_shapes(examples: Path, ref: str,
                                               problem: str | None) -> None:
    replace(examples, f"{CUDA}/Dockerfile", BASE.format("cuda"), ref)
    expected = [found(examples, f"{CUDA}/Dockerfile", "ARG BASE_IMAGE",
                      f"base image {ref} {problem}")] if problem else []
    assert check(examples) == expected


def test_cuda_dnf_package_of_another_cuda(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "cuda-nvcc-13-0", "cuda-nvcc-12-8")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "cuda-nvcc-12-8",
        "dnf package cuda-nvcc-12-8 is for CUDA 12.8, the image is CUDA 13.0 "
        "(install cuda-nvcc-13-0)")]


def test_cuda_dnf_package_in_a_cpu_image(examples: Path) -> None:
    replace(examples, f"{CPU}/Dockerfile", "numactl-libs \\", "numactl-libs cuda-compat-13-0 \\")
    assert check(examples) == [found(
        examples, f"{CPU}/Dockerfile", "cuda-compat-13-0",
        "dnf package cuda-compat-13-0 is for CUDA 13.0, the image is CPU "
        "(remove the CUDA package)")]


def test_cuda_path_of_another_cuda(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "CUDA_HOME=/usr/local/cuda ",
            "CUDA_HOME=/usr/local/cuda-12.8 ")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "CUDA_HOME=",
        "/usr/local/cuda-12.8 is CUDA 12.8, the image is CUDA 13.0 (use /usr/local/cuda-13.0)")]


def test_nccl_build_of_another_cuda_major(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "libnccl-2.28.7-1+cuda13.0",
            "libnccl-2.28.7-1+cuda12.9")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "+cuda12.9",
        "NCCL build +cuda12.9 does not match CUDA 13.0 (pick an NCCL build for CUDA 13.x)")]


def test_nccl_build_of_a_later_cuda_minor_is_fine(examples: Path) -> None:
    # NVIDIA ships NCCL for CUDA 13.x as +cuda13.3 builds that work with 13.0
    replace(examples, f"{CUDA}/Dockerfile", "2.28.7-1+cuda13.0", "2.30.7-1+cuda13.3", count=2)
    assert check(examples) == []


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("ROCM_PATH=/opt/rocm-6.4.3", "ROCM_PATH=/opt/rocm-6.4.2", "ROCM_PATH="),
    ("rccl-devel6.4.3", "rccl-devel6.4.2", "rccl-devel"),
    ("ln -sfn /opt/rocm-6.4.3", "ln -sfn /opt/rocm-6.4.2", "ln -sfn"),
])
def test_rocm_release_in_the_dockerfile(examples: Path, old: str, new: str, needle: str) -> None:
    replace(examples, f"{ROCM}/Dockerfile", old, new)
    assert check(examples) == [found(examples, f"{ROCM}/Dockerfile", needle,
                                     "ROCm 6.4.2 named, the image is ROCm 6.4.3 (use 6.4.3)")]


def test_rocm_release_in_rocm_repo(examples: Path) -> None:
    replace(examples, f"{ROCM}/rocm.repo", "rhel9/6.4.3/main", "rhel9/6.4.1/main")
    assert check(examples) == [found(examples, f"{ROCM}/rocm.repo", "rhel9/6.4.1",
                                     "ROCm 6.4.1 named, the image is ROCm 6.4.3 (use 6.4.3)")]


def test_cuda_release_in_cuda_repo(examples: Path) -> None:
    replace(examples, f"{CUDA}/cuda.repo", "name=CUDA 13.0", "name=CUDA 12.8")
    assert check(examples) == [found(examples, f"{CUDA}/cuda.repo", "name=",
                                     "CUDA 12.8 named, the image is CUDA 13.0 (write CUDA 13.0)")]


def test_torch_local_build_of_another_accelerator(examples: Path) -> None:
    replace(examples, f"{CUDA}/pyproject.toml", '"torch==2.9.1"', '"torch==2.9.1+cu128"')
    assert check(examples) == [
        found(examples, f"{CUDA}/pyproject.toml", '"torch==', "torch==2.9.1+cu128 is the cu128 "
              "build, the image is CUDA 13.0 (pin torch==2.9.1+cu130)"),
        found(examples, f"{CUDA}/requirements.txt", "torch==2.9.1", "torch==2.9.1 does not "
              f"satisfy 'torch==2.9.1+cu128' of pyproject.toml ({lock_fix(CUDA)})"),
    ]


# --- the index URL and its places ----------------------------------------------------------


@pytest.mark.parametrize(("file", "old"), [
    ("Dockerfile", f"--index-url={INDEX.format('cuda13.0')}"),
    ("pyproject.toml", f"#     --index-url={INDEX.format('cuda13.0')}"),
    ("requirements.txt", f"--index-url={INDEX.format('cuda13.0')}"),
])
def test_index_url_drift_in_one_place(examples: Path, file: str, old: str) -> None:
    new = old.replace(INDEX.format("cuda13.0"), OTHER_INDEX.format("cuda13.0"))
    replace(examples, f"{CUDA}/{file}", old, new)
    assert check(examples) == [found(
        examples, f"{CUDA}/{file}", new,
        f"index URL {OTHER_INDEX.format('cuda13.0')} differs from the image's "
        f"{INDEX.format('cuda13.0')} (use one index URL everywhere: bumper minor --index-url URL)")]


def test_index_url_of_pyproject_is_the_reference(examples: Path) -> None:
    old, new = INDEX.format("cpu"), OTHER_INDEX.format("cpu")
    replace(examples, f"{CPU}/pyproject.toml", f'index-url = "{old}"', f'index-url = "{new}"')
    text = (f"index URL {old} differs from the image's {new} "
            "(use one index URL everywhere: bumper minor --index-url URL)")
    assert check(examples) == [
        found(examples, f"{CPU}/Dockerfile", "--index-url=", text),
        found(examples, f"{CPU}/pyproject.toml", "#     --index-url", text),
        found(examples, f"{CPU}/requirements.txt", "--index-url=", text),
    ]


def test_index_url_in_an_env_variable_is_a_place_too(examples: Path) -> None:
    replace(examples, f"{CPU}/Dockerfile", "ENV OMP_NUM_THREADS=1 \\",
            f"ENV UV_INDEX_URL={OTHER_INDEX.format('cpu')} \\\n    OMP_NUM_THREADS=1 \\")
    assert check(examples) == [found(
        examples, f"{CPU}/Dockerfile", "UV_INDEX_URL=",
        f"index URL {OTHER_INDEX.format('cpu')} differs from the image's {INDEX.format('cpu')} "
        "(use one index URL everywhere: bumper minor --index-url URL)")]


def test_extra_index_url_is_not_drift(examples: Path) -> None:
    replace(examples, f"{CPU}/Dockerfile", "--require-hashes \\",
            "--require-hashes --extra-index-url=https://pypi.org/simple/ \\")
    assert check(examples) == []


# --- the lock against pyproject ------------------------------------------------------------


def test_lock_pin_that_does_not_satisfy_pyproject(examples: Path) -> None:
    replace(examples, f"{CUDA}/pyproject.toml", '"trl==0.24.0"', '"trl==0.25.0"')
    assert check(examples) == [found(
        examples, f"{CUDA}/requirements.txt", "trl==0.24.0",
        f"trl==0.24.0 does not satisfy 'trl==0.25.0' of pyproject.toml ({lock_fix(CUDA)})")]


def test_dependency_not_in_the_lock(examples: Path) -> None:
    replace(examples, f"{CUDA}/pyproject.toml", '"mlflow-skinny>=3.4.0",',
            '"mlflow-skinny>=3.4.0",\n    "rich>=13",')
    assert check(examples) == [
        f"{IMAGES}/{CUDA}/requirements.txt: rich is a dependency in pyproject.toml but not "
        f"locked ({lock_fix(CUDA)})"]


def test_dependency_markers_are_evaluated_for_the_image_not_this_machine(
        examples: Path) -> None:
    # the image runs Python 3.12 on Linux, whatever Python and OS run bumper
    replace(examples, f"{CUDA}/pyproject.toml", '"mlflow-skinny>=3.4.0",',
            '"mlflow-skinny>=3.4.0",\n'
            "    \"rich>=13; python_version < '3.12'\",\n"
            "    \"pywin32>=306; sys_platform == 'win32'\",\n"
            "    \"colorama>=0.4; python_version >= '3.12' and sys_platform == 'linux'\",")
    assert check(examples) == [
        f"{IMAGES}/{CUDA}/requirements.txt: colorama is a dependency in pyproject.toml but not "
        f"locked ({lock_fix(CUDA)})"]


def test_invalid_requirement_in_pyproject(examples: Path) -> None:
    replace(examples, f"{CPU}/pyproject.toml", '"trl==0.24.0"', '"trl>=>1"')
    assert check(examples) == [found(
        examples, f"{CPU}/pyproject.toml", '"trl>=>1"',
        "invalid requirement 'trl>=>1': Expected semicolon (after name with no version "
        "specifier) or end (write a PEP 508 requirement)")]


def test_lock_pin_without_hash(examples: Path) -> None:
    sub(examples, f"{ROCM}/requirements.txt", r"^(absl-py==2\.3\.1) \\\n    --hash=\S+\n",
        r"\1\n")
    assert check(examples) == [found(examples, f"{ROCM}/requirements.txt", "absl-py==",
                                     "1 of 74 pins have no --hash; this repo's policy is hashed "
                                     f"({lock_fix(ROCM)})")]


def test_lock_without_index_url_line(examples: Path) -> None:
    replace(examples, f"{CPU}/requirements.txt", f"--index-url={INDEX.format('cpu')}\n", "")
    assert check(examples) == [
        f"{IMAGES}/{CPU}/requirements.txt:1: first line is not --index-url=<the image's index> "
        f"(start the lock with --index-url={INDEX.format('cpu')})"]


def test_lock_index_url_below_the_header_as_uv_emits_it(examples: Path) -> None:
    line = f"--index-url={INDEX.format('cpu')}\n"
    replace(examples, f"{CPU}/requirements.txt", line, "")
    replace(examples, f"{CPU}/requirements.txt", f"{CPU}\n",
            f"{CPU}\n--index-url {INDEX.format('cpu')}\n\n")
    assert line_of(examples, f"{CPU}/requirements.txt", "--index-url") == 3
    assert check(examples) == [
        f"{IMAGES}/{CPU}/requirements.txt:1: first line is not --index-url=<the image's index> "
        f"(start the lock with --index-url={INDEX.format('cpu')})"]


def test_empty_lock(examples: Path) -> None:
    path(examples, f"{CPU}/requirements.txt").write_text("\n")
    assert check(examples) == [
        f"{IMAGES}/{CPU}/requirements.txt: empty lock ({lock_fix(CPU)})"]


# --- BASE_IMAGE ----------------------------------------------------------------------------

BASE_FIX = "declare ARG BASE_IMAGE=<registry>/<name>:<tag> before the first FROM"


def test_base_image_not_declared(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", f"ARG BASE_IMAGE={BASE.format('cuda')}\n", "")
    assert check(examples) == [f"{IMAGES}/{CUDA}/Dockerfile: ARG BASE_IMAGE is not declared "
                               f"with a default ({BASE_FIX})"]


def test_base_image_declared_without_default(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", f"ARG BASE_IMAGE={BASE.format('cuda')}\n",
            "ARG BASE_IMAGE\n")
    assert check(examples) == [found(examples, f"{CUDA}/Dockerfile", "ARG BASE_IMAGE",
                                     f"ARG BASE_IMAGE is not declared with a default ({BASE_FIX})")]


def test_base_image_declared_after_the_first_from(examples: Path) -> None:
    arg = f"ARG BASE_IMAGE={BASE.format('cuda')}\n"
    replace(examples, f"{CUDA}/Dockerfile", arg, "")
    replace(examples, f"{CUDA}/Dockerfile", "USER 0\n", f"USER 0\n{arg}")
    assert check(examples) == [found(examples, f"{CUDA}/Dockerfile", "ARG BASE_IMAGE",
                                     "ARG BASE_IMAGE comes after the first FROM, which cannot use "
                                     f"it ({BASE_FIX})")]


def test_base_image_not_used_by_from(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "FROM ${BASE_IMAGE} AS base",
            f"FROM {BASE.format('cuda')} AS base")
    assert check(examples) == [found(
        examples, f"{CUDA}/Dockerfile", "AS base",
        "no FROM uses ${BASE_IMAGE} (start the first stage with FROM ${BASE_IMAGE})")]


@pytest.mark.parametrize("line", ["FROM $BASE_IMAGE AS base",
                                  "FROM --platform=linux/amd64 ${BASE_IMAGE} AS base"])
def test_base_image_other_from_forms(examples: Path, line: str) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "FROM ${BASE_IMAGE} AS base", line)
    assert check(examples) == []


# --- versions in LABELs, descriptions and header comments ----------------------------------


def test_label_with_two_wrong_versions(examples: Path) -> None:
    replace(examples, f"{CUDA}/Dockerfile", 'summary="TH05 CUDA 13.0 Python 3.12 image with '
            'PyTorch 2.9.1"', 'summary="TH05 CUDA 12.8 Python 3.12 image with PyTorch 2.9.0"')
    df = f"{CUDA}/Dockerfile"
    assert check(examples) == [
        found(examples, df, "summary=", "LABEL summary says CUDA 12.8, the files say 13.0 "
              "(write CUDA 13.0)"),
        found(examples, df, "summary=", "LABEL summary says PyTorch 2.9.0, the files say 2.9.1 "
              "(write PyTorch 2.9.1)"),
    ]


@pytest.mark.parametrize(("folder", "old", "new", "needle", "text"), [
    (CUDA, 'io.k8s.display-name="TH05', 'io.k8s.display-name="TH04', "display-name=",
     "LABEL io.k8s.display-name says TH04, the files say Training Hub 0.5.0 (write TH05)"),
    (CUDA, 'LABEL name="universal-training-th05-cuda130', 'LABEL name="universal-training-'
     "th05-cuda128", "LABEL name=", "LABEL name 'universal-training-th05-cuda128-torch291-py312' "
     "does not follow the pattern universal-training-{name} (universal-training-th05-cuda130-"
     'torch291-py312) (write LABEL name="universal-training-th05-cuda130-torch291-py312")'),
    (ROCM, "training runtime) with Training Hub 0.5.0", "training runtime) with Training Hub "
     "0.4.0", " description=", "LABEL description says Training Hub 0.4.0, the files say 0.5.0 "
     "(write Training Hub 0.5.0)"),
    (CPU, 'summary="TH05 CPU', 'summary="TH05 ROCm 6.4', "summary=",
     "LABEL summary says ROCm 6.4, the image is CPU (write CPU)"),
    (ROCM, "# TH05 ROCm 6.4.3 / PyTorch 2.9.1 / Python 3.12", "# TH05 ROCm 6.4.3 / PyTorch "
     "2.9.1 / Python 3.11", "# TH05", "header comment says Python 3.11, the files say 3.12 "
     "(write Python 3.12)"),
])
def test_version_in_dockerfile_free_text(examples: Path, folder: str, old: str, new: str,
                                         needle: str, text: str) -> None:
    replace(examples, f"{folder}/Dockerfile", old, new)
    assert check(examples) == [found(examples, f"{folder}/Dockerfile", needle, text)]


def test_version_in_pyproject_description(examples: Path) -> None:
    replace(examples, f"{CPU}/pyproject.toml", "CPU and PyTorch 2.9.1", "CPU and PyTorch 2.8.0")
    assert check(examples) == [found(examples, f"{CPU}/pyproject.toml", "description =",
                                     "[project] description says PyTorch 2.8.0, the files say "
                                     "2.9.1 (write PyTorch 2.9.1)")]


def test_short_version_forms_in_free_text_are_fine(examples: Path) -> None:
    replace(examples, f"{ROCM}/Dockerfile", 'summary="TH05 ROCm 6.4.3 Python 3.12 image with '
            'PyTorch 2.9.1"', 'summary="TH05 ROCm 6.4 Python 3.12 image with PyTorch 2.9 and '
            'Training Hub 0.5"')
    assert check(examples) == []


# --- MIDSTREAM markers ---------------------------------------------------------------------

MARKER_FIX = "pair every '# MIDSTREAM ONLY' with one '# END MIDSTREAM ONLY'"


def test_midstream_block_never_closed(examples: Path) -> None:
    replace(examples, f"{CPU}/Dockerfile", "# END MIDSTREAM ONLY", "# END OF THE BLOCK")
    assert check(examples) == [found(
        examples, f"{CPU}/Dockerfile", "# MIDSTREAM ONLY",
        f"'# MIDSTREAM ONLY' is never closed by '# END MIDSTREAM ONLY' ({MARKER_FIX})")]


def test_midstream_end_without_begin(examples: Path) -> None:
    replace(examples, f"{CPU}/Dockerfile", "# MIDSTREAM ONLY:", "# Midstream:")
    assert check(examples) == [found(
        examples, f"{CPU}/Dockerfile", "# END MIDSTREAM ONLY",
        f"'# END MIDSTREAM ONLY' without an opening '# MIDSTREAM ONLY' ({MARKER_FIX})")]


# --- folders with the same stack -----------------------------------------------------------

DUP = "same stack as {} (Training Hub 0.5.0, CUDA 13.0, PyTorch 2.9.1, Python 3.12) " \
      "(remove one folder, or bump it to a new stack)"


def test_two_folders_with_the_same_stack(examples: Path) -> None:
    shutil.copytree(examples / IMAGES / CUDA, examples / "old" / CUDA)
    torch_line = line_of(examples, f"{CUDA}/pyproject.toml", '"torch==')
    assert check(examples, CUDA, f"old/{CUDA}") == [
        f"old/{CUDA}/pyproject.toml:{torch_line}: {DUP.format(f'{IMAGES}/{CUDA}')}"]


def test_a_copied_folder_is_a_duplicate_and_misnamed(examples: Path) -> None:
    copy = f"{CUDA}-copy"
    shutil.copytree(examples / IMAGES / CUDA, examples / IMAGES / copy)
    assert check(examples) == [
        f"{IMAGES}/{copy}: folder name {copy} does not fit the naming scheme {SCHEME} (the files "
        f"say {CUDA}) ({scheme_fix(CUDA)})",
        found(examples, f"{copy}/pyproject.toml", '"torch==', DUP.format(f"{IMAGES}/{CUDA}")),
    ]


def test_the_same_folder_named_twice_is_checked_once(examples: Path) -> None:
    assert check(examples, CUDA, f"{IMAGES}/{CUDA}/", str(path(examples, CUDA))) == []


# --- what the stack is read from -----------------------------------------------------------


def test_no_exact_torch_pin(examples: Path) -> None:
    replace(examples, f"{CPU}/pyproject.toml", '"torch==2.9.1"', '"torch~=2.9.1"')
    assert check(examples) == [
        f"{IMAGES}/{CPU}/pyproject.toml: no exact torch==X.Y.Z pin in [project] dependencies "
        '(pin PyTorch exactly, e.g. "torch==2.9.1")']


def test_index_url_from_the_dockerfile_when_pyproject_has_none(examples: Path) -> None:
    sub(examples, f"{ROCM}/pyproject.toml", r"^\[tool\.uv\]\nindex-url = .*\n", "")
    assert check(examples) == []


# --- many problems at once -----------------------------------------------------------------


def _break_eight_things(root: Path) -> list[str]:
    df, pp, lk = f"{CUDA}/Dockerfile", f"{CUDA}/pyproject.toml", f"{CUDA}/requirements.txt"
    replace(root, df, "ARG PYTHON_VERSION=3.12", "ARG PYTHON_VERSION=3.11")
    replace(root, df, "cuda-nvcc-13-0", "cuda-nvcc-12-8")
    replace(root, df, "3.4-EA1/cuda13.0", "3.3/cuda13.0")
    replace(root, df, "FROM ${BASE_IMAGE} AS base", f"FROM {BASE.format('cuda')} AS base")
    replace(root, df, "image with PyTorch 2.9.1", "image with PyTorch 2.9.0")
    replace(root, df, "# END MIDSTREAM ONLY", "# END OF THE BLOCK")
    replace(root, pp, '"trl==0.24.0"', '"trl==0.25.0"')
    sub(root, lk, r"^(absl-py==2\.3\.1) \\\n    --hash=\S+\n", r"\1\n")
    return [  # in the order check prints them: by file, then line
        found(root, df, "ARG PYTHON_VERSION=", "ARG PYTHON_VERSION=3.11 but requires-python says "
              "3.12 (set ARG PYTHON_VERSION=3.12)"),
        found(root, df, "AS base", "no FROM uses ${BASE_IMAGE} (start the first stage with "
              "FROM ${BASE_IMAGE})"),
        found(root, df, "# MIDSTREAM ONLY", "'# MIDSTREAM ONLY' is never closed by "
              f"'# END MIDSTREAM ONLY' ({MARKER_FIX})"),
        found(root, df, "cuda-nvcc", "dnf package cuda-nvcc-12-8 is for CUDA 12.8, the image is "
              "CUDA 13.0 (install cuda-nvcc-13-0)"),
        found(root, df, "--index-url=", f"index URL {OTHER_INDEX.format('cuda13.0')} differs "
              f"from the image's {INDEX.format('cuda13.0')} (use one index URL everywhere: "
              "bumper minor --index-url URL)"),
        found(root, df, "summary=", "LABEL summary says PyTorch 2.9.0, the files say 2.9.1 "
              "(write PyTorch 2.9.1)"),
        found(root, lk, "absl-py==", "1 of 77 pins have no --hash; this repo's policy is hashed "
              f"({lock_fix(CUDA)})"),
        found(root, lk, "trl==", "trl==0.24.0 does not satisfy 'trl==0.25.0' of pyproject.toml "
              f"({lock_fix(CUDA)})"),
    ]


def test_eight_breaks_in_one_folder_give_eight_findings(examples: Path) -> None:
    expected = _break_eight_things(examples)
    assert check(examples) == expected


def test_eight_breaks_through_the_cli(examples: Path) -> None:
    expected = _break_eight_things(examples)
    result = run_cli(examples, "check")
    codes = [("V001", False), ("V004", False), ("D001", False), ("V002", False),
             ("I001", False), ("V003", True), ("L004", False), ("L003", False)]
    printed = [coded(line, code, warn) for line, (code, warn) in zip(expected, codes, strict=True)]
    absl = line_of(examples, f"{CUDA}/requirements.txt", "absl-py==")
    printed.insert(7, f"    absl-py==2.3.1 (line {absl})")  # the pins inside the one L004
    assert (result.returncode, result.stdout.splitlines()) == (1, printed)
    assert result.stderr == "8 findings (3 folders checked)\n"
    result = run_cli(examples, "--format", "json", "check", CUDA)
    payload = json.loads(result.stdout)
    assert (result.returncode, payload["ok"], payload["folders"]) == (1, False,
                                                                      [f"{IMAGES}/{CUDA}"])
    assert [f"{f['path']}:{f['line']}: {f['message']} ({f['fix']})" for f in payload["findings"]
            ] == expected
    assert {f["rule"] for f in payload["findings"]} == {
        "python", "markers", "base-image", "accel", "index", "labels", "lock"}


# --- broken folders and settings through the real CLI: findings or exit 2, no traceback ----


def _toml_error(root: Path) -> list[str]:
    replace(root, f"{CPU}/pyproject.toml", 'requires-python = "==3.12.*"',
            "requires-python = ==3.12")
    return [found(root, f"{CPU}/pyproject.toml", "requires-python",
                  "F003 invalid TOML: Invalid value (fix the TOML syntax)")]


def _no_dockerfile(root: Path) -> list[str]:
    path(root, f"{ROCM}/Dockerfile").unlink()
    return [f"{IMAGES}/{ROCM}/Dockerfile: F001 missing (every image folder needs a Dockerfile)"]


def _bad_name(root: Path) -> list[str]:
    rename(root, CPU, "cpu-latest")
    return [f"{IMAGES}/cpu-latest: N002 warning: folder name cpu-latest does not fit the "
            f"naming scheme {SCHEME} (the files say {CPU}) ({scheme_fix(CPU)})"]


def _empty_lock(root: Path) -> list[str]:
    path(root, f"{CUDA}/requirements.txt").write_text("")
    return [f"{IMAGES}/{CUDA}/requirements.txt: L007 empty lock ({lock_fix(CUDA)})"]


def _binary_pyproject(root: Path) -> list[str]:
    path(root, f"{CPU}/pyproject.toml").write_bytes(b"\xff\xfe[project]\n")
    return [f"{IMAGES}/{CPU}/pyproject.toml: F002 cannot read: invalid start byte "
            "(make it a readable UTF-8 text file)"]


def _strange_types(root: Path) -> list[str]:
    path(root, f"{CPU}/pyproject.toml").write_text(
        'tool = 3\n[project]\nname = 5\ndependencies = "torch==2.9.1"\n')
    rel = f"{IMAGES}/{CPU}/pyproject.toml"
    return [f'{rel}: F004 no exact torch==X.Y.Z pin in [project] dependencies (pin PyTorch '
            'exactly, e.g. "torch==2.9.1")',
            f"{rel}: F004 no exact training_hub==X.Y.Z pin in [project] dependencies (pin Training "
            'Hub exactly, e.g. "training_hub[lora]==0.5.0")']


@pytest.mark.parametrize("breaker", [_toml_error, _no_dockerfile, _bad_name, _empty_lock,
                                     _binary_pyproject, _strange_types])
def test_broken_folder_gives_findings_not_a_traceback(examples: Path, breaker: object) -> None:
    assert callable(breaker)
    expected = breaker(examples)
    result = run_cli(examples, "check")
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stdout.splitlines()) == (1, expected)


@pytest.mark.parametrize(("settings", "args", "message"), [
    ('[tool.bumper]\nnaming = "th{th}-{gpu}"\n', ["check"],
     "pyproject.toml [tool.bumper]: unknown field {gpu} in naming scheme 'th{th}-{gpu}' (known: "
     "accel, accel_kind, accel_version, python, python_version, th, th_version, torch, "
     "torch_version)"),
    ('[tool.bumper]\nnaming = "th{th"\n', ["check"],
     "pyproject.toml [tool.bumper]: naming scheme 'th{th': expected '}' before end of string"),
    ("[tool.bumper]\nnaming = 3\n", ["check"],
     "pyproject.toml [tool.bumper]: images-root and naming must be strings"),
    ("[tool.bumper]\nnamig = 'x'\n", ["check"],
     "pyproject.toml [tool.bumper]: unknown key 'namig' (known: companions, cve-fixes, "
     "downstream, hashes, images-root, label-name, legacy, locks, naming, project-name)"),
    ("[tool.bumper\n", ["check"], "pyproject.toml: cannot read settings: Expected ']' at the end "
     "of a table declaration (at line 1, column 13) (fix the TOML)"),
    ('[tool.bumper]\nimages-root = "nowhere"\n', ["check"],
     "nowhere: images folder not found (set images-root in [tool.bumper] or pass folders)"),
    ("", ["check", "th09-cuda130-torch291-py312"], "th09-cuda130-torch291-py312: no such image "
     f"folder (expected a folder under {IMAGES}/ or a path)"),
])
def test_usage_errors_exit_2_with_one_line(examples: Path, settings: str, args: list[str],
                                           message: str) -> None:
    (examples / "pyproject.toml").write_text(settings)
    result = run_cli(examples, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", f"bumper: error: {message}\n")


# --- a custom naming scheme ----------------------------------------------------------------


def test_custom_naming_scheme_from_the_repo_pyproject(examples: Path) -> None:
    (examples / "pyproject.toml").write_text(
        '[tool.bumper]\nnaming = "{accel}-th{th_version}-torch{torch_version}"\n')
    names = {CPU: "cpu-th0.5.0-torch2.9.1", CUDA: "cuda130-th0.5.0-torch2.9.1",
             ROCM: "rocm64-th0.5.0-torch2.9.1"}
    # the default names don't fit the custom scheme
    assert check(examples, CPU)[0] == (
        f"{IMAGES}/{CPU}: folder name {CPU} does not fit the naming scheme "
        "{accel}-th{th_version}-torch{torch_version} (the files say cpu-th0.5.0-torch2.9.1) "
        '(set naming = "th{th}-{accel}-torch{torch}-py{python}" in [tool.bumper]: it fits every '
        "folder (bumper init))")
    for old, new in names.items():
        rename(examples, old, new)
    # renamed, only [project] name (which still holds the old-style name) is left: the
    # folders no longer share a pattern for it, so only a configured one is checked
    assert check(examples) == []
    settings = examples / "pyproject.toml"
    settings.write_text(settings.read_text() + 'project-name = "universal-training-{name}"\n')
    assert check(examples) == [
        found(examples, f"{new}/pyproject.toml", "name =", f"[project] name "
              f"'universal-training-{old}' does not follow the pattern universal-training-"
              f'{{name}} (universal-training-{new}) (set name = "universal-training-{new}")')
        for old, new in sorted(names.items(), key=lambda kv: kv[1])]
    # and the new-style name in a label is compared with what the files give
    replace(examples, f"{names[ROCM]}/Dockerfile", 'LABEL name="universal-training-'
            f'{ROCM}"', 'LABEL name="rocm63-th0.5.0-torch2.9.1"')
    learned = "universal-training-th{th}-{accel}-torch{torch}-py{python}"
    assert found(examples, f"{names[ROCM]}/Dockerfile", "LABEL name=",
                 f"LABEL name 'rocm63-th0.5.0-torch2.9.1' does not follow the pattern {learned} "
                 f'(universal-training-{ROCM}) (write LABEL name="universal-training-{ROCM}")'
                 ) in check(examples)
