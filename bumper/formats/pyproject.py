"""pyproject.toml facts: the dependency pins, requires-python and the index URL."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from bumper.errors import UsageError

COMMENT_INDEX_URL = re.compile(r"^\s*#.*--index-url(?:=|\s+)(?P<url>[^\s\\]+)")
_TOML_POS = re.compile(r"\(at line (?P<line>\d+), column \d+\)")


@dataclass
class Dependency:
    text: str
    line: int


@dataclass
class PyprojectFacts:
    name: str | None = None
    name_line: int = 0
    requires_python: str | None = None
    requires_python_line: int = 0
    dependencies: list[Dependency] = field(default_factory=list)
    index_url: str | None = None
    index_url_line: int = 0
    comment_index_urls: list[tuple[str, int]] = field(default_factory=list)


class TomlError(UsageError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _find_line(lines: list[str], pattern: str, start: int = 0) -> int:
    rx = re.compile(pattern)
    for number in range(start, len(lines)):
        if rx.search(lines[number]):
            return number + 1
    return 0


def read(text: str) -> PyprojectFacts:
    """Facts of a pyproject.toml; raises TomlError (with the line) when it doesn't parse."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POS.search(str(exc))
        line = int(match["line"]) if match else 0
        message = _TOML_POS.sub("", str(exc)).strip()
        raise TomlError(f"invalid TOML: {message}", line) from exc
    lines = text.splitlines()
    facts = PyprojectFacts()
    project = data.get("project", {})
    if isinstance(project, dict):
        facts.name = project.get("name")
        facts.name_line = _find_line(lines, r"^\s*name\s*=")
        facts.requires_python = project.get("requires-python")
        facts.requires_python_line = _find_line(lines, r"^\s*requires-python\s*=")
        deps_start = _find_line(lines, r"^\s*dependencies\s*=")
        for dep in project.get("dependencies", []) or []:
            if not isinstance(dep, str):
                continue
            line = _find_line(lines, re.escape(f'"{dep}"') + "|" + re.escape(f"'{dep}'"),
                              max(deps_start - 1, 0))
            facts.dependencies.append(Dependency(dep, line))
    uv = data.get("tool", {}).get("uv", {})
    if isinstance(uv, dict) and isinstance(uv.get("index-url"), str):
        facts.index_url = uv["index-url"]
        facts.index_url_line = _find_line(lines, r"^\s*index-url\s*=")
    for number, raw in enumerate(lines, start=1):
        match = COMMENT_INDEX_URL.match(raw)
        if match:
            facts.comment_index_urls.append((match["url"], number))
    return facts
