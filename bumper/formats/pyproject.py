"""pyproject.toml facts: the dependency pins, requires-python and the index URL."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from bumper.errors import UsageError

# in prose a URL may end a sentence or a parenthesis: those marks are not part of it
COMMENT_INDEX_URL = re.compile(
    r"^\s*#.*--(?:index-url|default-index)(?:=|\s+)[\"']?(?P<url>[^\s\\()\"'`]+?)[.,;:]*"
    r"(?=[\s\\()\"'`]|$)"
)
_TOML_POS = re.compile(r"\s*\(at line (?P<line>\d+), column \d+\)")
_TABLE = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(?:#.*)?$")


@dataclass
class Dependency:
    text: str
    line: int


@dataclass
class PyprojectFacts:
    name: str | None = None
    name_line: int = 0
    description: str | None = None
    description_line: int = 0
    requires_python: str | None = None
    requires_python_line: int = 0
    dependencies: list[Dependency] = field(default_factory=list)
    index_url: str | None = None
    index_url_line: int = 0
    comment_index_urls: list[tuple[str, int]] = field(default_factory=list)
    # [tool.uv] constraint-dependencies: (requirement, line)
    constraints: list[Dependency] = field(default_factory=list)


class TomlError(UsageError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _table_key_line(lines: list[str], table: str, key: str) -> int:
    """Line of ``key = ...`` inside ``[table]`` (0 when not found)."""
    current = ""
    rx = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, raw in enumerate(lines, start=1):
        header = _TABLE.match(raw)
        if header:
            current = re.sub(r"\s*\.\s*", ".", header["name"]).replace('"', "")
        elif current == table and rx.match(raw):
            return number
    return 0


def _dependency_lines(lines: list[str], deps: list[str], start: int) -> list[int]:
    """Line of each dependency string, searched in order from the ``dependencies`` key."""
    text = "\n".join(lines)
    pos = sum(len(raw) + 1 for raw in lines[:max(start - 1, 0)])
    out = []
    for dep in deps:
        hits = [i for i in (text.find(f'"{dep}"', pos), text.find(f"'{dep}'", pos)) if i >= 0]
        if not hits:
            out.append(start)
            continue
        pos = min(hits) + len(dep) + 2
        out.append(text.count("\n", 0, min(hits)) + 1)
    return out


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def read(text: str) -> PyprojectFacts:
    """Facts of a pyproject.toml; raises TomlError (with the line) when it doesn't parse.

    Values of the wrong type are ignored (read as absent): check reports what
    is missing, a reader never crashes on a strange file.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POS.search(str(exc))
        line = int(match["line"]) if match else 0
        message = _TOML_POS.sub("", str(exc)).strip()
        raise TomlError(f"invalid TOML: {message}", line) from exc
    lines = text.splitlines()
    facts = PyprojectFacts()
    project = data.get("project")
    if isinstance(project, dict):
        facts.name = _str(project.get("name"))
        facts.name_line = _table_key_line(lines, "project", "name")
        facts.description = _str(project.get("description"))
        facts.description_line = _table_key_line(lines, "project", "description")
        facts.requires_python = _str(project.get("requires-python"))
        facts.requires_python_line = _table_key_line(lines, "project", "requires-python")
        deps = project.get("dependencies")
        deps = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
        start = _table_key_line(lines, "project", "dependencies")
        for dep, line in zip(deps, _dependency_lines(lines, deps, start), strict=True):
            facts.dependencies.append(Dependency(dep, line))
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if isinstance(uv, dict) and isinstance(uv.get("index-url"), str):
        facts.index_url = uv["index-url"]
        facts.index_url_line = _table_key_line(lines, "tool.uv", "index-url")
    found = uv.get("constraint-dependencies") if isinstance(uv, dict) else None
    if isinstance(found, list):
        texts = [c for c in found if isinstance(c, str)]
        start = _table_key_line(lines, "tool.uv", "constraint-dependencies")
        facts.constraints = [Dependency(c, line) for c, line in
                             zip(texts, _dependency_lines(lines, texts, start), strict=True)]
    for number, raw in enumerate(lines, start=1):
        match = COMMENT_INDEX_URL.match(raw)
        if match:
            facts.comment_index_urls.append((match["url"], number))
    return facts
