"""Rewrite a lock: its index line and header, or one pin with its hashes."""

from __future__ import annotations

import re

from bumper.editors.tokens import Rewrite, apply, substitutions
from bumper.formats.requirements import PIN, canonical


def rewrite(text: str, rw: Rewrite) -> str:
    """Only the lines about the lock (index URL, regenerate command); pins need a relock."""
    subs = substitutions(rw)
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith("--index-url") or line.lstrip().startswith("#    bumper lock"):
            line = apply(line, subs)
        out.append(line)
    return "".join(out)


def repin(text: str, name: str, version: str, hashes: list[str]) -> str:
    """Replace the pin of ``name`` (and its --hash lines) with ``version`` and ``hashes``."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    found = False
    while i < len(lines):
        line = lines[i]
        match = PIN.match(line)
        if match and canonical(match["name"]) == canonical(name) and not line[:1].isspace():
            found = True
            head = re.sub(r"==[^\s;\\]+", f"=={version}", line.rstrip("\r\n\\ "), count=1)
            i += 1
            while i < len(lines) and lines[i].strip().startswith("--hash="):
                i += 1
            hash_lines = [f"    --hash={h}" for h in hashes]
            out.append(head + (" \\\n" if hash_lines else "\n"))
            for n, hash_line in enumerate(hash_lines):
                out.append(hash_line + (" \\\n" if n < len(hash_lines) - 1 else "\n"))
            continue
        out.append(line)
        i += 1
    if not found:
        raise KeyError(name)
    return "".join(out)
