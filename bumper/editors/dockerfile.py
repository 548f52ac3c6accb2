"""Rewrite a Dockerfile: build args structurally, free text by guarded tokens."""

from __future__ import annotations

import re

from bumper.editors.tokens import Rewrite, apply, substitutions

ARG_LINE = re.compile(
    r"^(?P<head>\s*ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)(?P<value>\S*)(?P<tail>.*)$")


def retag(ref: str, tag: str) -> str:
    """``registry:5000/org/name:old`` -> ``registry:5000/org/name:<tag>`` (digest dropped)."""
    name = ref.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return f"{name}:{tag}"


def _arg_value(name: str, value: str, rw: Rewrite, first: bool) -> str:
    if name == "PYTHON_VERSION" and value == rw.old.python:
        return rw.new.python
    if name == "BASE_IMAGE" and first:
        if rw.base_image:
            return rw.base_image
        if rw.base_tag:
            return retag(value, rw.base_tag)
    return value


def rewrite(text: str, rw: Rewrite) -> str:
    subs = substitutions(rw)
    out = []
    seen: set[str] = set()
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = ARG_LINE.match(body)
        if match:
            name = match["name"]
            value = _arg_value(name, apply(match["value"], subs), rw, name not in seen)
            seen.add(name)
            body = match["head"] + value + apply(match["tail"], subs)
        else:
            body = apply(body, subs)
        out.append(body + ending)
    return "".join(out)
