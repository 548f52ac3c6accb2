"""The downstream variant of an image folder, in either style a repo uses.

Banner style: downstream base images already carry the CUDA/ROCm toolchains, so
every ``# MIDSTREAM ONLY`` ... ``# END MIDSTREAM ONLY`` block goes (ENV and dnf
parts alike, with the banner line just before its opening marker and just after
its closing one), and so do the ``.repo`` files and the instructions that copy
them.

Switch style (the Dockerfile declares ``ARG DOWNSTREAM``): one Dockerfile builds
both, downstream with ``--build-arg DOWNSTREAM=true``. The variant is what that
build runs: the guarded ``RUN if [ "${DOWNSTREAM}" != "true" ]; then ...; fi``
steps go, ENV and COPY lines (repo files too) stay, and the ARG defaults to true.

Every other line stays byte for byte, line endings included. `convert` moves a
banner-style Dockerfile to the switch.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import tempfile
from pathlib import Path

from bumper.errors import UsageError
from bumper.formats import dockerfile as facts_of
from bumper.formats.dockerfile import MIDSTREAM_BEGIN, MIDSTREAM_END

BANNER = re.compile(r"^\s*#{3,}\s*$")
COPY = re.compile(r"^\s*(COPY|ADD)\s", re.IGNORECASE)
FLAGS = re.compile(r"^\s*\S+\s+(--\S+\s+)*")  # the instruction and its --flags
REPO_FILE = re.compile(r"\.repo$")
COMMENT_OR_BLANK = re.compile(r"^\s*(#.*)?$")


def _blocks(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(first, last) line indexes of each block, banners included; errors name the line."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    for i, line in enumerate(lines):
        if MIDSTREAM_END.match(line):
            if start is None:
                raise UsageError(f"{where}:{i + 1}: '# END MIDSTREAM ONLY' without an opening "
                                 "'# MIDSTREAM ONLY' (pair the markers)")
            end = i + 1 if i + 1 < len(lines) and BANNER.match(lines[i + 1]) else i
            blocks.append((start, end))
            start = None
        elif MIDSTREAM_BEGIN.match(line):
            if start is not None:
                opened = next(n for n in range(start, i) if MIDSTREAM_BEGIN.match(lines[n]))
                raise UsageError(f"{where}:{i + 1}: '# MIDSTREAM ONLY' inside the block opened "
                                 f"at line {opened + 1} (blocks cannot nest; close the first one "
                                 "with '# END MIDSTREAM ONLY')")
            previous_end = blocks[-1][1] if blocks else -1
            banner = i > 0 and i - 1 > previous_end and BANNER.match(lines[i - 1])
            start = i - 1 if banner else i
    if start is not None:
        marker = next(i for i in range(start, len(lines)) if MIDSTREAM_BEGIN.match(lines[i]))
        raise UsageError(f"{where}:{marker + 1}: '# MIDSTREAM ONLY' is never closed by "
                         "'# END MIDSTREAM ONLY'")
    return blocks


def _instruction_end(lines: list[str], i: int) -> int:
    """Last line of the instruction starting at ``i``; comment lines inside a continuation
    do not end it (Docker drops them before joining the lines)."""
    end = i
    while lines[end].rstrip("\r\n").endswith("\\"):
        nxt = end + 1
        while nxt < len(lines) and COMMENT_OR_BLANK.match(lines[nxt]):
            nxt += 1
        if nxt >= len(lines):
            break
        end = nxt
    return end


def _sources(lines: list[str]) -> list[str]:
    """The sources of a COPY/ADD given as its lines: flags and the destination left out."""
    joined = " ".join(line.rstrip("\r\n").removesuffix("\\") for line in lines
                      if not line.lstrip().startswith("#"))
    rest = FLAGS.sub("", joined, count=1).strip()
    try:
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    except ValueError:  # not valid JSON or shell words: plain words, as Docker falls back to
        words = rest.split()
    return [str(w) for w in words[:-1]]


def _repo_copies(lines: list[str], drop: set[int], where: str) -> set[int]:
    """Line indexes of the COPY/ADD instructions that copy .repo files, outside the blocks."""
    found: set[int] = set()
    i = 0
    while i < len(lines):
        if i in drop or not COPY.match(lines[i]):
            i += 1
            continue
        end = _instruction_end(lines, i)
        sources = _sources(lines[i:end + 1])
        repos = [s for s in sources if REPO_FILE.search(s)]
        if repos and len(repos) != len(sources):
            raise UsageError(f"{where}:{i + 1}: copies .repo files together with other files "
                             f"({', '.join(s for s in sources if s not in repos)}); give the "
                             ".repo files their own COPY so that the downstream variant can "
                             "drop it")
        if repos:
            found.update(range(i, end + 1))
        i = end + 1
    return found


ARG_DOWNSTREAM = re.compile(r"^(\s*ARG\s+DOWNSTREAM=)[\"']?false[\"']?(\s*)$", re.IGNORECASE)
GUARD_OPEN = 'if [ "${DOWNSTREAM}" != "true" ]; then'


def is_switch(text: str) -> bool:
    return "DOWNSTREAM" in facts_of.read(text).args


def switch_dockerfile(text: str) -> str:
    """What ``--build-arg DOWNSTREAM=true`` builds: guarded steps dropped, ARG set to true."""
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    for ins in facts_of.read(text).instructions:
        if facts_of.guarded(ins):
            drop.update(range(ins.first_line - 1, ins.last_line))
    out = []
    for n, line in enumerate(lines):
        if n in drop:
            continue
        body = line.rstrip("\r\n")
        match = ARG_DOWNSTREAM.match(body)
        out.append(f"{match[1]}true{match[2]}{line[len(body):]}" if match else line)
    return "".join(out)


def convert(text: str, where: str = "Dockerfile") -> str:
    """A banner-style Dockerfile moved to the switch: every RUN inside a MIDSTREAM ONLY block
    wrapped in the DOWNSTREAM guard, ``ARG DOWNSTREAM=false`` declared in each stage before
    its first block; ENV, COPY and the banners (now comments) stay."""
    if is_switch(text):
        raise UsageError(f"{where}: already uses ARG DOWNSTREAM (nothing to convert)")
    lines = text.splitlines(keepends=True)
    blocks = _blocks(lines, where)
    if not blocks:
        raise UsageError(f"{where}: no '# MIDSTREAM ONLY' block to convert")
    newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
    instructions = facts_of.read(text).instructions
    stages = [ins.first_line - 1 for ins in instructions if ins.keyword == "FROM"]
    declared: set[int] = set()
    before: dict[int, str] = {}
    wrap: dict[int, int] = {}  # first line -> last line of each RUN to guard
    for first, last in blocks:
        stage = max((s for s in stages if s < first), default=-1)
        if stage not in declared:
            declared.add(stage)
            before[first] = f"ARG DOWNSTREAM=false{newline}"
        for ins in instructions:
            if ins.keyword == "RUN" and first <= ins.first_line - 1 <= last:
                wrap[ins.first_line - 1] = ins.last_line - 1
    ends = set(wrap.values())
    out = []
    for n, line in enumerate(lines):
        out.append(before.get(n, ""))
        body = line.rstrip("\r\n")
        ending = line[len(body):] or newline
        if n in wrap:
            head = re.match(r"^(\s*)RUN\s+", body, re.IGNORECASE)
            assert head is not None
            body = f"{head[1]}RUN {GUARD_OPEN} \\{newline}        {body[head.end():]}"
        if n in ends:
            body = f"{body}; \\{newline}    fi"
        out.append(body + ending)
    return "".join(out)


def dockerfile(text: str, where: str = "Dockerfile") -> str:
    """The downstream Dockerfile of either style; the rest untouched."""
    if is_switch(text):
        return switch_dockerfile(text)
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    for first, last in _blocks(lines, where):
        drop.update(range(first, last + 1))
    drop |= _repo_copies(lines, drop, where)
    return "".join(line for n, line in enumerate(lines) if n not in drop)


def source(folder: Path, rel: str) -> str:
    """The Dockerfile of ``folder`` as it is (``rel`` names it in messages)."""
    path = folder / "Dockerfile"
    if not path.is_file():
        raise UsageError(f"{rel}/Dockerfile: missing")
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # keep CRLF as it is
            return handle.read()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{rel}/Dockerfile: not UTF-8 text ({exc.reason})") from exc


def convert_folder(folder: Path, rel: str) -> None:
    """`convert` the folder's Dockerfile in place (atomically, newlines kept)."""
    from bumper.fsutil import atomic_write

    atomic_write(folder / "Dockerfile", convert(source(folder, rel), f"{rel}/Dockerfile"))


def read(folder: Path, rel: str) -> str:
    """The downstream Dockerfile of ``folder`` (``rel`` names it in messages)."""
    return dockerfile(source(folder, rel), f"{rel}/Dockerfile")


def build_context(folder: Path, output: Path, rel: str) -> None:
    """Write a complete downstream build context at ``output`` (new, or an empty folder)."""
    if output.is_symlink():  # dangling or not: never write at a link's target
        raise UsageError(f"{output}: is a symbolic link (give the real path of a new folder)")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"{output}: already exists and is not empty (choose a new --output)")
    full = output.resolve()
    if full == folder.resolve() or folder.resolve() in full.parents:
        raise UsageError(f"{output}: inside the image folder {rel} (choose a path outside it)")
    original = source(folder, rel)
    text = dockerfile(original, f"{rel}/Dockerfile")
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{full.name}.", dir=full.parent))
    except OSError as exc:
        raise UsageError(f"{output}: cannot create a folder there ({exc.strerror or exc}; "
                         "choose a writable --output)") from None
    try:
        target = tmp / "context"
        # the switch style keeps the COPY of the repo files, so it keeps the files too
        shutil.copytree(folder, target, symlinks=True,
                        ignore=None if is_switch(original) else shutil.ignore_patterns("*.repo"))
        with (target / "Dockerfile").open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if full.exists():
            full.rmdir()
        target.replace(full)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(folder: Path, rel: str, output: Path | None, convert_it: bool
        ) -> tuple[str | None, list[str]]:
    """`bumper downstream`: (the Dockerfile to print or None, notes for stderr)."""
    if convert_it:
        if output is not None:
            raise UsageError("--convert edits the folder's Dockerfile; leave --output out")
        convert_folder(folder, rel)
        return None, [f"{rel}/Dockerfile: converted to the ARG DOWNSTREAM switch (review with "
                      "git diff, then commit)"]
    notes = []
    if is_switch(source(folder, rel)):
        notes.append(f"{rel}: one Dockerfile builds both (ARG DOWNSTREAM); downstream: docker "
                     f"build --build-arg DOWNSTREAM=true {rel}")
    if output is None:
        return read(folder, rel), notes
    build_context(folder, output, rel)
    return None, [*notes, f"downstream build context of {rel} written to {output}"]
