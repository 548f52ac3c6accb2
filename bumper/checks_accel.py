"""The accelerator rule: the base image, dnf packages, CUDA and ROCm paths, .repo
files and torch's local build all name the folder's one accelerator (and its version).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bumper.config import Config
from bumper.discover import DOCKERFILE, PYPROJECT, ImageDir, pinned
from bumper.findings import Finding
from bumper.model import Accel, major_minor, names_release, parts, same_release

CUDA_LABEL = re.compile(r"\bCUDA\s+(?P<v>[0-9]+\.[0-9]+)")
ACCEL_TOKEN = re.compile(
    r"(?<![a-z])(?P<kind>cuda|rocm|cpu)(?:[-:]?(?P<v>[0-9]+(?:\.[0-9]+)*))?(?![a-z0-9])")
REPO_VERSION = re.compile(r"(?<![0-9.])([0-9]+\.[0-9]+\.[0-9]+)(?![0-9.])")
TORCH_LOCAL = re.compile(r"^(?:cu(?P<cu>[0-9]+)|rocm(?P<rocm>[0-9]+\.[0-9]+)|(?P<cpu>cpu))$")


def rule_accel(image: ImageDir, config: Config) -> Iterator[Finding]:
    """Base image, dnf names, CUDA/ROCm paths, .repo files and torch's build name one
    accelerator."""
    if image.stack is None:
        return
    accel = image.stack.accel
    if image.dockerfile is not None:
        yield from _dockerfile_accel(image, accel)
    repo = image.texts.get("rocm.repo")
    if repo is not None and accel.kind == "rocm" and accel.version:
        for number, raw in enumerate(repo.splitlines(), start=1):
            for ver in REPO_VERSION.findall(raw):
                if not names_release(ver, accel):
                    yield Finding(image.where("rocm.repo"), number,
                                  f"ROCm {ver} named, the image is {accel.label}",
                                  f"use {accel.version}", "accel")
    repo = image.texts.get("cuda.repo")
    if repo is not None and accel.kind == "cuda" and accel.version:
        for number, raw in enumerate(repo.splitlines(), start=1):
            for match in CUDA_LABEL.finditer(raw):
                if not same_release(match["v"], accel.version):
                    yield Finding(image.where("cuda.repo"), number,
                                  f"{match.group(0)} named, the image is {accel.label}",
                                  f"write {accel.label}", "accel")
    yield from _torch_build(image, accel)


def _torch_build(image: ImageDir, accel: Accel) -> Iterator[Finding]:
    """A local version on the torch pin (2.9.1+cu130) names the build's accelerator."""
    torch = pinned(image, "torch")
    if torch is None or "+" not in torch[0]:
        return
    release, local = torch[0].split("+", 1)
    want = {"cuda": f"cu{(accel.version or '').replace('.', '')}",
            "rocm": f"rocm{major_minor(accel.version or '')}", "cpu": "cpu"}[accel.kind]
    if TORCH_LOCAL.match(local) and local != want:
        yield Finding(image.where(PYPROJECT), torch[2],
                      f"torch=={torch[0]} is the {local} build, the image is {accel.label}",
                      f"pin torch=={release}+{want}", "accel")


def _dockerfile_accel(image: ImageDir, accel: Accel) -> Iterator[Finding]:
    facts = image.dockerfile
    assert facts is not None
    where = image.where(DOCKERFILE)
    base = facts.args.get("BASE_IMAGE")
    if base and base[0]:
        yield from _base_image_accel(where, base[0], base[1], accel)
    cuda_ok = accel.kind == "cuda" and accel.version is not None
    dashed = (accel.version or "").replace(".", "-")
    for pkg, ver, line in facts.cuda_packages:
        if not (cuda_ok and ver == dashed):
            yield Finding(where, line, f"dnf package {pkg}-{ver} is for CUDA "
                          f"{ver.replace('-', '.')}, the image is {accel.label}",
                          f"install {pkg}-{dashed}" if cuda_ok else "remove the CUDA package",
                          "accel")
    for ver, line in facts.cuda_paths:
        if not (cuda_ok and ver == accel.version):
            yield Finding(where, line, f"/usr/local/cuda-{ver} is CUDA {ver}, the image is "
                          f"{accel.label}", f"use /usr/local/cuda-{accel.version}" if cuda_ok
                          else "remove the CUDA path", "accel")
    major = (accel.version or "").split(".")[0]
    for ver, line in facts.nccl_builds:  # NCCL builds for CUDA 13.x all work with 13.0
        if not (cuda_ok and ver.split(".")[0] == major):
            yield Finding(where, line, f"NCCL build +cuda{ver} does not match {accel.label}",
                          f"pick an NCCL build for CUDA {major}.x" if cuda_ok
                          else "remove the NCCL package", "accel")
    for ver, line in facts.rocm_versions:
        if not (accel.kind == "rocm" and names_release(ver, accel)):
            yield Finding(where, line, f"ROCm {ver} named, the image is {accel.label}",
                          f"use {accel.version}" if accel.kind == "rocm" else "remove it",
                          "accel")


def _base_image_accel(where: str, ref: str, line: int, accel: Accel) -> Iterator[Finding]:
    """A base image that names an accelerator must name the image's (and its version)."""
    name = ref.lower()
    for match in ACCEL_TOKEN.finditer(name):
        kind, written = match["kind"], match["v"]
        tagged = written and name[match.end("kind")] == ":"
        if tagged and match.start() > 0 and name[match.start() - 1] != "/":
            written = None  # custom-cuda:1.2.3 is that image's own version, not CUDA's
        if kind != accel.kind:
            yield Finding(where, line, f"base image {ref} is a {kind} image, the image is "
                          f"{accel.label}", f"use a {accel.kind} base image", "accel")
        elif written and accel.version:
            compact = {"".join(parts(accel.version)[:2]), accel.version.replace(".", "")}
            if written.replace(".", "") not in compact and not names_release(written, accel):
                yield Finding(where, line, f"base image {ref} names {kind}{written}, the image "
                              f"is {accel.label}", "use the matching base image", "accel")
