"""Dockerfile facts: build args, FROM lines, labels, index URLs, versioned packages."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MIDSTREAM_BEGIN = re.compile(r"^\s*#\s*MIDSTREAM ONLY\b")
MIDSTREAM_END = re.compile(r"^\s*#\s*END MIDSTREAM ONLY\b")
# The index pip/uv install from. --extra-index-url and uv's --index add indexes on
# purpose (a fallback, a second source): they are not the image's index.
INDEX_URL = re.compile(
    r"(?:--(?:index-url|default-index)(?:=|\s+)|(?<![\w-])-i\s+"
    r"|(?<![\w-])(?:UV_INDEX_URL|PIP_INDEX_URL|UV_DEFAULT_INDEX)=)"
    r"[\"']?(?P<url>[a-z][a-z0-9+.-]*://[^\s\\\"']+)"
)
# dnf names with a dashed CUDA version: cuda-nvcc-13-0, cuda-12-8, libcublas-devel-13-0.
CUDA_PKG = re.compile(
    r"(?<![\w.-])(?P<pkg>(?:cuda|libcu[a-z0-9]*|libnv[a-z0-9]*|libnpp[a-z0-9]*)"
    r"(?:-[a-z][a-z0-9]*)*)-(?P<ver>[0-9]+-[0-9]+)(?![0-9])"
)
CUDA_PATH = re.compile(r"/usr/local/cuda-(?P<ver>[0-9]+\.[0-9]+)(?![0-9.])")
NCCL_BUILD = re.compile(r"\+cuda(?P<ver>[0-9]+\.[0-9]+)")
# The ROCm release in paths (/opt/rocm-6.4.3) and in ROCm dnf names, which glue it to
# the name (rocm-hip-runtime-devel6.4.3, rccl-devel6.4.3, hipblaslt6.4.3). Only names
# of the ROCm stack count: python3.12.1 or openssl3.0.7 are not ROCm versions.
ROCM_VERSIONED = re.compile(
    r"(?:/opt/rocm-|(?<![\w.-])(?:rocm|roc|hip|rccl|miopen|hsa|amd|migraphx|mivisionx|rpp)"
    r"[a-z0-9-]*?[a-z])(?P<ver>[0-9]+\.[0-9]+\.[0-9]+)(?![0-9]|\.[0-9])"
)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    first_line: int
    last_line: int


@dataclass
class DockerfileFacts:
    instructions: list[Instruction] = field(default_factory=list)
    # name -> (default or None, line): the first declaration anywhere
    args: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    # ARGs declared before the first FROM: the only ones a FROM line can use
    global_args: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    froms: list[tuple[str, int]] = field(default_factory=list)
    labels: list[tuple[str, str, int]] = field(default_factory=list)
    index_urls: list[tuple[str, int]] = field(default_factory=list)
    cuda_packages: list[tuple[str, str, int]] = field(default_factory=list)
    cuda_paths: list[tuple[str, int]] = field(default_factory=list)
    nccl_builds: list[tuple[str, int]] = field(default_factory=list)
    rocm_versions: list[tuple[str, int]] = field(default_factory=list)
    markers: list[tuple[str, int]] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """Logical instructions as Docker sees them.

    Continuation lines are joined; comment lines and empty lines inside a
    continuation are dropped (Docker skips both).
    """
    out: list[Instruction] = []
    buf: list[str] = []
    start = last = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not buf:
            start = number
        last = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        out.append(_instruction(buf, start, number))
        buf = []
    if buf:
        out.append(_instruction(buf, start, last))
    return out


def _instruction(parts: list[str], first: int, last: int) -> Instruction:
    joined = " ".join(part for part in parts if part)
    keyword, *args = joined.split(None, 1)  # any whitespace: ARG<TAB>NAME is an ARG
    return Instruction(keyword.upper(), args[0].strip() if args else "", first, last)


def _split(args: str) -> list[str]:
    try:
        return shlex.split(args, posix=True)
    except ValueError:
        return args.split()


def label_pairs(args: str) -> list[tuple[str, str]]:
    """``key=value`` pairs of a LABEL (quotes removed); the legacy ``LABEL key value`` too."""
    tokens = _split(args)
    if tokens and "=" not in tokens[0]:
        return [(tokens[0], " ".join(tokens[1:]))]
    pairs = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep:
            pairs.append((key, value))
    return pairs


def _arg_pairs(args: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for token in _split(args):
        name, sep, value = token.partition("=")
        out.append((name, value if sep else None))
    return out


def _line_of(lines: list[str], needle: str | re.Pattern[str], first: int, last: int) -> int:
    """First line in first..last that contains ``needle`` (a string or a pattern)."""
    for number in range(first, last + 1):
        raw = lines[number - 1]
        if (needle in raw) if isinstance(needle, str) else needle.search(raw):
            return number
    return first


def _from_image(args: str) -> str:
    """The image of a FROM line, skipping flags such as --platform=..."""
    return next((token for token in args.split() if not token.startswith("--")), "")


def read(text: str) -> DockerfileFacts:
    facts = DockerfileFacts(instructions=instructions(text))
    lines = text.splitlines()
    for ins in facts.instructions:
        if ins.keyword == "ARG":
            for name, value in _arg_pairs(ins.args):
                facts.args.setdefault(name, (value, ins.first_line))
                if not facts.froms:
                    facts.global_args.setdefault(name, (value, ins.first_line))
        elif ins.keyword == "FROM":
            facts.froms.append((_from_image(ins.args), ins.first_line))
        elif ins.keyword == "LABEL":
            for key, value in label_pairs(ins.args):
                where = re.compile(rf"(?<![\w.-])[\"']?{re.escape(key)}[\"']?(?:=|\s)")
                facts.labels.append((key, value, _line_of(lines, where, ins.first_line,
                                                          ins.last_line)))
        for match in INDEX_URL.finditer(ins.args):
            url = match["url"]
            line = _line_of(lines, url, ins.first_line, ins.last_line)
            facts.index_urls.append((url, line))
    for number, raw in enumerate(lines, start=1):
        if MIDSTREAM_END.match(raw):
            facts.markers.append(("end", number))
        elif MIDSTREAM_BEGIN.match(raw):
            facts.markers.append(("begin", number))
        if raw.lstrip().startswith("#"):
            continue
        facts.cuda_packages.extend((m["pkg"], m["ver"], number) for m in CUDA_PKG.finditer(raw))
        facts.cuda_paths.extend((m["ver"], number) for m in CUDA_PATH.finditer(raw))
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
                problems.append((line, "nested '# MIDSTREAM ONLY' (the block opened at line "
                                       f"{open_at} is not closed)"))
            open_at = line
        elif open_at is None:
            problems.append((line, "'# END MIDSTREAM ONLY' without an opening '# MIDSTREAM ONLY'"))
        else:
            open_at = None
    if open_at is not None:
        problems.append((open_at, "'# MIDSTREAM ONLY' is never closed by '# END MIDSTREAM ONLY'"))
    return problems


# The DOWNSTREAM switch: `RUN if [ "${DOWNSTREAM}" != "true" ]; then ...; fi` runs only in
# midstream builds (`--build-arg DOWNSTREAM=true` skips it).
GUARD = re.compile(
    r"""^if\s+\[\[?\s+["']?\$\{?DOWNSTREAM\}?["']?\s+(?:!=\s*["']?true|==?\s*["']?false)["']?"""
    r"""\s+\]\]?\s*;\s*then\b.*\bfi\s*;?\s*$""", re.DOTALL)
MIDSTREAM_STEP = re.compile(r"\b(?:dnf|yum|microdnf)\s+(?:-\S+\s+)*(?:install|config-manager)\b"
                            r"|\.repo\b|/etc/yum\.repos\.d\b")


def guarded(ins: Instruction) -> bool:
    """A RUN whose whole command is the DOWNSTREAM guard's body."""
    return ins.keyword == "RUN" and GUARD.match(ins.args.strip()) is not None


def unguarded_steps(facts: DockerfileFacts) -> list[Instruction]:
    """RUN steps that install system packages or use repo files outside the guard."""
    return [ins for ins in facts.instructions
            if ins.keyword == "RUN" and MIDSTREAM_STEP.search(ins.args) and not guarded(ins)]
