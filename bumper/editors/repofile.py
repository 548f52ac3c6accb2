"""Rewrite dnf .repo files: versions in section names, names and base URLs."""

from __future__ import annotations

from bumper.editors.tokens import Rewrite, apply, substitutions


def rewrite(text: str, rw: Rewrite) -> str:
    return apply(text, substitutions(rw))
