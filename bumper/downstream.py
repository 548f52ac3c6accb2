"""The downstream variant of an image folder.

Downstream base images already carry the CUDA/ROCm toolchains, so every
``# MIDSTREAM ONLY`` ... ``# END MIDSTREAM ONLY`` block goes (ENV and dnf
parts alike, with the banner lines around its markers), and so do the
``.repo`` files and the instructions that copy them. Every other line stays
byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from bumper.errors import UsageError
from bumper.formats.dockerfile import MIDSTREAM_BEGIN, MIDSTREAM_END

BANNER = re.compile(r"^\s*#{3,}\s*$")
REPO_COPY = re.compile(r"^\s*(COPY|ADD)\s.*\.repo\b", re.IGNORECASE)


def _blocks(lines: list[str], where: str) -> list[tuple[int, int]]:
    """(first, last) line indexes of each block, banners included; errors name the line."""
    blocks = []
    start: int | None = None
    for i, line in enumerate(lines):
        if MIDSTREAM_END.match(line):
            if start is None:
                raise UsageError(f"{where}:{i + 1}: '# END MIDSTREAM ONLY' without an opening "
                                 "'# MIDSTREAM ONLY' (pair the markers)")
            end = i
            while end + 1 < len(lines) and BANNER.match(lines[end + 1]):
                end += 1
            blocks.append((start, end))
            start = None
        elif MIDSTREAM_BEGIN.match(line):
            if start is not None:
                raise UsageError(f"{where}:{i + 1}: '# MIDSTREAM ONLY' inside another block "
                                 "(blocks cannot nest; close the first one)")
            start = i
            while start > 0 and BANNER.match(lines[start - 1]):
                start -= 1
                if blocks and start <= blocks[-1][1]:
                    start += 1
                    break
    if start is not None:
        marker = next(i for i in range(start, len(lines)) if MIDSTREAM_BEGIN.match(lines[i]))
        raise UsageError(f"{where}:{marker + 1}: '# MIDSTREAM ONLY' is never closed by "
                         "'# END MIDSTREAM ONLY'")
    return blocks


def _instruction_end(lines: list[str], i: int) -> int:
    while lines[i].rstrip("\r\n").endswith("\\") and i + 1 < len(lines):
        i += 1
    return i


def dockerfile(text: str, where: str = "Dockerfile") -> str:
    """The downstream Dockerfile: blocks and .repo copies removed, the rest untouched."""
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    for first, last in _blocks(lines, where):
        drop.update(range(first, last + 1))
    i = 0
    while i < len(lines):
        if i not in drop and REPO_COPY.match(lines[i]):
            end = _instruction_end(lines, i)
            drop.update(range(i, end + 1))
            i = end
        i += 1
    return "".join(line for n, line in enumerate(lines) if n not in drop)


def build_context(folder: Path, output: Path, rel: str) -> None:
    """Write a complete downstream build context at ``output`` (which must not exist)."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"{output}: already exists and is not empty (choose a new --output)")
    text = dockerfile((folder / "Dockerfile").read_text(encoding="utf-8"), f"{rel}/Dockerfile")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        target = tmp / "context"
        shutil.copytree(folder, target, symlinks=True,
                        ignore=shutil.ignore_patterns("*.repo"))
        (target / "Dockerfile").write_text(text, encoding="utf-8")
        if output.exists():
            output.rmdir()
        os.replace(target, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
