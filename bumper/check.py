"""Consistency rules: the drift that hand-made bumps leave behind.

Each rule reads one ImageDir and yields Findings; `run` applies them all and
adds the rules that compare folders with each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from bumper.config import Config
from bumper.discover import DOCKERFILE, INDEX_SEGMENT, LOCK, PYPROJECT, ImageDir, load
from bumper.findings import Finding
from bumper.formats.dockerfile import marker_problems
from bumper.model import compact_python, compact_th, major_minor

Rule = Callable[[ImageDir, Config], Iterator[Finding]]

FIELD_NAMES = {"th": "Training Hub", "accel": "accelerator", "torch": "PyTorch",
               "python": "Python", "th_version": "Training Hub", "torch_version": "PyTorch",
               "python_version": "Python", "accel_kind": "accelerator",
               "accel_version": "accelerator"}
LABEL_VERSIONS = [
    ("cuda", re.compile(r"\bCUDA\s+(?P<v>[0-9]+\.[0-9]+)")),
    ("rocm", re.compile(r"\bROCm\s+(?P<v>[0-9]+\.[0-9]+(?:\.[0-9]+)?)")),
    ("torch", re.compile(r"\bPyTorch\s+(?P<v>[0-9]+\.[0-9]+\.[0-9]+)")),
    ("python", re.compile(r"\bPython\s+(?P<v>3\.[0-9]+)\b")),
    ("th", re.compile(r"\bTraining Hub\s+(?P<v>[0-9]+\.[0-9]+\.[0-9]+)")),
    ("th_compact", re.compile(r"\bTH(?P<v>[0-9]{2,})\b")),
]
FOLDER_TOKEN = re.compile(r"\bth[0-9]+-(?:cuda[0-9]+|rocm[0-9]+|cpu)-torch[0-9]+-py[0-9]+\b")
PY_TOKEN = re.compile(r"(?<![a-z0-9])py(?:thon-?)?(?P<v>3\.?[0-9]{1,2})(?![0-9])")
ACCEL_TOKEN = re.compile(r"(?<![a-z])(?P<kind>cuda|rocm)(?P<v>[0-9][0-9.]*)?(?![a-z])")


def rule_read(image: ImageDir, config: Config) -> Iterator[Finding]:
    yield from image.problems


def rule_name(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The folder name must be what the naming scheme renders from the files."""
    stack = image.stack
    if stack is None:
        if image.pyproject is not None:
            yield from _missing_stack_parts(image)
        return
    expected = config.naming.render(stack)
    for field_name, (written, want) in config.naming.mismatches(image.name, stack).items():
        base = field_name.split("_")[0]
        src = image.sources.get(base, (PYPROJECT, 0))
        if field_name == "name":
            message = f"folder name {image.name} does not follow the naming scheme for {stack.describe()}"
        else:
            message = (f"{FIELD_NAMES[field_name]} is {want} in the files but the folder name says "
                       f"{written}")
        yield Finding(image.where(src[0]), src[1], message,
                      f"rename the folder to {expected}, or use bumper major for a new folder", "name")
    facts = image.pyproject
    if facts and facts.name and not facts.name.endswith(expected):
        yield Finding(image.where(PYPROJECT), facts.name_line,
                      f"[project] name {facts.name!r} does not name the folder {expected}",
                      f'set name = "universal-training-{expected}"', "name")


def _missing_stack_parts(image: ImageDir) -> Iterator[Finding]:
    where = image.where(PYPROJECT)
    if "torch" not in image.sources:
        yield Finding(where, 0, "no exact torch==X.Y.Z pin in [project] dependencies",
                      'pin PyTorch exactly, e.g. "torch==2.9.1"', "stack")
    if "th" not in image.sources:
        yield Finding(where, 0, "no exact training_hub==X.Y.Z pin in [project] dependencies",
                      'pin Training Hub exactly, e.g. "training_hub[lora]==0.5.0"', "stack")
    if "python" not in image.sources:
        yield Finding(where, 0, "no Python version (requires-python or ARG PYTHON_VERSION)",
                      'set requires-python = "==3.12.*"', "stack")
    if "accel" not in image.sources:
        yield Finding(where, 0, "accelerator unknown: no cuda/rocm/cpu segment in the index URL",
                      "set [tool.uv] index-url to the image's index", "stack")


def rule_python(image: ImageDir, config: Config) -> Iterator[Finding]:
    """requires-python, ARG PYTHON_VERSION and the base image agree on Python."""
    stack, facts = image.stack, image.dockerfile
    if stack is None or facts is None:
        return
    arg = facts.args.get("PYTHON_VERSION")
    if arg and arg[0] and arg[0] != stack.python:
        yield Finding(image.where(DOCKERFILE), arg[1],
                      f"ARG PYTHON_VERSION={arg[0]} but requires-python says {stack.python}",
                      f"set ARG PYTHON_VERSION={stack.python}", "python")
    base = facts.args.get("BASE_IMAGE")
    if base and base[0]:
        for match in PY_TOKEN.finditer(base[0].lower()):
            written = match["v"].replace(".", "")
            if written != compact_python(stack.python):
                yield Finding(image.where(DOCKERFILE), base[1],
                              f"base image {base[0]} is for Python {match['v']}, the image uses "
                              f"Python {stack.python}",
                              f"use the py{compact_python(stack.python)} base image", "python")


def rule_accel(image: ImageDir, config: Config) -> Iterator[Finding]:
    """Base image, versioned dnf packages, ROCm paths and index URL name the same accelerator."""
    stack, facts = image.stack, image.dockerfile
    if stack is None:
        return
    accel = stack.accel
    where = image.where(DOCKERFILE)
    if facts is not None:
        base = facts.args.get("BASE_IMAGE")
        if base and base[0]:
            yield from _base_image_accel(where, base[0], base[1], accel.kind, accel.version)
        dashed = (accel.version or "").replace(".", "-")
        for pkg, ver, line in facts.cuda_packages:
            if accel.kind != "cuda" or ver != dashed:
                yield Finding(where, line, f"dnf package {pkg}-{ver} is for CUDA "
                              f"{ver.replace('-', '.')}, the image is {accel.label}",
                              f"install {pkg}-{dashed}" if accel.kind == "cuda"
                              else "remove the CUDA package", "accel")
        for ver, line in facts.nccl_builds:
            if accel.kind != "cuda" or ver.split(".")[0] != (accel.version or "").split(".")[0]:
                yield Finding(where, line, f"NCCL build +cuda{ver} does not match {accel.label}",
                              "pick the NCCL build for the image's CUDA", "accel")
        for ver, line in facts.rocm_versions:
            if accel.kind == "rocm" and ver != accel.version:
                yield Finding(where, line, f"ROCm {ver} named, the image is {accel.label}",
                              f"use {accel.version}", "accel")
    repo = image.texts.get("rocm.repo")
    if repo is not None and accel.kind == "rocm":
        for number, raw in enumerate(repo.splitlines(), start=1):
            for ver in re.findall(r"(?<![0-9.])([0-9]+\.[0-9]+\.[0-9]+)(?![0-9.])", raw):
                if ver != accel.version:
                    yield Finding(image.where("rocm.repo"), number,
                                  f"ROCm {ver} named, the image is {accel.label}",
                                  f"use {accel.version}", "accel")
    url = image.index_url()
    if url and (match := INDEX_SEGMENT.search(url)) and match["seg"] != accel.index_segment:
        src = image.sources.get("accel", (PYPROJECT, 0))
        yield Finding(image.where(PYPROJECT), image.pyproject.index_url_line if image.pyproject
                      else src[1],
                      f"index URL is for {match['seg']}, the image is {accel.label}",
                      f"use the {accel.index_segment} index", "accel")


def _base_image_accel(where: str, ref: str, line: int, kind: str,
                      version: str | None) -> Iterator[Finding]:
    name = ref.lower()
    for match in ACCEL_TOKEN.finditer(name):
        if match["kind"] != kind:
            yield Finding(where, line, f"base image {ref} is a {match['kind']} image, the image is "
                          f"{kind}", f"use a {kind} base image", "accel")
        elif match["v"] and version:
            written = match["v"].replace(".", "")
            if written not in ("".join(version.split(".")[:2]), version.replace(".", "")):
                yield Finding(where, line, f"base image {ref} names {kind} {match['v']}, the "
                              f"image is {kind} {version}", "use the matching base image", "accel")


def index_url_places(image: ImageDir) -> list[tuple[str, int, str]]:
    """Every place the folder repeats its index URL: (file, line, url)."""
    places: list[tuple[str, int, str]] = []
    if image.pyproject:
        if image.pyproject.index_url:
            places.append((PYPROJECT, image.pyproject.index_url_line, image.pyproject.index_url))
        places.extend((PYPROJECT, line, url) for url, line in image.pyproject.comment_index_urls)
    if image.dockerfile:
        places.extend((DOCKERFILE, line, url) for url, line in image.dockerfile.index_urls)
    if image.lock and image.lock.index_url:
        places.append((LOCK, image.lock.index_url_line, image.lock.index_url))
    return places


def rule_index_drift(image: ImageDir, config: Config) -> Iterator[Finding]:
    """All places that repeat the index URL carry the same URL."""
    reference = image.index_url()
    if reference is None:
        return
    for filename, line, url in index_url_places(image):
        if url != reference:
            yield Finding(image.where(filename), line,
                          f"index URL {url} differs from the image's {reference}",
                          "use one index URL in every place (bumper minor --index-url URL)", "index")


def rule_lock(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The lock covers pyproject: every direct dependency locked, hashed, same index."""
    lock, facts = image.lock, image.pyproject
    if lock is None or facts is None or not image.texts.get(LOCK, "").strip():
        return
    from packaging.requirements import InvalidRequirement, Requirement

    where = image.where(LOCK)
    fix = f"run: bumper lock {image.rel}"
    if lock.index_url is None or lock.index_url_line != 1:
        yield Finding(where, 1, "first line is not --index-url=<the image's index>",
                      f"start the lock with --index-url={image.index_url()}", "lock")
    for dep in facts.dependencies:
        try:
            req = Requirement(dep.text)
        except InvalidRequirement as exc:
            yield Finding(image.where(PYPROJECT), dep.line, f"invalid requirement {dep.text!r}: "
                          f"{exc}", "write a PEP 508 requirement", "lock")
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        pin = lock.pin(req.name)
        if pin is None:
            yield Finding(where, 0, f"{req.name} is a dependency in pyproject.toml but not locked",
                          fix, "lock")
        elif not req.specifier.contains(pin.version, prereleases=True):
            yield Finding(where, pin.line, f"{pin.name}=={pin.version} does not satisfy "
                          f"{dep.text!r} of pyproject.toml", fix, "lock")
    for pin in lock.pins:
        if not pin.hashes:
            yield Finding(where, pin.line, f"{pin.name}=={pin.version} has no --hash", fix, "lock")


def rule_base_image(image: ImageDir, config: Config) -> Iterator[Finding]:
    facts = image.dockerfile
    if facts is None:
        return
    where = image.where(DOCKERFILE)
    arg = facts.args.get("BASE_IMAGE")
    if arg is None or not arg[0]:
        yield Finding(where, arg[1] if arg else 0, "ARG BASE_IMAGE is not declared with a default",
                      "declare ARG BASE_IMAGE=<registry>/<name>:<tag> before the first FROM",
                      "base-image")
        return
    if not any(re.search(r"\$\{?BASE_IMAGE\}?", image_ref) for image_ref, _ in facts.froms):
        line = facts.froms[0][1] if facts.froms else arg[1]
        yield Finding(where, line, "no FROM uses ${BASE_IMAGE}",
                      "start the first stage with FROM ${BASE_IMAGE}", "base-image")


def _text_places(image: ImageDir) -> Iterator[tuple[str, int, str]]:
    facts = image.dockerfile
    if facts is None:
        return
    for key, value, line in facts.labels:
        yield f"LABEL {key}", line, value
    for number, raw in enumerate(image.texts.get(DOCKERFILE, "").splitlines(), start=1):
        if not raw.startswith("#"):
            break
        yield "header comment", number, raw


def rule_labels(image: ImageDir, config: Config) -> Iterator[Finding]:
    """Versions named in LABEL texts and the header comment match the files."""
    stack = image.stack
    if stack is None:
        return
    want = {"cuda": stack.accel.version if stack.accel.kind == "cuda" else None,
            "rocm": stack.accel.version if stack.accel.kind == "rocm" else None,
            "torch": stack.torch, "python": stack.python, "th": stack.training_hub,
            "th_compact": compact_th(stack.training_hub)}
    expected_name = config.naming.render(stack)
    where = image.where(DOCKERFILE)
    for what, line, text in _text_places(image):
        for key, rx in LABEL_VERSIONS:
            for match in rx.finditer(text):
                expected = want[key]
                ok = expected is not None and (
                    match["v"] == expected or (key == "rocm" and match["v"] == major_minor(expected)))
                if not ok:
                    shown = expected or f"not {key.upper()}"
                    yield Finding(where, line, f"{what} says {match.group(0)}, the files say "
                                  f"{shown}", f"write {_label_fix(key, expected)}", "labels")
        for token in FOLDER_TOKEN.findall(text):
            if token != expected_name:
                yield Finding(where, line, f"{what} names {token}, the folder is {expected_name}",
                              f"write {expected_name}", "labels")


def _label_fix(key: str, expected: str | None) -> str:
    names = {"cuda": "CUDA", "rocm": "ROCm", "torch": "PyTorch", "python": "Python",
             "th": "Training Hub", "th_compact": "TH"}
    if expected is None:
        return f"no {names[key]} version (the image has none)"
    sep = "" if key == "th_compact" else " "
    return f"{names[key]}{sep}{expected}"


def rule_markers(image: ImageDir, config: Config) -> Iterator[Finding]:
    if image.dockerfile is None:
        return
    for line, message in marker_problems(image.dockerfile):
        yield Finding(image.where(DOCKERFILE), line, message,
                      "pair every '# MIDSTREAM ONLY' with one '# END MIDSTREAM ONLY'", "markers")


RULES: list[Rule] = [rule_read, rule_name, rule_python, rule_accel, rule_index_drift, rule_lock,
                     rule_base_image, rule_labels, rule_markers]


def same_stack(images: Iterable[ImageDir]) -> Iterator[Finding]:
    """Two folders with the same stack are one image twice."""
    seen: dict[object, ImageDir] = {}
    for image in images:
        if image.stack is None:
            continue
        other = seen.setdefault(image.stack, image)
        if other is not image:
            src = image.sources.get("torch", (PYPROJECT, 0))
            yield Finding(image.where(src[0]), src[1],
                          f"same stack as {other.rel} ({image.stack.describe()})",
                          "remove one folder, or bump it to a new stack", "duplicate")


def check_image(image: ImageDir, config: Config) -> list[Finding]:
    return sorted({f for rule in RULES for f in rule(image, config)})


def run(config: Config, paths: list[Path]) -> tuple[list[ImageDir], list[Finding]]:
    images = [load(config, path) for path in paths]
    findings = [f for image in images for f in check_image(image, config)]
    findings.extend(same_stack(images))
    return images, findings

