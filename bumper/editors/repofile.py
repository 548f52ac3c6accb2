"""Rewrite dnf .repo files: versions in section names, names and base URLs."""

from __future__ import annotations

import re

from bumper.editors.tokens import Rewrite, Sub, apply, substitutions


def _full_rocm(rw: Rewrite) -> list[Sub]:
    """A repo file is about one ROCm release: its full version (6.4.3) is the release wherever
    it stands (``[ROCm-6.4.3]``, ``name=AMD graphics 6.4.3``, ``.../6.4.3/main``). Only a
    three-part version counts; a shorter one is left to the guarded tokens."""
    old, new = rw.old.accel, rw.new.accel
    if not (old.kind == new.kind == "rocm" and old.version and new.version
            and old.version != new.version and old.version.count(".") >= 2):
        return []
    return [(re.compile(rf"(?<![0-9.]){re.escape(old.version)}(?![0-9]|\.[0-9])"),
             new.version)]


def rewrite(text: str, rw: Rewrite) -> str:
    return apply(text, substitutions(rw) + _full_rocm(rw))
