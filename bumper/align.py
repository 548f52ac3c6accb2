"""What the index must have: lock pins present with their hashes, and Training
Hub's own requirements satisfiable together with the image's constraints.

Both reports talk to the image's index through one client per index, with
requests run concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from bumper.discover import LOCK, PYPROJECT, ImageDir, pinned
from bumper.errors import UsageError
from bumper.formats.requirements import canonical
from bumper.index import FileLink, IndexClient, sorted_versions
from bumper.urls import strip_userinfo, with_env_credentials

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 16


def concurrently(func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``func`` over ``items`` on a bounded pool; results in order; first error raised."""
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(func, items))


def index_of(image: ImageDir) -> str:
    url = image.index_url()
    if url is None:
        raise UsageError(f"{image.rel}: no index URL in the folder (set [tool.uv] index-url)")
    return url


# --- index missing -------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    index: str
    name: str
    version: str
    reason: str
    folder: str

    def request(self) -> str:
        return f"{self.name}=={self.version}"


def _missing_pin(index: str, folder: str, name: str, version: str, hashes: list[str],
                 available: dict[str, list[FileLink]]) -> Missing | None:
    from packaging.version import InvalidVersion, Version

    found = available.get(version)
    if found is None:
        try:
            wanted = Version(version)
            found = next((links for v, links in available.items() if Version(v) == wanted), None)
        except InvalidVersion:
            found = None
    if found is None:
        reason = "not on the index" if not available else "this version is not on the index"
        return Missing(index, name, version, reason, folder)
    listed = {f"{algo}:{digest}" for link in found for algo, digest in link.hashes.items()}
    if hashes and not listed & set(hashes):
        return Missing(index, name, version,
                       f"none of the lock's {len(hashes)} hashes is listed by the index", folder)
    return None


def missing(images: list[ImageDir]) -> list[Missing]:
    """Every lock pin its folder's index lacks (version absent or no hash matching)."""
    jobs: list[tuple[IndexClient, str, str, str, list[str]]] = []
    clients: dict[str, IndexClient] = {}
    try:
        for image in images:
            if image.lock is None:
                raise UsageError(f"{image.rel}/{LOCK}: missing (run: bumper lock {image.rel})")
            url = index_of(image)
            client = clients.get(url) or clients.setdefault(
                url, IndexClient(with_env_credentials(url)))
            jobs.extend((client, image.rel, p.name, p.version, p.hashes) for p in image.lock.pins)
        # One listing per project and index, fetched concurrently, then checked.
        keys = sorted({(c.index.public, canonical(n)) for c, _, n, _, _ in jobs})
        by_url = {c.index.public: c for c in clients.values()}
        pages = dict(zip(keys, concurrently(lambda k: by_url[k[0]].versions(k[1]), keys),
                         strict=True))
        out = []
        for client, folder, name, version, hashes in jobs:
            page = pages[(client.index.public, canonical(name))]
            problem = _missing_pin(client.index.public, folder, name, version, hashes, page)
            if problem is not None:
                out.append(problem)
        return out
    finally:
        for client in clients.values():
            client.close()


# --- align ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    folder: str
    line: int
    requirement: str
    message: str

    def __str__(self) -> str:
        where = f"{self.folder}/{PYPROJECT}:{self.line}" if self.line else f"{self.folder}/{PYPROJECT}"
        return f"{where}: {self.message}"


def _requires(metadata: str, extras: set[str]) -> list[str]:
    from email.parser import HeaderParser

    from packaging.requirements import Requirement

    out = []
    for raw in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        req = Requirement(raw)
        if req.marker is None:
            out.append(raw)
            continue
        envs = [{"extra": e} for e in sorted(extras)] or [{"extra": ""}]
        if any(req.marker.evaluate(env) for env in envs):
            out.append(raw)
    return out


def _image_constraints(image: ImageDir) -> dict[str, tuple[str, int]]:
    from packaging.requirements import Requirement

    out: dict[str, tuple[str, int]] = {}
    for dep in image.pyproject.dependencies if image.pyproject else []:
        try:
            req = Requirement(dep.text)
        except ValueError:
            continue
        out[canonical(req.name)] = (str(req.specifier), dep.line)
    return out


def align(image: ImageDir) -> tuple[str, list[Conflict]]:
    """Training Hub's requirements vs the image's constraints and the image's index."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    hub = pinned(image, "training-hub")
    if hub is None:
        raise UsageError(f"{image.rel}/{PYPROJECT}: no training_hub==X.Y.Z pin to align with")
    version, extras_text, hub_line = hub
    extras = {e.strip() for e in extras_text.split(",") if e.strip()}
    url = index_of(image)
    with IndexClient(with_env_credentials(url)) as client:
        links = client.versions("training-hub").get(version)
        if not links:
            return version, [Conflict(image.rel, hub_line, f"training-hub=={version}",
                                      f"training-hub {version} is not on {strip_userinfo(url)}")]
        wheel = next((link for link in links if link.filename.endswith(".whl")), links[0])
        requires = [Requirement(r) for r in _requires(client.metadata(wheel), extras)]
        pages = concurrently(lambda r: client.versions(r.name), requires)
    constraints = _image_constraints(image)
    conflicts = []
    for req, page in zip(requires, pages, strict=True):
        theirs = str(req.specifier) or "any version"
        on_index = sorted_versions(list(page))
        mine, line = constraints.get(canonical(req.name), ("", 0))
        line = line or hub_line
        if not on_index:
            conflicts.append(Conflict(image.rel, line, str(req),
                                      f"training-hub {version} requires {req.name} {theirs}, which "
                                      f"the index does not have (request it from the index owners)"))
            continue
        both = req.specifier & SpecifierSet(mine)
        if not any(both.contains(v, prereleases=False) for v in on_index):
            listed = ", ".join(on_index[:8])
            if mine and any(req.specifier.contains(v) for v in on_index):
                message = (f"training-hub {version} requires {req.name}{req.specifier}, the image "
                           f"allows {req.name}{mine}: no version on the index satisfies both "
                           f"(index has {listed})")
            else:
                message = (f"training-hub {version} requires {req.name} {theirs}, but the index "
                           f"has only {listed}")
            conflicts.append(Conflict(image.rel, line, str(req), message))
    return version, conflicts
