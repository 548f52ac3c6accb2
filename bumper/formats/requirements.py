"""requirements.txt locks as `uv pip compile --generate-hashes` writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INDEX_LINE = re.compile(r"^--index-url(?:=|\s+)(?P<url>\S+)\s*$")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=(?P<algo>[a-z0-9]+):(?P<digest>[0-9a-f]+)")


@dataclass
class Pin:
    name: str
    version: str
    line: int
    hashes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return canonical(self.name)


@dataclass
class LockFacts:
    index_url: str | None = None
    index_url_line: int = 0
    pins: list[Pin] = field(default_factory=list)
    other_lines: list[tuple[str, int]] = field(default_factory=list)

    def pin(self, name: str) -> Pin | None:
        key = canonical(name)
        return next((p for p in self.pins if p.key == key), None)


def canonical(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read(text: str) -> LockFacts:
    facts = LockFacts()
    current: Pin | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            current = None if not raw.startswith(" ") else current
            continue
        index = INDEX_LINE.match(line)
        if index:
            if facts.index_url is None:
                facts.index_url, facts.index_url_line = index["url"], number
            continue
        pin = PIN.match(line)
        if pin and not raw[:1].isspace():
            current = Pin(pin["name"], pin["version"], number)
            facts.pins.append(current)
        elif line.startswith("--hash=") and current is not None:
            pass
        elif not pin:
            facts.other_lines.append((line, number))
        if current is not None:
            current.hashes.extend(f"{m['algo']}:{m['digest']}" for m in HASH.finditer(line))
    return facts
