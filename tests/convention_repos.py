"""Writes image repos in the conventions real repos use (issue 12), for the tests.

- ``versioned``: the bundled style: ``th05-cuda130-torch291-py312`` folders,
  ``universal-training-<folder>`` names, hashed locks, ``# MIDSTREAM ONLY`` banners,
  a table of the folders in the images README.
- ``versionless``: ``th-torch-<kind>-py312`` folders (a stack bump edits them in
  place), ``th-torch-<kind>-universal-image`` project names, ``LABEL name`` = the
  folder name, unhashed locks, CVE fixes in ``[tool.uv] constraint-dependencies``,
  and one Dockerfile for both builds: ``ARG DOWNSTREAM=false`` guarding the dnf steps
  (the banners stay, as comments).
- ``transition``: legacy versioned folders beside newer versionless ones.

Locks are compiled by the real uv against the local index (``index_url`` maps a
folder's index segment to the local server), in the folder itself so that uv reads
its ``[tool.uv]`` settings.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bumper.lock import build_python, uv_bin

IMAGES = "images/universal/training"
PUBLIC = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4-EA1/{}/simple/"
BASE = "registry.example.com/opendatahub/odh-workbench-jupyter-minimal-{}-py312-ubi9:2025b-v1.39"


@dataclass(frozen=True)
class Folder:
    name: str
    kind: str  # cuda, rocm, cpu
    accel: str | None  # 13.0, 6.4.3, None
    torch: str
    hub: str
    versionless: bool

    @property
    def segment(self) -> str:
        if self.accel is None:
            return "cpu-ubi9"
        return f"{self.kind}{'.'.join(self.accel.split('.')[:2])}-ubi9"

    @property
    def index(self) -> str:
        return PUBLIC.format(self.segment)

    @property
    def accel_label(self) -> str:
        return {"cuda": f"CUDA {self.accel}", "rocm": f"ROCm {self.accel}", "cpu": "CPU"}[self.kind]

    @property
    def th(self) -> str:
        return "TH" + "".join(self.hub.split(".")[:2])

    @property
    def project(self) -> str:
        return (f"th-torch-{self.kind}-universal-image" if self.versionless
                else f"universal-training-{self.name}")

    @property
    def label_name(self) -> str:
        return self.name if self.versionless else f"universal-training-{self.name}"


def versioned(kind: str, accel: str | None, torch: str = "2.9.1", hub: str = "0.5.0") -> Folder:
    compact = kind if accel is None else kind + "".join(accel.split(".")[:2])
    t = torch.split(".")
    torch_c = t[0] + t[1] if t[2] == "0" and len(t[1]) > 1 else "".join(t)
    th = "".join(hub.split(".")[:2])
    return Folder(f"th{th}-{compact}-torch{torch_c}-py312", kind, accel, torch, hub, False)


def versionless(kind: str, accel: str | None, torch: str = "2.9.1", hub: str = "0.5.0") -> Folder:
    return Folder(f"th-torch-{kind}-py312", kind, accel, torch, hub, True)


STYLES: dict[str, Callable[[], list[Folder]]] = {
    "versioned": lambda: [versioned("cuda", "13.0"), versioned("rocm", "6.4.3"),
                          versioned("cpu", None)],
    "versionless": lambda: [versionless("cuda", "13.0"), versionless("rocm", "6.4.3"),
                            versionless("cpu", None)],
    # the versionless scheme started with the cuda image (and PyTorch 2.10.0)
    "transition": lambda: [versioned("cuda", "13.0"), versioned("rocm", "6.4.3"),
                           versioned("cpu", None), versionless("cuda", "13.0", torch="2.10.0")],
}


# --- Dockerfile ---------------------------------------------------------------------------


def _system(f: Folder) -> tuple[list[str], list[str], list[str]]:
    """(ENV lines, COPY lines, dnf package lines) of the folder's accelerator."""
    if f.kind == "cuda":
        dashed = (f.accel or "").replace(".", "-")
        env = ["ENV CUDA_HOME=/usr/local/cuda \\",
               "    PATH=/usr/local/cuda/bin:${PATH} \\",
               "    LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH} \\",
               f'    NVIDIA_REQUIRE_CUDA="cuda>={f.accel}" \\',
               "    TRITON_PTXAS_PATH=/usr/local/cuda/bin/ptxas"]
        pkgs = [f"cuda-nvcc-{dashed}", f"cuda-cudart-devel-{dashed}", f"libcublas-devel-{dashed}",
                "rdma-core"]
        return env, ["COPY cuda.repo mellanox.repo /etc/yum.repos.d/"], pkgs
    if f.kind == "rocm":
        env = [f"ENV ROCM_PATH=/opt/rocm-{f.accel} \\",
               f"    PATH=/opt/rocm-{f.accel}/bin:${{PATH}} \\",
               f"    LD_LIBRARY_PATH=/opt/rocm-{f.accel}/lib:${{LD_LIBRARY_PATH}} \\",
               "    LD_PRELOAD=/usr/lib64/libjemalloc.so.2"]
        pkgs = [f"rocm-hip-runtime-devel{f.accel}", f"rccl-devel{f.accel}", "jemalloc"]
        return env, ["COPY rocm.repo /etc/yum.repos.d/"], pkgs
    return ["ENV OMP_NUM_THREADS=1 \\", "    MALLOC_ARENA_MAX=2"], [], ["gcc-c++", "numactl-libs"]


def _dnf_run(pkgs: list[str], guard: bool) -> list[str]:
    body = ["dnf install -y --setopt=install_weak_deps=False \\",
            *[f"        {p} \\" for p in pkgs],
            "    && dnf clean all \\", "    && rm -rf /var/cache/dnf"]
    if not guard:
        return ["RUN " + body[0], *body[1:]]
    return ['RUN if [ "${DOWNSTREAM}" != "true" ]; then \\', "        " + body[0], *body[1:-1],
            body[-1] + "; \\", "    fi"]


def dockerfile(f: Folder) -> str:
    env, copies, pkgs = _system(f)
    versions = f"{f.accel_label} / PyTorch {f.torch} / Python 3.12"
    lines = [f"# {f.name}: {f.th} {versions} universal training image",
             f"# Training Hub {f.hub}; Python packages from the lock in requirements.txt.",
             f"ARG BASE_IMAGE={BASE.format('cuda' if f.kind == 'cuda' else f.kind)}",
             "ARG PYTHON_VERSION=3.12", "", "FROM ${BASE_IMAGE}", "", "USER 0"]
    if f.versionless:
        lines += ["# Built downstream with --build-arg DOWNSTREAM=true: the guarded steps are",
                  "# skipped, everything else is the same image.", "ARG DOWNSTREAM=false", ""]
    lines += ["# MIDSTREAM ONLY: toolchain environment and system packages", *env, "",
              *copies, *(["" ] if copies else []), *_dnf_run(pkgs, f.versionless),
              "# END MIDSTREAM ONLY", ""]
    install = ("uv pip install --no-cache --no-deps" if f.versionless
               else "uv pip install --no-cache --require-hashes")
    lines += ["COPY requirements.txt /tmp/requirements.txt",
              f"RUN pip install --no-cache-dir uv==0.9.5 && {install} \\",
              f"        --index-url={f.index} \\",
              "        --python=/opt/app-root/bin/python${PYTHON_VERSION} \\",
              "        -r /tmp/requirements.txt", "",
              f'LABEL name="{f.label_name}" \\',
              f'      summary="{f.th} {f.accel_label} Python 3.12 image with PyTorch {f.torch}" \\',
              f'      io.k8s.display-name="Training Hub {f.hub} {f.accel_label} PyTorch {f.torch}"',
              "", "COPY --chmod=0755 entrypoint.sh /usr/local/bin/entrypoint.sh",
              "USER 1001", 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]']
    return "\n".join(lines) + "\n"


# --- pyproject, repo files, README ----------------------------------------------------------


def pyproject(f: Folder) -> str:
    hashed = "" if f.versionless else "--generate-hashes "
    lines = [f"# {f.name}: Training Hub {f.hub}, {f.accel_label}, PyTorch {f.torch}, Python 3.12.",
             f"#   uv pip compile {hashed}--index-url={f.index} \\",
             "#     --python-platform=linux --python-version=3.12 -o requirements.txt "
             "pyproject.toml",
             "[project]", f'name = "{f.project}"', 'version = "1.0.0"',
             f'description = "Universal training image with PyTorch {f.torch} for {f.accel_label}"',
             'requires-python = "==3.12.*"', "dependencies = [",
             f'    "torch=={f.torch}",', f'    "training_hub=={f.hub}",',
             '    "numpy>=2.0.0,<2.4",', "]", "", "[tool.uv]", f'index-url = "{f.index}"']
    if f.versionless:
        lines += ["constraint-dependencies = [", "    # CVE fixes", '    "urllib3>=2.5.0",',
                  '    "jinja2>=3.1.6",', "]"]
    return "\n".join(lines) + "\n"


def repo_files(f: Folder) -> dict[str, str]:
    if f.kind == "cuda":
        return {"cuda.repo": f"[cuda-rhel9]\nname=CUDA {f.accel} for RHEL 9\n"
                             "baseurl=https://developer.download.nvidia.com/compute/cuda/repos/"
                             "rhel9/x86_64\nenabled=1\ngpgcheck=1\n",
                "mellanox.repo": "[mlnx]\nname=Mellanox\nbaseurl=https://linux.mellanox.com/"
                                 "public/repo/doca/latest/rhel9/x86_64/\nenabled=1\n"}
    if f.kind == "rocm":
        return {"rocm.repo": f"[ROCm-{f.accel}]\nname=ROCm {f.accel}\nbaseurl=https://repo."
                             f"radeon.com/rocm/rhel9/{f.accel}/main\nenabled=1\n"}
    return {}


def images_readme(folders: list[Folder]) -> str:
    rows = [f"| [{f.name}]({f.name}/) | {f.accel_label} | {f.torch} | {f.hub} |"
            for f in folders if not f.versionless]
    return ("# Images\n\n| Folder | Accelerator | PyTorch | Training Hub |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


ENTRYPOINT = "#!/bin/sh\n# workbench without a command, the command otherwise\nexec \"$@\"\n"


def compile_lock(folder: Path, f: Folder, local_index: Callable[[str], str],
                 env: dict[str, str]) -> None:
    """requirements.txt by the real uv, in the folder (its [tool.uv] settings apply)."""
    cmd = [uv_bin(), "pip", "compile", "pyproject.toml", "--python-platform=linux",
           "--python-version=3.12", f"--index-url={local_index(f.segment)}", "-o",
           "requirements.txt", "--custom-compile-command",
           f"bumper lock {IMAGES}/{f.name}", "--quiet"]
    if not f.versionless:
        cmd.append("--generate-hashes")
    python = build_python()
    if python:
        cmd.append(f"--python={python}")
    subprocess.run(cmd, cwd=folder, env=env, check=True, capture_output=True, timeout=300)
    lock = folder / "requirements.txt"
    lock.write_text(f"--index-url={f.index}\n" + lock.read_text(encoding="utf-8"),
                    encoding="utf-8")


def write_repo(root: Path, style: str, local_index: Callable[[str], str],
               env: dict[str, str]) -> list[Folder]:
    """A git repository at ``root`` with the folders of ``style``, committed."""
    folders = STYLES[style]()
    images = root / IMAGES
    for f in folders:
        folder = images / f.name
        folder.mkdir(parents=True)
        files = {"Dockerfile": dockerfile(f), "pyproject.toml": pyproject(f),
                 "entrypoint.sh": ENTRYPOINT, **repo_files(f)}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        compile_lock(folder, f, local_index, env)
    if any(not f.versionless for f in folders):
        (images / "README.md").write_text(images_readme(folders), encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "-m", f"{style} image folders"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return folders
