"""The form of a lock file, kept across relocks: its hand-kept index lines, hashed or not.

The first line ``--index-url=<public URL>`` is the folder's index; the ``--extra-index-url=``
lines after it (written by bumper) name the other indexes the folder's ``[tool.uv]`` takes
pins from, so that ``pip install -r`` finds every pin where uv found it.
"""

from __future__ import annotations

import re

FIRST_LINE = re.compile(r"^--index-url(?P<sep>=|[ \t]+)\S+")
EXTRA_LINE = re.compile(r"^--extra-index-url(?:=|[ \t]+)\S+")
POLICIES = ("auto", "always", "never")


def hashed(text: str, policy: str = "auto") -> bool:
    """Whether a relock writes hashes: the ``[tool.bumper] hashes`` policy when it forces one;
    else the form the lock has (hashed, unless it has pins and none carries a hash); a lock
    without pins follows its header command (``--generate-hashes``), and a new lock is hashed
    (the documented procedure)."""
    if policy in ("always", "never"):
        return policy == "always"
    from bumper.formats.requirements import read

    pins = read(text).pins
    if pins:
        return any(pin.hashes for pin in pins)
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    if any("pip compile" in ln for ln in header):
        return any("--generate-hashes" in ln for ln in header)
    return True


def index_lines(public_url: str, extras: list[str], previous: str | None) -> str:
    """The leading lines of the lock, in the style the folder already uses: ``--index-url=URL``
    (the default) or ``--index-url URL``, the folder's other indexes, and the blank line
    after them if there was one."""
    sep, blank = "=", ""
    if previous:
        match = FIRST_LINE.match(previous)
        if match:
            sep = "=" if match["sep"] == "=" else " "
            rest = body_lines(previous)[1]
            blank = "\n" if rest[:1] == [""] else ""
    lines = [f"--index-url{sep}{public_url}\n"]
    lines += [f"--extra-index-url{sep}{url}\n" for url in extras]
    return "".join(lines) + blank


def body_lines(text: str) -> tuple[list[str], list[str]]:
    """(the leading index lines, the rest split in lines without ends) of a lock."""
    lines = text.splitlines()
    head: list[str] = []
    if lines and FIRST_LINE.match(lines[0]):
        head.append(lines.pop(0))
        while lines and EXTRA_LINE.match(lines[0]):
            head.append(lines.pop(0))
    return head, lines


def body(text: str) -> str:
    """A lock without its leading index lines (and the blank line that may follow them)."""
    lines = text.splitlines(keepends=True)
    if lines and FIRST_LINE.match(lines[0]):
        lines.pop(0)
        while lines and EXTRA_LINE.match(lines[0]):
            lines.pop(0)
        if lines and not lines[0].strip():
            lines.pop(0)
    return "".join(lines)


def comparable(text: str) -> list[str]:
    """A lock without its comment lines: what `lock --check` compares."""
    return [ln.rstrip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]
