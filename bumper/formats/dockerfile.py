"""Dockerfile facts: build args, FROM lines, labels, index URLs, versioned packages."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MIDSTREAM_BEGIN = re.compile(r"^\s*#\s*MIDSTREAM ONLY\b")
MIDSTREAM_END = re.compile(r"^\s*#\s*END MIDSTREAM ONLY\b")
INDEX_URL = re.compile(r"--(?:index-url|extra-index-url)(?:=|\s+)(?P<url>[^\s\\\"']+)")
CUDA_PKG = re.compile(r"\b(?P<pkg>cuda-[a-z0-9-]+?|lib[a-z0-9]+-devel|lib[a-z0-9]+)-(?P<ver>[0-9]+-[0-9]+)\b")
NCCL_BUILD = re.compile(r"\+cuda(?P<ver>[0-9]+\.[0-9]+)")
ROCM_VERSIONED = re.compile(r"(?:/opt/rocm-|\b[a-z][a-z0-9-]*?[a-z])(?P<ver>[0-9]+\.[0-9]+\.[0-9]+)\b")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    first_line: int
    last_line: int


@dataclass
class DockerfileFacts:
    instructions: list[Instruction] = field(default_factory=list)
    args: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    froms: list[tuple[str, int]] = field(default_factory=list)
    labels: list[tuple[str, str, int]] = field(default_factory=list)
    index_urls: list[tuple[str, int]] = field(default_factory=list)
    cuda_packages: list[tuple[str, str, int]] = field(default_factory=list)
    nccl_builds: list[tuple[str, int]] = field(default_factory=list)
    rocm_versions: list[tuple[str, int]] = field(default_factory=list)
    markers: list[tuple[str, int]] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """Logical instructions, continuation lines joined and comment lines inside them dropped."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buf:
            if not stripped or stripped.startswith("#"):
                continue
            start = number
        elif stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        joined = " ".join(part.strip() for part in buf if part.strip())
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start, number))
        buf = []
    if buf:
        joined = " ".join(buf)
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start, start + len(buf) - 1))
    return out


def _label_pairs(args: str) -> list[tuple[str, str]]:
    try:
        tokens = shlex.split(args, posix=True)
    except ValueError:
        return []
    pairs = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep:
            pairs.append((key, value))
    return pairs


def _line_of(lines: list[str], needle: str, first: int, last: int) -> int:
    for number in range(first, last + 1):
        if needle in lines[number - 1]:
            return number
    return first


def read(text: str) -> DockerfileFacts:
    facts = DockerfileFacts(instructions=instructions(text))
    lines = text.splitlines()
    seen_from = False
    for ins in facts.instructions:
        if ins.keyword == "ARG":
            name, sep, value = ins.args.partition("=")
            name = name.strip()
            if not seen_from or name not in facts.args:
                facts.args.setdefault(name, (value.strip().strip("\"'") if sep else None, ins.first_line))
        elif ins.keyword == "FROM":
            seen_from = True
            image = ins.args.split()[0] if ins.args.split() else ""
            facts.froms.append((image, ins.first_line))
        elif ins.keyword == "LABEL":
            for key, value in _label_pairs(ins.args):
                line = _line_of(lines, f"{key}=", ins.first_line, ins.last_line)
                facts.labels.append((key, value, line))
    for number, raw in enumerate(lines, start=1):
        if MIDSTREAM_END.match(raw):
            facts.markers.append(("end", number))
        elif MIDSTREAM_BEGIN.match(raw):
            facts.markers.append(("begin", number))
        if raw.lstrip().startswith("#"):
            continue
        facts.index_urls.extend((m["url"], number) for m in INDEX_URL.finditer(raw))
        facts.cuda_packages.extend((m["pkg"], m["ver"], number) for m in CUDA_PKG.finditer(raw))
        facts.nccl_builds.extend((m["ver"], number) for m in NCCL_BUILD.finditer(raw))
        facts.rocm_versions.extend((m["ver"], number) for m in ROCM_VERSIONED.finditer(raw))
    return facts


def marker_problems(facts: DockerfileFacts) -> list[tuple[int, str]]:
    """Unbalanced or nested MIDSTREAM ONLY markers, as (line, message)."""
    problems = []
    open_at: int | None = None
    for kind, line in facts.markers:
        if kind == "begin":
            if open_at is not None:
                problems.append((line, f"nested '# MIDSTREAM ONLY' (the block opened at line {open_at} is not closed)"))
            open_at = line
        elif open_at is None:
            problems.append((line, "'# END MIDSTREAM ONLY' without an opening '# MIDSTREAM ONLY'"))
        else:
            open_at = None
    if open_at is not None:
        problems.append((open_at, "'# MIDSTREAM ONLY' is never closed by '# END MIDSTREAM ONLY'"))
    return problems
