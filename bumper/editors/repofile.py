"""Rewrite dnf .repo files: versions in section names, names and base URLs."""

from __future__ import annotations

import re

from bumper.editors.tokens import Rewrite, Sub, apply, substitutions

# the lines of a repo file that name its release: [section], name=, baseurl= (and mirrors)
RELEASE_LINE = re.compile(r"^\s*(\[|(name|baseurl|mirrorlist|metalink)\s*=)")


def _full_rocm(rw: Rewrite) -> list[Sub]:
    """A ROCm repo file is about one release: its full version (6.4.3) is the release
    wherever it stands on a section, name or URL line (``[ROCm-6.4.3]``,
    ``name=AMD graphics 6.4.3``, ``.../6.4.3/main``). Only a three-part version counts; a
    shorter one is left to the guarded tokens."""
    old, new = rw.old.accel, rw.new.accel
    if not (old.kind == new.kind == "rocm" and old.version and new.version
            and old.version != new.version and old.version.count(".") >= 2):
        return []
    return [(re.compile(rf"(?<![0-9.]){re.escape(old.version)}(?![0-9]|\.[0-9])"),
             new.version)]


def rewrite(text: str, rw: Rewrite) -> str:
    subs = substitutions(rw)
    release = _full_rocm(rw)
    if not release:
        return apply(text, subs)
    out = []
    for line in text.splitlines(keepends=True):
        line = apply(line, subs)
        if RELEASE_LINE.match(line):
            line = apply(line, release)
        out.append(line)
    return "".join(out)
