"""Rewrite pyproject.toml with tomlkit: values in place, comments and order kept."""

from __future__ import annotations

import contextlib
import re
import tomllib
from typing import Any

import tomlkit

from bumper.editors.tokens import Rewrite, apply, substitutions
from bumper.formats.requirements import canonical

NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


def _string(like: Any, value: str) -> Any:
    literal = getattr(getattr(like, "type", None), "name", "") in ("SLL", "MLL")
    return tomlkit.string(value, literal=literal)


def _repin(dep: str, project: str, old: str, new: str) -> str:
    match = NAME.match(dep)
    if not match or canonical(match["name"]) != project or old == new:
        return dep
    return re.sub(rf"==\s*{re.escape(old)}(?![0-9A-Za-z.])", f"=={new}", dep, count=1)


def replace_requirement(dep: str, requirement: str) -> str:
    """``dep`` with the version part of ``requirement``; ``dep``'s extras and marker kept."""
    from packaging.requirements import Requirement  # only for --set: keep it off the bump path

    old, new = Requirement(dep), Requirement(requirement)
    extras = new.extras or old.extras
    text = new.name if canonical(new.name) != canonical(old.name) else NAME.match(dep)["name"]  # type: ignore[index]
    if extras:
        text += "[" + ",".join(sorted(extras)) + "]"
    text += str(new.specifier)
    marker = new.marker or old.marker
    if marker is not None:
        text += f" ; {marker}"
    return text


def direct_dependency(text: str, project: str) -> str | None:
    """The dependency string of ``project`` in [project] dependencies, if it is direct."""
    for dep in tomllib.loads(text).get("project", {}).get("dependencies", []):
        match = NAME.match(dep)
        if match and canonical(match["name"]) == canonical(project):
            return str(dep)
    return None


def rewrite(text: str, rw: Rewrite, requirements: tuple[str, ...] = ()) -> str:
    """Rewrite the stack's pins, name, requires-python, index URL and the comments."""
    subs = substitutions(rw)
    if _nothing_to_do(rw, subs, requirements):
        return text
    doc = tomlkit.parse(text)
    project = doc.get("project")
    if isinstance(project, dict):
        if rw.project_name and str(project.get("name")) == rw.project_name[0]:
            project["name"] = _string(project["name"], rw.project_name[1])
        for key in ("description",) if rw.project_name else ("name", "description"):
            if key in project:
                new = apply(str(project[key]), subs)
                if new != str(project[key]):
                    project[key] = _string(project[key], new)
        rp = project.get("requires-python")
        if rp is not None and rw.old.python != rw.new.python:
            new = re.sub(rf"(?<![0-9.]){re.escape(rw.old.python)}(?![0-9])", rw.new.python, str(rp))
            if new != str(rp):
                project["requires-python"] = _string(rp, new)
        deps = project.get("dependencies")
        if isinstance(deps, list):
            _rewrite_deps(deps, rw, requirements)
    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if (isinstance(uv, dict) and "index-url" in uv and rw.new_index
            and str(uv["index-url"]) == rw.old_index):
        uv["index-url"] = _string(uv["index-url"], rw.new_index)
    out = tomlkit.dumps(doc)
    lines = out.splitlines(keepends=True)
    return "".join(apply(ln, subs) if ln.lstrip().startswith("#") else ln for ln in lines)


def _nothing_to_do(rw: Rewrite, subs: list[Any], requirements: tuple[str, ...]) -> bool:
    """A rewrite that changes no value: the text comes back as it is, not even parsed."""
    index = bool(rw.new_index) and rw.new_index != rw.old_index
    renamed = bool(rw.project_name) and rw.project_name[0] != rw.project_name[1]  # type: ignore[index]
    return not (subs or requirements or index or renamed or rw.old != rw.new)


def _rewrite_deps(deps: Any, rw: Rewrite, requirements: tuple[str, ...]) -> None:
    wanted = {canonical(NAME.match(r)["name"]): r for r in requirements if NAME.match(r)}  # type: ignore[index]
    for i, item in enumerate(list(deps)):
        dep = str(item)
        new = _repin(dep, "torch", rw.old.torch, rw.new.torch)
        new = _repin(new, "training-hub", rw.old.training_hub, rw.new.training_hub)
        match = NAME.match(new)
        if match and canonical(match["name"]) in wanted:
            from packaging.requirements import InvalidRequirement

            with contextlib.suppress(InvalidRequirement):  # a broken dep is check's to report
                new = replace_requirement(new, wanted[canonical(match["name"])])
        if new != dep:
            deps[i] = _string(item, new)
