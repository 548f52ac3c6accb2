"""Version tokens: the guarded patterns that rewrite free text and find leftovers.

A bare number is never rewritten: ``13.0`` only changes where the text says
``CUDA 13.0``, ``cuda13.0``, ``cuda-nvcc-13-0`` or ``cuda130``. What is left
that still looks like an old version is reported, not guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bumper.model import Stack, compact_python, compact_th, compact_torch, major_minor

Sub = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


@dataclass(frozen=True)
class Rewrite:
    """What one folder's bump changes: stacks, names, index URL and base image."""

    old: Stack
    new: Stack
    old_name: str
    new_name: str
    old_index: str | None = None
    new_index: str | None = None
    base_image: str | None = None  # the new full reference, when the user gave one
    base_tag: str | None = None  # ":TAG" form: only the tag changes
    # name-bearing texts rendered by the repo's patterns: (old, new) of [project] name and
    # of LABEL name (None: rewritten by the guarded tokens like other free text)
    project_name: tuple[str, str] | None = None
    label_name: tuple[str, str] | None = None


def _sub(subs: list[Sub], pattern: str, old: str, new: str, replacement: str | None = None) -> None:
    """Add ``pattern`` (with ``{}`` standing for the escaped old token) unless nothing changes."""
    if old != new:
        subs.append((re.compile(pattern.format(re.escape(old))),
                     new if replacement is None else replacement))


def substitutions(rw: Rewrite) -> list[Sub]:
    """Guarded (pattern, replacement) pairs for free text; longest forms first."""
    subs: list[Sub] = []
    if rw.label_name and rw.label_name[0] != rw.label_name[1]:
        label = rw.label_name[1]
        subs.append((re.compile(rf"""(?<![\w.-])(name=["']?){re.escape(rw.label_name[0])}"""
                                r"""(?=["'\s\\]|$)"""),
                     lambda m: m.group(1) + label))
    if rw.old_index and rw.new_index:
        _sub(subs, "{}", rw.old_index, rw.new_index)
    _sub(subs, r"(?<![A-Za-z0-9]){}(?![A-Za-z0-9])", rw.old_name, rw.new_name)
    old, new = rw.old, rw.new
    oa, na = old.accel, new.accel
    if oa.kind == na.kind and oa.version and na.version:
        if oa.kind == "cuda":
            _sub(subs, r"(?<=CUDA ){}(?![0-9])", oa.version, na.version)
            _sub(subs, r"(?<=cuda){}(?![0-9])", oa.version, na.version)
            # NVIDIA_REQUIRE_CUDA="cuda>=13.0": the image's own CUDA requirement
            _sub(subs, r"(?:(?<=cuda>=)|(?<=cuda==)){}(?![0-9.])", oa.version, na.version)
            _sub(subs, r"(?<=[a-z]-){}(?![0-9])", oa.version.replace(".", "-"),
                 na.version.replace(".", "-"))
        else:
            # /opt/rocm-6.4.3, rocm-smi-lib6.4.3, .../6.4.3/...: not any "-6.4.3" (another
            # package's own version may look the same)
            _sub(subs, r"(?:(?<=[A-Za-z])|(?<=/)|(?<=rocm-)|(?<=ROCm-)){}(?![0-9])",
                 oa.version, na.version)
            _sub(subs, r"(?<=ROCm ){}(?![0-9])", oa.version, na.version)
            _sub(subs, r"(?<=ROCm ){}(?![0-9.])", major_minor(oa.version), major_minor(na.version))
            _sub(subs, r"(?<=rocm){}(?![0-9.])", major_minor(oa.version), major_minor(na.version))
        _sub(subs, r"(?<![A-Za-z0-9]){}(?![0-9])", oa.compact, na.compact)
    _sub(subs, r"(?<=PyTorch ){}(?![0-9])", old.torch, new.torch)
    _sub(subs, r"(?<![A-Za-z0-9])torch{}(?![0-9])", compact_torch(old.torch),
         compact_torch(new.torch), f"torch{compact_torch(new.torch)}")
    _sub(subs, r"(?<=Training Hub ){}(?![0-9])", old.training_hub, new.training_hub)
    o_th, n_th = compact_th(old.training_hub), compact_th(new.training_hub)
    _sub(subs, r"(?<![A-Za-z0-9])TH{}(?![0-9])", o_th, n_th, f"TH{n_th}")
    _sub(subs, r"(?<![A-Za-z0-9])th{}(?=-)", o_th, n_th, f"th{n_th}")
    if old.python != new.python:
        o_py, n_py = compact_python(old.python), compact_python(new.python)
        _sub(subs, r"(?<=Python ){}(?![0-9])", old.python, new.python)
        _sub(subs, r"(?<![A-Za-z0-9])py{}(?![0-9])", o_py, n_py, f"py{n_py}")
        _sub(subs, r"(?<![A-Za-z0-9])python{}(?![0-9])", old.python, new.python,
             f"python{new.python}")
        _sub(subs, r"(?<![A-Za-z0-9])(?<=python-){}(?![0-9])", old.python, new.python)
        # the compile command that header comments repeat
        _sub(subs, r"(?<=--python-version[= ]){}(?![0-9])", old.python, new.python)
    return subs


def apply(text: str, subs: list[Sub]) -> str:
    for pattern, replacement in subs:
        text = pattern.sub(replacement, text)
    return text


def leftover_patterns(old: Stack, new: Stack) -> list[re.Pattern[str]]:
    """Tokens that still look like a version the bump replaced."""
    pats: list[str] = []
    oa, na = old.accel, new.accel
    if oa != na and oa.version:
        v = oa.version
        mm = major_minor(v)
        pats += [rf"(?<![0-9.]){re.escape(mm)}(?![0-9])",
                 rf"(?<![0-9]){re.escape(mm.replace('.', '-'))}(?![0-9])",
                 rf"{oa.kind}{''.join(v.split('.')[:2])}(?![0-9])"]
        if v != mm:
            pats.append(rf"(?<![0-9.]){re.escape(v)}(?![0-9])")
        if oa.kind == "cuda":
            pats.append(rf"\+cuda{re.escape(v.split('.')[0])}\.[0-9]+")
    if old.torch != new.torch:
        pats += [rf"(?<![0-9.]){re.escape(old.torch)}(?![0-9])",
                 rf"torch{compact_torch(old.torch)}(?![0-9])"]
    if old.training_hub != new.training_hub:
        pats += [rf"(?<![0-9.]){re.escape(old.training_hub)}(?![0-9])",
                 rf"(?i)\bth{compact_th(old.training_hub)}(?![0-9])"]
    if old.python != new.python:
        pats += [rf"(?<![0-9.]){re.escape(old.python)}(?![0-9])",
                 rf"py{compact_python(old.python)}(?![0-9])"]
    return [re.compile(p) for p in pats]


# Packages whose version goes with torch's: a pin of the old one is a leftover after a torch bump.
TORCH_COMPANIONS = ("triton", "pytorch-triton-rocm", "pytorch-triton")
_LOCK_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][^\s;\\]*)",
                       re.MULTILINE)


def companion_patterns(lock: str, old: Stack, new: Stack) -> list[re.Pattern[str]]:
    """A pin of a package that came with the old torch (its ``triton``, read from the old
    lock): ``triton==3.5.1`` left in pyproject.toml would hold the new torch back."""
    if old.torch == new.torch:
        return []
    pats = []
    for match in _LOCK_PIN.finditer(lock):
        name = match["name"].lower().replace("_", "-").replace(".", "-")
        if name in TORCH_COMPANIONS:
            pats.append(re.compile(rf"(?i)\b{re.escape(match['name'])}\s*[=~<>!]=\s*"
                                   rf"{re.escape(match['version'])}(?![0-9])"))
    return pats


@dataclass(frozen=True)
class Leftover:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def scan(path: str, text: str, patterns: list[re.Pattern[str]]) -> Iterator[Leftover]:
    """Lines of ``text`` that still carry an old version token."""
    if not patterns:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if "--hash=" in line:
            continue
        if any(p.search(line) for p in patterns):
            yield Leftover(path, number, line.strip())
