"""What the index must have: lock pins present with their hashes, and Training
Hub's own requirements satisfiable together with the image's constraints.

Both reports talk to the image's index through one client per index, with
requests run concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import TypeVar

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from bumper.discover import LOCK, PYPROJECT, ImageDir, pinned
from bumper.errors import ExternalError, UsageError
from bumper.formats.requirements import Pin, canonical
from bumper.index import FileLink, IndexClient, sorted_versions
from bumper.urls import strip_userinfo, with_env_credentials

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 32  # requests in flight per command (index.POOL keeps as many connections open)


class _SkippedError(Exception):
    """A task not run because another one had failed."""


def concurrently(func: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``func`` over ``items`` on a bounded pool; results in order.

    The first error is raised as soon as it happens: tasks not yet started are
    skipped, and only those already in flight (each bounded by its timeouts) are awaited.
    """
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    stop = threading.Event()
    errors: list[BaseException] = []
    guard = threading.Lock()

    def task(item: T) -> R:
        if stop.is_set():
            raise _SkippedError
        try:
            return func(item)
        except BaseException as exc:
            with guard:
                errors.append(exc)
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        futures: list[Future[R]] = [pool.submit(task, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        if stop.is_set():
            pool.shutdown(wait=True, cancel_futures=True)
            raise errors[0]
        return [f.result() for f in futures]


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


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _missing_pin(index: str, folder: str, pin: Pin,
                 available: dict[str, list[FileLink]]) -> Missing | None:
    name, version, hashes = pin.name, pin.version, pin.hashes
    found = available.get(version)
    if found is None:
        found = next((links for v, links in available.items() if _same_version(v, version)),
                     None)
    if found is None:
        reason = "not on the index" if not available else "this version is not on the index"
        return Missing(index, name, version, reason, folder)
    listed = {f"{algo}:{digest}" for link in found for algo, digest in link.hashes.items()}
    if hashes and not listed & set(hashes):
        noun = "hash" if len(hashes) == 1 else "hashes"
        return Missing(index, name, version,
                       f"the index lists other files (none matches the lock's {noun})", folder)
    return None


def missing(images: list[ImageDir]) -> list[Missing]:
    """Every lock pin its folder's index lacks (version absent or no hash matching)."""
    jobs: list[tuple[IndexClient, str, Pin]] = []
    clients: dict[str, IndexClient] = {}
    try:
        for image in images:
            if image.lock is None:
                raise UsageError(f"{image.rel}/{LOCK}: missing (run: bumper lock {image.rel})")
            url = index_of(image)
            client = clients.get(url) or clients.setdefault(
                url, IndexClient(with_env_credentials(url)))
            jobs.extend((client, image.rel, pin) for pin in image.lock.pins)
        # One listing per project and index, all fetched concurrently, then checked.
        keys = list(dict.fromkeys((id(c), pin.key) for c, _, pin in jobs))
        by_id = {id(c): c for c in clients.values()}
        listings = concurrently(lambda key: by_id[key[0]].versions(key[1]), keys)
        pages = dict(zip(keys, listings, strict=True))
        out = []
        for client, folder, pin in jobs:
            problem = _missing_pin(client.index.public, folder, pin, pages[(id(client), pin.key)])
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
        where = f"{self.folder}/{PYPROJECT}"
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


def _requires(metadata: str, extras: set[str], python: str | None) -> list[Requirement]:
    """Requires-Dist lines that apply to the image: its extras, Linux, its Python."""
    env = {key: str(value) for key, value in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    if python:
        env.update(python_version=python, python_full_version=f"{python}.0")
    out = []
    for raw in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e})
                                     for e in sorted(extras) or [""]):
            out.append(req)
    return out


def _image_constraints(image: ImageDir) -> dict[str, tuple[SpecifierSet, str, int]]:
    """Canonical name -> (specifier, its text as written, line) of the image's dependencies."""
    out: dict[str, tuple[SpecifierSet, str, int]] = {}
    for dep in image.pyproject.dependencies if image.pyproject else []:
        try:
            req = Requirement(dep.text)
        except InvalidRequirement:
            continue
        written = dep.text.split(";", 1)[0].strip()
        out[canonical(req.name)] = (req.specifier, written, dep.line)
    return out


def _spec(req: Requirement) -> str:
    return f"{req.name}{req.specifier}" if req.specifier else f"{req.name} (any version)"


def align(image: ImageDir) -> tuple[str, list[Conflict]]:
    """Training Hub's requirements vs the image's constraints and the image's index."""
    hub = pinned(image, "training-hub")
    if hub is None:
        raise UsageError(f"{image.rel}/{PYPROJECT}: no training_hub==X.Y.Z pin to align with")
    version, extras_text, hub_line = hub
    extras = {e.strip() for e in extras_text.split(",") if e.strip()}
    url = index_of(image)
    python = image.stack.python if image.stack else None
    with IndexClient(with_env_credentials(url)) as client:
        links = next((files for v, files in client.versions("training-hub").items()
                      if _same_version(v, version)), None)
        if not links:
            return version, [Conflict(image.rel, hub_line, f"training-hub=={version}",
                                      f"training-hub {version} is not on {strip_userinfo(url)} "
                                      "(request it from the index owners)")]
        wheel = next((link for link in links if link.filename.endswith(".whl")), None)
        if wheel is None:
            raise ExternalError(f"{strip_userinfo(url)}: training-hub {version} has no wheel "
                                "to read its requirements from")
        requires = _requires(client.metadata(wheel), extras, python)
        pages = concurrently(lambda r: client.versions(r.name), requires)
    constraints = _image_constraints(image)
    conflicts = []
    for req, page in zip(requires, pages, strict=True):
        on_index = sorted_versions(list(page))
        mine, written, line = constraints.get(canonical(req.name), (SpecifierSet(), "", 0))
        line = line or hub_line
        prefix = f"training-hub {version} requires {_spec(req)}"
        if not on_index:
            conflicts.append(Conflict(image.rel, line, str(req),
                                      f"{prefix}, which the index does not have "
                                      "(request it from the index owners)"))
            continue
        both = req.specifier & mine
        if any(both.contains(v) for v in on_index):
            continue
        listed = ", ".join(on_index[:8]) + (", ..." if len(on_index) > 8 else "")
        if written and any(req.specifier.contains(v) for v in on_index):
            message = (f"{prefix}, the image allows {written}: no version on the index "
                       f"satisfies both (index has {listed})")
        else:
            message = (f"{prefix}, but the index has only {listed} "
                       "(request one from the index owners)")
        conflicts.append(Conflict(image.rel, line, str(req), message))
    return version, conflicts
