"""uv's "No solution found" explanation, read back into facts bumper can word itself.

uv explains a failed resolution as a derivation: sentences of premises ("A depends on
B>=1", "only B==0.9 is available", "A==1 requires Python >=3.11") and conclusions
("we can conclude that ..."). Only the premises are taken; from them a graph of who
requires what is built, and the chains from Training Hub and from the image's own
requirements are followed to the package where they meet. What cannot be read is
left to the caller, who then shows uv's own lines.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from bumper.formats.pyproject import PyprojectFacts
from bumper.formats.requirements import canonical
from bumper.index import sorted_versions

_BOX = "×│╰─▶ "
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_SPEC = r"[<>=!~][^\s,]*(?:,[<>=!~][^\s,]*)*"
_REQ = re.compile(rf"^(?P<name>{_NAME})(?P<extras>\[[^\]]*\])?(?P<spec>{_SPEC})?$")
_DEPENDS = re.compile(r"^(?:all versions of |all of )?(?P<who>\S+) depends? on (?P<what>.+)$")
_REQUIRE = re.compile(r"^you require (?P<what>.+)$")
_ONLY = re.compile(r"^only (?P<what>\S+) (?:is|are) available$")
_NONE = re.compile(rf"^there (?:is|are) no versions? of (?P<what>{_NAME}\S*)$")
_NOT_FOUND = re.compile(
    rf"^(?P<what>{_NAME}) was not found in the (?:package registry|provided package locations)$")
_PYTHON = re.compile(r"^(?P<who>\S+) requires Python (?P<spec>\S+)$")
YOU = "you"  # the root when uv says "you require"
HUB = "training-hub"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Conflict:
    """One thing an alignment found, at a line of the folder's pyproject.toml."""

    folder: str
    line: int
    requirement: str
    message: str
    kind: str = "conflict"  # conflict | missing | python | unresolved | floor
    uv: tuple[str, ...] = ()  # uv's own lines, when bumper could not read them

    def __str__(self) -> str:
        where = f"{self.folder}/{PYPROJECT}"
        head = f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"
        return "\n".join([head, *(f"    {line}" for line in self.uv)])


@dataclass(frozen=True)
class Edge:
    """``parent`` requires ``text`` (a requirement as uv wrote it) of project ``child``."""

    parent: str
    child: str
    text: str


@dataclass
class Derivation:
    edges: list[Edge] = field(default_factory=list)
    available: dict[str, str] = field(default_factory=dict)  # project -> "1.5.3" or "" (none)
    python: dict[str, str] = field(default_factory=dict)  # project -> its Requires-Python
    lines: list[str] = field(default_factory=list)  # uv's own lines, for when nothing fits

    def children(self, parent: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.parent == parent]

    def chain(self, start: str, goal: str, avoid: frozenset[str] = frozenset()) -> list[Edge]:
        """The shortest chain of requirements from ``start`` to ``goal`` (empty: none)."""
        todo: deque[tuple[str, list[Edge]]] = deque([(start, [])])
        seen = {start} | avoid
        while todo:
            node, path = todo.popleft()
            for edge in self.children(node):
                if edge.child == goal:
                    return [*path, edge]
                if edge.child not in seen:
                    seen.add(edge.child)
                    todo.append((edge.child, [*path, edge]))
        return []

    def reachable(self, start: str) -> list[str]:
        """Projects ``start`` requires, directly first, in uv's order."""
        order: list[str] = []
        todo = deque([start])
        while todo:
            for edge in self.children(todo.popleft()):
                if edge.child not in order and edge.child != start:
                    order.append(edge.child)
                    todo.append(edge.child)
        return order


def uv_lines(message: str) -> list[str]:
    """uv's message as its lines, without the box drawing and hints."""
    lines = [ln.strip().lstrip(_BOX).strip() for ln in message.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("hint:", "warning:"))]


def project(text: str) -> str | None:
    """The canonical project of a requirement as uv writes it (``mamba-ssm[x]>=2``)."""
    match = _REQ.match(text.strip())
    return canonical(match["name"]) if match else None


def parse(message: str) -> Derivation:
    """The premises of uv's explanation (an unknown sentence is skipped, not guessed at)."""
    lines = uv_lines(message)
    found = Derivation(lines=lines)
    body = " ".join(re.sub(r"^(?:error|cause|Caused by):\s*", "", ln) for ln in lines
                    if not ln.startswith(("error:", "No solution found")))
    for sentence in re.split(r"(?<=\.)\s+(?=(?:And )?[Bb]ecause )", body):
        premise = re.sub(r"^(?:And )?[Bb]ecause\s+", "", sentence.strip())
        premise = premise.split(", we can conclude that", 1)[0].rstrip(".")
        _premises(premise, found)
    return found


def _premises(text: str, found: Derivation) -> None:
    parent: str | None = None
    for clause in (c.strip() for c in text.split(" and ")):
        if clause.startswith("we know from"):
            parent = None
            continue
        match = _DEPENDS.match(clause) or _REQUIRE.match(clause)
        if match:
            who = match.groupdict().get("who")
            parent = project(who) if who else YOU
            clause = match["what"]
        elif _add_fact(clause, found):
            parent = None
            continue
        if parent is None:
            continue
        if clause.startswith("Python"):  # "A depends on Python>=3.11"
            found.python[parent] = clause.removeprefix("Python").strip()
            continue
        child = project(clause)
        if child is not None:
            found.edges.append(Edge(parent, child, clause))


def _add_fact(clause: str, found: Derivation) -> bool:
    """An availability or Python fact; False when the clause is neither."""
    match = _PYTHON.match(clause)
    if match and project(match["who"]):
        found.python[str(project(match["who"]))] = match["spec"]
        return True
    match = _ONLY.match(clause)
    if match and (name := project(match["what"])):
        spec = _REQ.match(match["what"])
        found.available[name] = (spec["spec"] or "").lstrip("=<>!~") if spec else ""
        return True
    match = _NONE.match(clause) or _NOT_FOUND.match(clause)
    if match and (name := project(match["what"])):
        found.available[name] = ""
        return True
    return False


# --- in bumper's words ----------------------------------------------------------------

Offered = Callable[[str], dict[str, list[str]]]  # project -> index -> versions, newest first


def _merged(offers: dict[str, list[str]]) -> list[str]:
    return sorted_versions(list({v for versions in offers.values() for v in versions}))


def arrow(chain: list[Edge]) -> str:
    """``mlflow -> kubernetes -> urllib3<2.6``: names on the way, the last requirement whole."""
    steps = [_bare(edge.text) for edge in chain[:-1]]
    return " -> ".join([*steps, chain[-1].text]) if chain else ""


def _bare(text: str) -> str:
    match = _REQ.match(text)
    return f"{match['name']}{match['extras'] or ''}" if match else text


def _listed(versions: list[str]) -> str:
    return ", ".join(versions[:8]) + (", ..." if len(versions) > 8 else "")


@dataclass(frozen=True)
class Hub:
    """The folder's Training Hub pin, and the facts of the pyproject it is in."""

    rel: str
    version: str
    extras: str
    line: int
    facts: PyprojectFacts
    text: str

    def label(self) -> str:
        return f"{HUB} {self.version}" + (f" [{self.extras}]" if self.extras else "")

    def finding(self, line: int, requirement: str, message: str, kind: str) -> Conflict:
        return Conflict(self.rel, line, requirement, message, kind)


def explain(hub: Hub, message: str, offered: Offered) -> tuple[list[Conflict], list[str]]:
    """Findings (sorted by line) and the request list for the index owners, from uv's
    message; uv's own lines when nothing in it could be read."""
    found = parse(message)
    root = next((p for p in (canonical(hub.facts.name or ""), YOU)
                 if found.children(p)), YOU)
    out: list[Conflict] = []
    requests: list[str] = []
    if HUB in found.python:
        out.append(_python(hub, found.python[HUB]))
    for name in [n for n in found.available if n != HUB or not found.children(HUB)]:
        item = _missing(hub, found, root, name, offered)
        if item is not None:
            out.append(item[0])
            requests += [item[1]] if item[1] else []
    for name in found.reachable(HUB):
        if name not in found.available:
            mine = found.chain(root, name, avoid=frozenset({HUB}))
            if mine:
                out.append(_conflict(hub, found.chain(HUB, name), mine, _merged(offered(name))))
            else:
                out += _constrained(hub, found, name, offered)
    if not out:
        out.append(Conflict(hub.rel, hub.line, f"{HUB}=={hub.version}",
                            f"{hub.label()} does not resolve with the image; uv says:",
                            "unresolved", tuple(found.lines)))
    return sorted(out, key=lambda c: c.line), list(dict.fromkeys(requests))


def _python(hub: Hub, spec: str) -> Conflict:
    facts = hub.facts
    has = (f'requires-python = "{facts.requires_python}"' if facts.requires_python
           else "no requires-python")
    return hub.finding(facts.requires_python_line or hub.line, f"Python{spec}",
                       f"{hub.label()} requires Python {spec}, but the image has {has} "
                       "(change this line, or keep a Training Hub for this Python)", "python")


def _missing(hub: Hub, found: Derivation, root: str, name: str,
             offered: Offered) -> tuple[Conflict, str] | None:
    """What the index lacks: needed through Training Hub, or by the image itself."""
    offers = offered(name)
    have = _merged(offers)
    theirs = found.chain(HUB, name)
    mine = [] if theirs or name == HUB else found.chain(root, name)
    if name == HUB:
        want, line, what = f"{HUB}=={hub.version}", hub.line, f"{HUB}=={hub.version}"
    elif theirs:
        want, line, what = theirs[-1].text, hub.line, f"{hub.label()} -> {arrow(theirs)}"
    elif mine:
        want, line = mine[-1].text, _line(hub, mine[0].child, None, have)
        what = f"the image's {arrow(mine)}"
    else:
        return None
    first = next(iter(offers), "")
    if any(_allows(want, v) for v in have) and not any(_allows(want, v) for v in
                                                       offers.get(first, [])):
        return (hub.finding(line, want, f"{what}: {first} is the first index with {name} and "
                            "lacks it, a later index of the folder has it (with equally trusted "
                            'indexes, set index-strategy = "unsafe-best-match" in [tool.uv])',
                            "missing"), "")
    has = f"it has {_listed(have)}" if have else f"it has no {name} at all"
    lacks = " is not on the index" if name == HUB else ": not on the index"
    return (hub.finding(line, want, f"{what}{lacks} ({has}); request it from the index "
                        "owners", "missing"), want)


def _conflict(hub: Hub, theirs: list[Edge], mine: list[Edge], have: list[str]) -> Conflict:
    wanted = theirs[-1].text
    line = _line(hub, mine[0].child, wanted if len(mine) == 1 else None, have)
    offers = f"the index has {mine[-1].child} {_listed(have)}" if have else "the index has none"
    return hub.finding(line, wanted, f"{hub.label()} -> {arrow(theirs)} conflicts with the "
                       f"image's {arrow(mine)} (change this line; {offers})", "conflict")


def _constrained(hub: Hub, found: Derivation, name: str, offered: Offered) -> list[Conflict]:
    """uv folds a [tool.uv] constraint into the requirement it narrows ("A depends on
    B>=2 and B<2"): the one of the two written in the pyproject is the image's."""
    out = []
    for parent in dict.fromkeys(e.parent for e in found.edges if e.child == name):
        texts = list(dict.fromkeys(e.text for e in found.children(parent) if e.child == name))
        ours = [(text, line) for text in texts if (line := _written(hub.text, text))]
        if len(texts) < 2 or len(ours) != 1:
            continue
        text, line = ours[0]
        other = next(e for e in found.children(parent) if e.child == name and e.text != text)
        theirs = [*found.chain(HUB, parent), other] if parent != HUB else [other]
        have = _merged(offered(name))
        offers = f"the index has {name} {_listed(have)}" if have else "the index has none"
        out.append(hub.finding(line, other.text, f"{hub.label()} -> {arrow(theirs)} conflicts "
                               f"with the image's {text} (change this line; {offers})",
                               "conflict"))
    return out


def _written(text: str, requirement: str) -> int:
    """The line where ``requirement`` is written as a quoted string (0: nowhere)."""
    for number, raw in enumerate(text.splitlines(), 1):
        if re.search(rf"[\"']{re.escape(requirement)}\s*[\"']", raw.replace(" ", "")):
            return number
    return 0


def _line(hub: Hub, name: str, wanted: str | None, have: list[str]) -> int:
    """The line of the image's requirement on ``name`` to change: of several lines, the one
    that rules out every version ``wanted`` allows; [tool.uv] lines when not a dependency."""
    lines = [(dep.line, dep.text) for dep in hub.facts.dependencies if _name(dep.text) == name]
    if not lines:
        quoted = re.compile(rf"^\s*[\"']{re.escape(name)}\s*[\[<>=!~;\"']", re.IGNORECASE)
        lines = [(number, raw) for number, raw in enumerate(hub.text.splitlines(), 1)
                 if quoted.match(raw.replace("_", "-").replace(".", "-"))]
    if not lines:
        return hub.line
    if wanted is not None and len(lines) > 1:
        need = [v for v in have if _allows(wanted, v)]
        for number, text in lines:
            if not any(_allows(text, v) for v in need):
                return number
    return lines[0][0]


def _name(requirement: str) -> str | None:
    try:
        return canonical(Requirement(requirement).name)
    except InvalidRequirement:
        return None


def _allows(requirement: str, version: str) -> bool:
    try:
        return Requirement(requirement).specifier.contains(version, prereleases=True)
    except InvalidRequirement:
        return True
