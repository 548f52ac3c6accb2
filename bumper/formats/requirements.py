"""requirements.txt locks as `uv pip compile --generate-hashes` writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INDEX_LINE = re.compile(r"^--index-url(?:=|\s+)(?P<url>\S+)\s*$")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=(?P<algo>[a-z0-9]+):(?P<digest>[0-9a-f]+)")
# Lines that pull in other files or unpinned code: uv never writes them into a lock.
INCLUDE = re.compile(r"^\s*(?:-[rce]|--requirement|--constraint|--editable)(?:=|\s|$)")


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
    _by_key: dict[str, Pin] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexed: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    @property
    def includes(self) -> list[tuple[str, int]]:
        """``-r``, ``-c`` and ``-e`` lines, with their line numbers."""
        return [(line, number) for line, number in self.other_lines if INCLUDE.match(line)]

    def pin(self, name: str) -> Pin | None:
        """The (first) pin of a project, by normalized name."""
        state = (id(self.pins), len(self.pins))
        if self._indexed != state:  # built on first use, again when pins changed
            self._by_key = {p.key: p for p in reversed(self.pins)}
            self._indexed = state
        return self._by_key.get(canonical(name))


def canonical(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def without_includes(text: str) -> str:
    """The lock without its ``-r``/``-c``/``-e`` lines (what uv may read back as pins)."""
    return "".join(ln for ln in text.splitlines(keepends=True) if not INCLUDE.match(ln))


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


# --- a fast path for plain requirements -----------------------------------------------------
# `check` compares each direct dependency with its pin. Importing packaging costs about a
# sixth of a `bumper check` run, and nearly every real requirement is plain: a name, extras,
# and specifiers on final releases ("numpy>=2.0.0,<2.4", "tensorboard~=2.20.0"). Those are
# decided here with PEP 440's rules for final releases; anything else (markers, pre-releases,
# local versions, URLs, ===) returns None and goes to packaging.

_SIMPLE_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
                          r"(?:\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\])?\s*")
_SIMPLE_SPEC = re.compile(r"^\s*(?P<op>==|!=|<=|>=|~=|<|>)\s*(?P<v>[0-9]+(?:\.[0-9]+)*)"
                          r"(?P<wild>\.\*)?\s*$")
_FINAL = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")

Spec = tuple[str, tuple[int, ...], bool]


def simple_requirement(text: str) -> tuple[str, list[Spec]] | None:
    """(name, specifiers) of a plain requirement, or None when it needs a full parser."""
    match = _SIMPLE_NAME.match(text)
    if match is None:
        return None
    rest = text[match.end():]
    specs: list[Spec] = []
    for part in rest.split(",") if rest.strip() else []:
        spec = _SIMPLE_SPEC.match(part)
        if spec is None:
            return None
        op, wild = spec["op"], bool(spec["wild"])
        release = tuple(int(s) for s in spec["v"].split("."))
        if (wild and op not in ("==", "!=")) or (op == "~=" and len(release) < 2):
            return None
        specs.append((op, release, wild))
    return match["name"], specs


def simple_contains(specs: list[Spec], version: str) -> bool | None:
    """Whether a final release satisfies all specifiers; None when ``version`` isn't one."""
    if not _FINAL.match(version):
        return None
    have = tuple(int(s) for s in version.split("."))
    return all(_one(op, want, wild, have) for op, want, wild in specs)


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    size = max(len(a), len(b))
    return a + (0,) * (size - len(a)), b + (0,) * (size - len(b))


def _prefix(have: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return (have + (0,) * len(want))[:len(want)] == want


def _one(op: str, want: tuple[int, ...], wild: bool, have: tuple[int, ...]) -> bool:
    if wild:
        return _prefix(have, want) == (op == "==")
    if op == "~=":
        return _one(">=", want, False, have) and _prefix(have, want[:-1])
    h, w = _padded(have, want)
    return {"==": h == w, "!=": h != w, "<=": h <= w, ">=": h >= w, "<": h < w,
            ">": h > w}[op]
