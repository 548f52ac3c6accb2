"""Edit the requirement lists of pyproject.toml: ``[project] dependencies`` and ``[tool.uv]``
``constraint-dependencies`` / ``override-dependencies``: one entry set (in place, or added
after the last one in the list's own style) or removed; comments and order kept.
"""

from __future__ import annotations

import re
from typing import Any

import tomlkit

from bumper.editors.pyproject import NAME, _string
from bumper.formats.requirements import canonical

DEPENDENCIES = ("project", "dependencies")
CONSTRAINTS = ("tool", "uv", "constraint-dependencies")
OVERRIDES = ("tool", "uv", "override-dependencies")
_ENTRY = re.compile(r"""^(?P<indent>[ \t]*)(?P<q>["'])(?P<value>.*?)(?P=q)[ \t]*(?P<comma>,?)""")


def _name(requirement: str) -> str:
    match = NAME.match(requirement)
    return canonical(match["name"]) if match else requirement


def _array(doc: Any, where: tuple[str, ...]) -> Any:
    node = doc
    for key in where:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, list) else None


def entry(text: str, where: tuple[str, ...], name: str) -> str | None:
    """The entry of project ``name`` in the list at ``where``, if there is one."""
    found = _array(tomlkit.parse(text), where)
    return next((str(item) for item in found or [] if _name(str(item)) == canonical(name)), None)


def has_list(text: str, where: tuple[str, ...]) -> bool:
    return _array(tomlkit.parse(text), where) is not None


def set_entry(text: str, where: tuple[str, ...], requirement: str) -> str:
    """The list at ``where`` with ``requirement`` in it: the entry of the same project
    replaced in place (the requirement as given), else added after the last entry (a list
    created at the end of its table when there is none)."""
    doc = tomlkit.parse(text)
    found = _array(doc, where)
    if found is not None:
        for i, item in enumerate(list(found)):
            if _name(str(item)) == _name(requirement):
                if str(item) == requirement:
                    return text
                found[i] = _string(item, requirement)
                return tomlkit.dumps(doc)
        return _append(text, doc, where, requirement)
    return _new_list(text, where, requirement)


def remove_entry(text: str, where: tuple[str, ...], name: str) -> str:
    """The list at ``where`` without the entry of ``name`` (KeyError when it has none)."""
    doc = tomlkit.parse(text)
    found = _array(doc, where)
    for i, item in enumerate(list(found or [])):
        if _name(str(item)) == canonical(name):
            del found[i]
            return tomlkit.dumps(doc)
    raise KeyError(name)


def _span(lines: list[str], where: tuple[str, ...]) -> tuple[int, int] | None:
    """(line of ``key = [``, line of its closing ``]``) of a multi-line list."""
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, where[:-1])) + r"\s*\]")
    opening = re.compile(rf"^\s*{re.escape(where[-1])}\s*=\s*\[\s*(#.*)?$")
    inside = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            continue
        if inside and opening.match(line):
            end = next((n for n in range(number + 1, len(lines))
                        if lines[n].strip().startswith("]")), None)
            return (number, end) if end is not None else None
    return None


def _append(text: str, doc: Any, where: tuple[str, ...], requirement: str) -> str:
    lines = text.splitlines(keepends=True)
    span = _span(lines, where)
    if span is None:  # an inline list: tomlkit keeps its one-line form
        _array(doc, where).append(requirement)
        return tomlkit.dumps(doc)
    start, end = span
    entries = [n for n in range(start + 1, end) if _ENTRY.match(lines[n])]
    indent, quote = "    ", '"'
    at = end
    if entries:
        last = _ENTRY.match(lines[entries[-1]])
        assert last is not None
        indent, quote, at = last["indent"], last["q"], entries[-1] + 1
        if not last["comma"]:
            line = lines[entries[-1]]
            cut = last.end()
            lines[entries[-1]] = line[:cut] + "," + line[cut:]
    if quote == "'" and "'" in requirement:
        quote = '"'
    lines.insert(at, f"{indent}{quote}{requirement}{quote},\n")
    return "".join(lines)


def _new_list(text: str, where: tuple[str, ...], requirement: str) -> str:
    """A new multi-line list at the end of its table (the table added when missing)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, where[:-1])) + r"\s*\]")
    new = [f"{where[-1]} = [\n", f'    "{requirement}",\n', "]\n"]
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return "".join([*lines, "\n", f"[{'.'.join(where[:-1])}]\n", *new])
    end = next((n for n in range(start + 1, len(lines)) if lines[n].lstrip().startswith("[")),
               len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "".join([*lines[:end], *new, *lines[end:]])
