"""Consistency rules: the drift that hand-made bumps leave behind.

Each rule reads one ImageDir and yields Findings; `run` applies them all and
adds the rules that compare folders with each other. The accelerator rule, the
largest, has its own module (`checks_accel`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from bumper import conventions
from bumper.checks_accel import CUDA_LABEL, rule_accel
from bumper.checks_conventions import (
    rule_constraints,
    rule_downstream,
    rule_hashes,
    rule_label_name,
    rule_name,
    rule_project_name,
)
from bumper.checks_locks import rule_other_locks, rule_sources
from bumper.config import Config
from bumper.discover import DOCKERFILE, LOCK, PYPROJECT, ImageDir, image_dirs, load
from bumper.findings import Finding, selected
from bumper.formats.dockerfile import marker_problems
from bumper.formats.requirements import LockFacts, Pin, simple_contains, simple_requirement
from bumper.model import Stack, compact_python, compact_th, names_release, same_release

Rule = Callable[[ImageDir, Config], Iterator[Finding]]

LABEL_VERSIONS = [
    ("cuda", CUDA_LABEL),
    ("rocm", re.compile(r"\bROCm\s+(?P<v>[0-9]+\.[0-9]+(?:\.[0-9]+)?)")),
    ("torch", re.compile(r"\bPyTorch\s+(?P<v>[0-9]+\.[0-9]+(?:\.[0-9]+)?)")),
    ("python", re.compile(r"\bPython\s+(?P<v>3\.[0-9]+)\b")),
    ("th", re.compile(r"\bTraining Hub\s+(?P<v>[0-9]+\.[0-9]+(?:\.[0-9]+)?)")),
    ("th_compact", re.compile(r"\bTH(?P<v>[0-9]{2,})\b")),
]
LABEL_NAMES = {"cuda": "CUDA", "rocm": "ROCm", "torch": "PyTorch", "python": "Python",
               "th": "Training Hub", "th_compact": "TH"}
PY_TOKEN = re.compile(r"(?<![a-z0-9])py(?:thon-?)?(?P<v>3\.?[0-9]{1,2})(?![0-9])")


def rule_read(image: ImageDir, config: Config) -> Iterator[Finding]:
    yield from image.problems


def rule_stack(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The files tell the whole stack."""
    if image.stack is None and image.pyproject is not None:
        yield from _missing_stack_parts(image)


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
                              f"base image {base[0]} is for Python {written[0]}.{written[1:]}, "
                              f"the image uses Python {stack.python}",
                              f"use the py{compact_python(stack.python)} base image", "python")


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
                          "use one index URL everywhere: bumper minor --index-url URL", "index")


def _marker_env(stack: Stack | None) -> dict[str, str]:
    """The environment uv locks for (--python-platform=linux --python-version=X.Y), not the
    machine bumper runs on."""
    env = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
           "platform_machine": "x86_64", "implementation_name": "cpython",
           "platform_python_implementation": "CPython", "extra": ""}
    if stack is not None:
        env.update(python_version=stack.python, python_full_version=f"{stack.python}.0")
    return env


def rule_lock(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The lock covers pyproject: every direct dependency locked, same index (the hash form
    is `checks_conventions.rule_hashes`)."""
    lock, facts = image.lock, image.pyproject
    if lock is None or facts is None or not image.texts.get(LOCK, "").strip():
        return
    where = image.where(LOCK)
    fix = f"run: bumper lock {image.rel}"
    keeps_line = conventions.of(image, config).index_line
    if keeps_line and (lock.index_url is None or lock.index_url_line != 1):
        yield Finding(where, 1, "first line is not --index-url=<the image's index>",
                      f"start the lock with --index-url={image.index_url() or 'URL'}",
                      code="L001")
    for dep in facts.dependencies:
        verdict = _locked(dep.text, lock, image.stack)
        if isinstance(verdict, str):
            yield Finding(image.where(PYPROJECT), dep.line, f"invalid requirement {dep.text!r}: "
                          f"{verdict}", "write a PEP 508 requirement", code="L005")
        elif verdict is None:
            continue
        elif verdict[1] is None:
            yield Finding(where, 0, f"{verdict[0]} is a dependency in pyproject.toml but not "
                          "locked", fix, code="L002")
        elif not verdict[2]:
            pin = verdict[1]
            yield Finding(where, pin.line, f"{pin.name}=={pin.version} does not satisfy "
                          f"{dep.text!r} of pyproject.toml", fix, code="L003")
    for line, number in lock.includes:
        yield Finding(where, number, f"{line!r}: a lock holds only pinned packages "
                      "(put requirements in pyproject.toml)", fix, code="L008")


def _locked(text: str, lock: LockFacts, stack: Stack | None
            ) -> tuple[str, Pin | None, bool] | str | None:
    """(name, its pin, whether the pin satisfies ``text``); None when a marker leaves the
    requirement out of the image; the parser's message when ``text`` is invalid."""
    simple = simple_requirement(text)
    if simple is not None:
        name, specs = simple
        pin = lock.pin(name)
        ok = simple_contains(specs, pin.version) if pin else False
        if ok is not None:
            return name, pin, ok
    # markers, pre-releases, local versions, URLs: the real parser (a costly import)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]
    if req.marker is not None and not req.marker.evaluate(_marker_env(stack)):
        return None
    pin = lock.pin(req.name)
    return req.name, pin, pin is not None and req.specifier.contains(pin.version,
                                                                     prereleases=True)


def rule_base_image(image: ImageDir, config: Config) -> Iterator[Finding]:
    """ARG BASE_IMAGE has a default, is declared before the first FROM, and a FROM uses it."""
    facts = image.dockerfile
    if facts is None:
        return
    where = image.where(DOCKERFILE)
    fix = "declare ARG BASE_IMAGE=<registry>/<name>:<tag> before the first FROM"
    arg = facts.global_args.get("BASE_IMAGE")
    late = facts.args.get("BASE_IMAGE")
    if arg is None and late is not None:
        yield Finding(where, late[1], "ARG BASE_IMAGE comes after the first FROM, which cannot "
                      "use it", fix, "base-image")
        return
    if arg is None or not arg[0]:
        yield Finding(where, arg[1] if arg else 0, "ARG BASE_IMAGE is not declared with a default",
                      fix, "base-image")
        return
    used = re.compile(r"\$(?:\{BASE_IMAGE(?::[-+][^}]*)?\}|BASE_IMAGE\b)")
    if not any(used.search(image_ref) for image_ref, _ in facts.froms):
        line = facts.froms[0][1] if facts.froms else arg[1]
        yield Finding(where, line, "no FROM uses ${BASE_IMAGE}",
                      "start the first stage with FROM ${BASE_IMAGE}", "base-image")


def _leading_comments(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() and not raw.lstrip().startswith("#"):
            return
        if raw.strip():
            yield number, raw


def _text_places(image: ImageDir) -> Iterator[tuple[str, str, int, str]]:
    """Free text that names versions: (file, what, line, text)."""
    if image.dockerfile is not None:
        for key, value, line in image.dockerfile.labels:
            yield DOCKERFILE, f"LABEL {key}", line, value
        for number, raw in _leading_comments(image.texts.get(DOCKERFILE, "")):
            yield DOCKERFILE, "header comment", number, raw
    if image.pyproject is not None:
        if image.pyproject.description:
            yield (PYPROJECT, "[project] description", image.pyproject.description_line,
                   image.pyproject.description)
        for number, raw in _leading_comments(image.texts.get(PYPROJECT, "")):
            yield PYPROJECT, "header comment", number, raw


def rule_labels(image: ImageDir, config: Config) -> Iterator[Finding]:
    """Versions and folder names in LABELs, descriptions and header comments match the files."""
    stack = image.stack
    if stack is None:
        return
    want = {"cuda": stack.accel.version if stack.accel.kind == "cuda" else None,
            "rocm": stack.accel.version if stack.accel.kind == "rocm" else None,
            "torch": stack.torch, "python": stack.python, "th": stack.training_hub}
    conv = conventions.of(image, config)
    naming = conv.scheme.naming if conv.scheme else config.naming
    expected_name = naming.render(stack)
    names = naming.search_pattern()
    for filename, what, line, text in _text_places(image):
        where = image.where(filename)
        for key, rx in LABEL_VERSIONS:
            for match in rx.finditer(text):
                found = _label_problem(key, match["v"], stack, want)
                if found:
                    yield Finding(where, line, f"{what} says {match.group(0)}, {found[0]}",
                                  f"write {found[1]}", "labels")
        if what == "LABEL name" and conv.label_name is not None:
            continue  # rule_label_name checks it against the pattern
        for token in names.finditer(text):
            if token.group(0) != expected_name:
                yield Finding(where, line, f"{what} names {token.group(0)}, the files give "
                              f"{expected_name}", f"write {expected_name}", "labels")


def _label_problem(key: str, written: str, stack: Stack,
                   want: dict[str, str | None]) -> tuple[str, str] | None:
    """(what the files say, the text to write) when a version in free text is wrong."""
    if key == "th_compact":
        expected = compact_th(stack.training_hub)
        if written == expected:
            return None
        return f"the files say Training Hub {stack.training_hub}", f"TH{expected}"
    version = want[key]
    if version is None:
        return f"the image is {stack.accel.label}", stack.accel.label
    accel = key in ("cuda", "rocm")
    if names_release(written, stack.accel) if accel else same_release(written, version):
        return None
    return f"the files say {version}", f"{LABEL_NAMES[key]} {version}"


def rule_markers(image: ImageDir, config: Config) -> Iterator[Finding]:
    if image.dockerfile is None:
        return
    for line, message in marker_problems(image.dockerfile):
        yield Finding(image.where(DOCKERFILE), line, message,
                      "pair every '# MIDSTREAM ONLY' with one '# END MIDSTREAM ONLY'", "markers")


RULES: list[Rule] = [rule_read, rule_stack, rule_name, rule_python, rule_accel, rule_index_drift,
                     rule_lock, rule_base_image, rule_labels, rule_markers, rule_project_name,
                     rule_label_name, rule_hashes, rule_constraints, rule_downstream,
                     rule_sources, rule_other_locks]


def same_stack(images: Iterable[ImageDir]) -> Iterator[Finding]:
    """Two folders with the same stack are one image twice."""
    seen: dict[Stack, ImageDir] = {}
    for image in images:
        if image.stack is None:
            continue
        other = seen.setdefault(image.stack, image)
        if other is not image and other.path != image.path:
            src = image.sources.get("torch", (PYPROJECT, 0))
            yield Finding(image.where(src[0]), src[1],
                          f"same stack as {other.rel} ({image.stack.describe()})",
                          "remove one folder, or bump it to a new stack", "duplicate")


def check_image(image: ImageDir, config: Config) -> list[Finding]:
    return sorted({f for rule in RULES for f in rule(image, config)})


def run(config: Config, paths: list[Path], select: tuple[str, ...] = (),
        ignore: tuple[str, ...] = ()) -> tuple[list[ImageDir], list[Finding]]:
    """Every rule on ``paths``; with every folder of the repo, its companion files too (a
    pipeline file or a table row naming a folder that does not exist). The conventions
    are learned from every folder of the repo, not only the ones checked."""
    images = [load(config, path) for path in paths]
    everything = set(image_dirs(config)) if config.images_root.is_dir() else set()
    peers = images + [load(config, p) for p in sorted(everything - set(paths))]
    conventions.learn(config, peers)
    findings = [f for image in images for f in check_image(image, config)]
    findings.extend(same_stack(images))
    if everything and set(paths) >= everything:
        from bumper import companions

        findings.extend(companions.check(config))
    findings = _merge_unnamed(findings, config)
    return images, [f for f in findings if selected(f, select, ignore)]


def _merge_unnamed(findings: list[Finding], config: Config) -> list[Finding]:
    """Folders that fit no naming scheme are one problem (the setting), not one per folder."""
    unnamed = [f for f in findings if f.code == "N002"]
    if len(unnamed) < 2:
        return findings
    rest = [f for f in findings if f.code != "N002"]
    first = unnamed[0]
    schemes = ", ".join(s.naming.template for s in config.all_schemes)
    merged = Finding(config.images_rel, 0, f"{len(unnamed)} folder names do not fit the naming "
                     f"scheme {schemes}",
                     first.fix, code="N002", details=tuple(f.path for f in unnamed))
    return [*rest, merged]
