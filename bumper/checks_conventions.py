"""Rules whose assumption is a convention of the repo (see `bumper.conventions`): folder
names, name-bearing texts, the lock's hash form, constraints and the downstream style.
Each reports one finding per systematic problem, with the items inside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from bumper import conventions
from bumper.config import Config
from bumper.discover import DOCKERFILE, LOCK, PYPROJECT, ImageDir
from bumper.findings import Finding
from bumper.formats import dockerfile
from bumper.model import Stack

FIELD_LABELS = {"th": "Training Hub", "accel": "accelerator", "torch": "PyTorch",
                "python": "Python"}
SETTINGS = "[tool.bumper]"


def rule_name(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The folder name must be what its naming scheme renders from the files."""
    stack = image.stack
    if stack is None:
        return
    conv = conventions.of(image, config)
    if conv.scheme is None:
        yield _no_scheme(image, config, stack, conv.fitting)
        return
    naming = conv.scheme.naming
    expected = naming.render(stack)
    fix = f"rename the folder to {expected}, or use bumper major for a new folder"
    for field_name, (written, want) in naming.mismatches(image.name, stack).items():
        base = field_name.split("_")[0]
        if field_name != "name":
            src = image.sources.get(base, (PYPROJECT, 0))
            yield Finding(image.where(src[0]), src[1],
                          f"folder name says {FIELD_LABELS[base]} {written}, the files say "
                          f"{_full(stack, base)} (renders as {want})", fix, code="N001")
        else:
            yield Finding(image.rel, 0, f"folder name {image.name} differs from {expected} that "
                          "the files give", fix, code="N001")


def _no_scheme(image: ImageDir, config: Config, stack: Stack, fitting: str | None) -> Finding:
    schemes = ", ".join(s.naming.template for s in config.all_schemes)
    expected = config.naming.render(stack)
    if fitting:
        fix = f'set naming = "{fitting}" in {SETTINGS}: it fits every folder (bumper init)'
    else:
        fix = (f"rename the folder to {expected}, or set naming in {SETTINGS} to a scheme it "
               "fits ([[tool.bumper.legacy]] naming for an older one)")
    return Finding(image.rel, 0, f"folder name {image.name} does not fit the naming scheme "
                   f"{schemes} (the files say {expected})", fix, code="N002")


def _full(stack: Stack, field: str) -> str:
    return {"th": stack.training_hub, "accel": stack.accel.label, "torch": stack.torch,
            "python": stack.python}[field]


def rule_project_name(image: ImageDir, config: Config) -> Iterator[Finding]:
    """[project] name follows the repo's pattern (project-name, or learned)."""
    pattern = conventions.of(image, config).project_name
    facts = image.pyproject
    if pattern is None or image.stack is None or facts is None or not facts.name:
        return
    want = pattern.render(image.stack, image.name)
    if facts.name != want:
        yield Finding(image.where(PYPROJECT), facts.name_line,
                      f"[project] name {facts.name!r} does not follow the pattern "
                      f"{pattern.template} ({want})", f'set name = "{want}"', code="N003")


def rule_label_name(image: ImageDir, config: Config) -> Iterator[Finding]:
    """LABEL name follows the repo's pattern (label-name, or learned)."""
    pattern = conventions.of(image, config).label_name
    found = conventions.label_name(image)
    if pattern is None or image.stack is None or found is None:
        return
    want = pattern.render(image.stack, image.name)
    if found[0] != want:
        yield Finding(image.where(DOCKERFILE), found[1],
                      f"LABEL name {found[0]!r} does not follow the pattern {pattern.template} "
                      f"({want})", f'write LABEL name="{want}"', code="N004")


def rule_hashes(image: ImageDir, config: Config) -> Iterator[Finding]:
    """The lock's pins are hashed, or not, as the repo's policy says: one finding per lock."""
    policy = conventions.of(image, config).hashes
    lock = image.lock
    if lock is None or not lock.pins:
        return
    bare = [pin for pin in lock.pins if not pin.hashes]
    hashed = [pin for pin in lock.pins if pin.hashes]
    total = len(lock.pins)
    where = image.where(LOCK)
    if policy == "always" and bare:
        yield Finding(where, bare[0].line, f"{len(bare)} of {total} pins have no --hash; this "
                      "repo's policy is hashed", f"run: bumper lock {image.rel}", code="L004",
                      details=tuple(f"{p.name}=={p.version} (line {p.line})" for p in bare))
    elif policy == "never" and hashed:
        yield Finding(where, hashed[0].line, f"{len(hashed)} of {total} pins carry --hash; this "
                      "repo's policy is unhashed", 'drop the hashes, or set hashes = "always" '
                      f"in {SETTINGS}", code="L004",
                      details=tuple(f"{p.name}=={p.version} (line {p.line})" for p in hashed))
    elif policy == "any" and bare and hashed:
        yield Finding(where, bare[0].line, f"{len(bare)} of {total} pins have no --hash, the "
                      "others do", f"run: bumper lock {image.rel}", code="L004",
                      details=tuple(f"{p.name}=={p.version} (line {p.line})" for p in bare))


def rule_constraints(image: ImageDir, config: Config) -> Iterator[Finding]:
    """Every lock pin satisfies [tool.uv] constraint-dependencies."""
    facts, lock = image.pyproject, image.lock
    if facts is None or not facts.constraints or lock is None:
        return
    from bumper.check import _locked  # the fast specifier check rule_lock uses

    for dep in facts.constraints:
        verdict = _locked(dep.text, lock, image.stack)
        if not isinstance(verdict, tuple) or verdict[1] is None or verdict[2]:
            continue  # invalid (uv says so), left out by a marker, not locked, or satisfied
        pin = verdict[1]
        yield Finding(image.where(LOCK), pin.line, f"{pin.name}=={pin.version} violates the "
                      f"constraint {dep.text!r} (pyproject.toml line {dep.line})",
                      f"run: bumper lock {image.rel}", code="L006")


def rule_downstream(image: ImageDir, config: Config) -> Iterator[Finding]:
    """In the switch style every midstream-only step is guarded by ARG DOWNSTREAM."""
    facts = image.dockerfile
    if facts is None or conventions.of(image, config).downstream != "switch":
        return
    where = image.where(DOCKERFILE)
    arg = facts.args.get("DOWNSTREAM")
    if arg is None or arg[0] != "false":
        yield Finding(where, arg[1] if arg else 0,
                      "ARG DOWNSTREAM is not declared" if arg is None
                      else f"ARG DOWNSTREAM defaults to {arg[0]!r}, not false",
                      "declare ARG DOWNSTREAM=false in the stage that installs system packages",
                      code="D003")
    for ins in dockerfile.unguarded_steps(facts):
        yield Finding(where, ins.first_line, f"midstream-only step not guarded: RUN "
                      f"{ins.args[:60]}", 'wrap it: RUN if [ "${DOWNSTREAM}" != "true" ]; then '
                      "...; fi", code="D002")
