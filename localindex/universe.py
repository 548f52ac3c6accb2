"""Load `universe.toml`: which wheels exist on which local index, with what metadata.

The file is the single source of truth for the fake index, so it is validated
strictly here: a typo in an index tag or a duplicated version would otherwise
surface much later as a confusing resolver failure.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

UNIVERSE_PATH = Path(__file__).with_name("universe.toml")


class UniverseError(ValueError):
    """The universe file is inconsistent."""


@dataclass(frozen=True)
class Release:
    """One version of one project as published on one index (one wheel)."""

    name: str
    version: str
    requires: tuple[str, ...]
    late: bool
    requires_python: str | None = None


@dataclass(frozen=True)
class Package:
    """One `[[package]]` entry: a project's versions on a set of indexes."""

    name: str
    indexes: tuple[str, ...] | None  # tags or index names; None = every index
    versions: dict[str, tuple[str, ...]]
    late: frozenset[str]
    requires_python: str | None = None

    def on(self, index: str, tags: tuple[str, ...]) -> bool:
        """Whether this entry is published on `index` (which carries `tags`)."""
        if self.indexes is None:
            return True
        return any(sel == index or sel in tags for sel in self.indexes)


@dataclass(frozen=True)
class Universe:
    """All indexes and packages of the local index."""

    indexes: dict[str, tuple[str, ...]]  # index name -> tags
    packages: tuple[Package, ...]

    def releases(self, index: str) -> list[Release]:
        """Every release on `index`, sorted by canonical name then version."""
        tags = self.indexes[index]
        out = [
            Release(pkg.name, version, requires, version in pkg.late, pkg.requires_python)
            for pkg in self.packages
            if pkg.on(index, tags)
            for version, requires in pkg.versions.items()
        ]
        out.sort(key=lambda r: (canonicalize_name(r.name), Version(r.version)))
        return out

    def late_versions(self, project: str) -> set[str]:
        """Versions of `project` published after the bundled locks were made."""
        key = canonicalize_name(project)
        return {v for p in self.packages if canonicalize_name(p.name) == key for v in p.late}


def load_universe(path: Path = UNIVERSE_PATH) -> Universe:
    """Parse and validate a universe file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    indexes = {name: tuple(tags) for name, tags in data["indexes"].items()}
    selectors = set(indexes) | {t for tags in indexes.values() for t in tags}
    packages = tuple(_package(raw, selectors) for raw in data.get("package", []))
    universe = Universe(indexes, packages)
    for index in indexes:
        seen: set[tuple[str, str]] = set()
        for rel in universe.releases(index):
            key = (canonicalize_name(rel.name), str(Version(rel.version)))
            if key in seen:
                raise UniverseError(f"{rel.name} {rel.version} appears twice on {index}")
            seen.add(key)
    return universe


def _package(raw: dict[str, Any], selectors: set[str]) -> Package:
    name = str(raw["name"])
    sel = raw.get("indexes")
    indexes = None if sel is None else tuple(str(s) for s in sel)
    unknown = set(indexes or ()) - selectors
    if unknown:
        raise UniverseError(f"{name}: unknown index tags {sorted(unknown)}")
    versions: dict[str, tuple[str, ...]] = {}
    for version, reqs in raw["versions"].items():
        Version(version)  # raises InvalidVersion on typos
        for req in reqs:
            Requirement(req)  # raises InvalidRequirement on typos
        versions[version] = tuple(reqs)
    late = frozenset(str(v) for v in raw.get("late", []))
    if not late <= set(versions):
        raise UniverseError(f"{name}: late versions {sorted(late - set(versions))} not listed")
    python = raw.get("requires-python")
    if python is not None:
        SpecifierSet(str(python))  # raises InvalidSpecifier on typos
    return Package(name, indexes, versions, late, None if python is None else str(python))
