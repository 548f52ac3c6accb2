"""What the index must have: lock pins present with their hashes (`index missing`), and a
Training Hub that resolves together with the image (`align`).

Alignment is proved by the resolver: the folder's pyproject.toml (its [tool.uv] settings
too) with its training_hub pin, or a target's, resolved by uv against the folder's
indexes in a temporary folder. What uv says when it cannot is worded by `conflict`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from packaging.version import InvalidVersion, Version

from bumper import lock
from bumper.config import Config
from bumper.conflict import HUB, Conflict, Hub, explain
from bumper.discover import LOCK, PIN_RE, PYPROJECT, ImageDir
from bumper.errors import BumperError, FindingsError, UsageError
from bumper.floors import floors
from bumper.formats import pyproject as pyproject_facts
from bumper.formats.requirements import Pin, canonical
from bumper.formats.requirements import read as read_lock
from bumper.index import FileLink, IndexClient, sorted_versions
from bumper.plan import FolderPlan
from bumper.urls import IndexUrl, with_env_credentials
from bumper.uvproc import POLL

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 32  # requests in flight per command (index.POOL keeps as many connections open)


class _SkippedError(Exception):
    """A task not run because another one had failed."""


def concurrently(func: Callable[[T], R], items: Iterable[T],
                 on_interrupt: Callable[[], None] | None = None) -> list[R]:
    """``func`` over ``items`` on a bounded pool; results in order.

    The first error is raised as soon as it happens: tasks not yet started are
    skipped, and only those already in flight (each bounded by its timeouts) are awaited.
    On Ctrl-C, ``on_interrupt`` stops those in flight first (their uv processes).
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
        try:
            pending: set[Future[R]] = set(futures)
            while pending and not stop.is_set():  # short waits: see uvproc.POLL
                pending = wait(pending, timeout=POLL, return_when=FIRST_EXCEPTION)[1]
        except BaseException:
            stop.set()
            if on_interrupt is not None:
                on_interrupt()
            raise
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


def pin_indexes(image: ImageDir) -> dict[str, tuple[str, ...]]:
    """The index URLs each lock pin may come from: the named index ``[tool.uv.sources]``
    gives it, else the folder's index or one of its extra indexes."""
    from bumper import uvsettings

    main = index_of(image)
    settings = uvsettings.read(image.texts.get(PYPROJECT, ""))
    others = tuple(u for u in settings.extra_index_urls if u != main)
    out = {}
    for pin in image.lock.pins if image.lock else []:
        named = settings.index_of(pin.name)
        out[pin.key] = (named.url,) if named else (main, *others)
    return out


def _other_locks(image: ImageDir, listed: tuple[str, ...]) -> list[tuple[str, list[Pin]]]:
    """The folder's other locks: each one's own index (its first line) and its pins."""
    from bumper import fsutil, locks
    from bumper.formats.requirements import read as read_lock

    out = []
    for spec in locks.find(image.path, listed)[1:]:
        pins = read_lock(fsutil.read_text(image.path / spec.name)).pins
        out.append((spec.index_url or index_of(image), pins))
    return out


def missing(images: list[ImageDir], listed: tuple[str, ...] = ()) -> list[Missing]:
    """Every lock pin its own index lacks (version absent or no hash matching): the index
    its ``[tool.uv.sources]`` entry names, else the lock's (or an extra index); for every
    lock of the folder."""
    jobs: list[tuple[list[IndexClient], str, Pin]] = []
    clients: dict[str, IndexClient] = {}

    def client_of(url: str) -> IndexClient:
        return clients.get(url) or clients.setdefault(url, IndexClient(with_env_credentials(url)))

    try:
        for image in images:
            if image.lock is None:
                raise UsageError(f"{image.rel}/{LOCK}: missing (run: bumper lock {image.rel})")
            where = pin_indexes(image)
            for pin in image.lock.pins:
                jobs.append(([client_of(url) for url in where[pin.key]], image.rel, pin))
            for url, pins in _other_locks(image, listed):
                jobs.extend(([client_of(url)], image.rel, pin) for pin in pins)
        # One listing per project and index, all fetched concurrently, then checked.
        keys = list(dict.fromkeys((id(c), pin.key) for cs, _, pin in jobs for c in cs))
        by_id = {id(c): c for c in clients.values()}
        listings = concurrently(lambda key: by_id[key[0]].versions(key[1]), keys)
        pages = dict(zip(keys, listings, strict=True))
        out: list[Missing] = []
        for chosen, folder, pin in jobs:
            problems = [_missing_pin(c.index.public, folder, pin, pages[(id(c), pin.key)])
                        for c in chosen]
            first = problems[0]
            if first is not None and all(problem is not None for problem in problems):
                out.append(first)
        return out
    finally:
        for client in clients.values():
            client.close()


# --- align ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """A lock pin the resolution moves, adds or drops."""

    name: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.name} {self.new} (added)"
        if self.new is None:
            return f"{self.name} {self.old} (no longer needed)"
        return f"{self.name} {self.old} -> {self.new}"


@dataclass
class Report:
    """The alignment of one folder: resolved (with what changes) or why not."""

    folder: str
    training_hub: str = ""
    extras: str = ""
    python: str = ""
    indexes: list[str] = field(default_factory=list)
    resolved: bool = False
    found: list[Conflict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    floors: list[Conflict] = field(default_factory=list)  # advisory: lines to raise by hand
    requests: list[str] = field(default_factory=list)
    error: BumperError | None = None
    lock_changes: list[tuple[str, Change]] = field(default_factory=list)  # the other locks'

    @property
    def code(self) -> int:
        if self.error is not None:
            return self.error.exit_code
        return 0 if self.resolved else 1

    def label(self) -> str:
        return f"{HUB} {self.training_hub}" + (f" [{self.extras}]" if self.extras else "")

    def line(self) -> str:
        """The summary line (stderr) of a folder that resolved."""
        on = ", ".join(self.indexes)
        return (f"{self.folder}: {self.label()} aligns: resolved with the image on {on} "
                f"(Python {self.python}, linux)")


@dataclass(frozen=True)
class Subject:
    """What to resolve: a folder's pyproject and lock texts (its own, or a bump's)."""

    rel: str
    pyproject: str
    lock: str | None
    index_url: str | None
    python: str | None
    target: bool = False  # a bump's new Training Hub: say which floors it raises
    path: Path | None = None  # the folder on disk: its other locks are resolved too


def subject_of(image: ImageDir) -> Subject:
    return Subject(image.rel, image.texts.get(PYPROJECT, ""), image.texts.get(LOCK),
                   image.index_url(), image.stack.python if image.stack else None,
                   path=image.path)


def hub_pin(rel: str, facts: pyproject_facts.PyprojectFacts) -> tuple[str, str, int]:
    """(version, extras as written, line) of the exact training_hub pin."""
    for dep in facts.dependencies:
        match = PIN_RE.match(dep.text)
        if match and canonical(match["name"]) == HUB:
            extras = ",".join(e.strip() for e in (match["extras"] or "").split(",") if e.strip())
            return match["version"], extras, dep.line
    raise UsageError(f"{rel}/{PYPROJECT}: no training_hub==X.Y.Z pin to align with")


def check_all(subjects: list[Subject]) -> list[Report]:
    """Every subject's report, resolved concurrently (Ctrl-C stops every uv at once)."""
    lock.uv_bin()
    batch = lock.uv_batch()
    return concurrently(lambda subject: check(subject, batch), subjects, batch.cancel)


def check(subject: Subject, batch: lock.UvBatch | None = None) -> Report:
    """Resolve the subject with uv; a failure of this folder is kept in its report."""
    report = Report(subject.rel)
    try:
        _check(subject, report, batch)
    except BumperError as exc:
        message = exc.message if subject.rel in exc.message else f"{subject.rel}: {exc.message}"
        report.error = type(exc)(message)
    return report


def _check(subject: Subject, report: Report, batch: lock.UvBatch | None) -> None:
    try:
        facts = pyproject_facts.read(subject.pyproject)
    except pyproject_facts.TomlError as exc:
        raise UsageError(f"{subject.rel}/{PYPROJECT}:{exc.line}: {exc.message}") from exc
    report.training_hub, report.extras, line = hub_pin(subject.rel, facts)
    hub = Hub(subject.rel, report.training_hub, report.extras, line, facts, subject.pyproject)
    if subject.index_url is None:
        raise UsageError(f"{subject.rel}: no index URL in the folder (set [tool.uv] index-url)")
    if subject.python is None:
        raise UsageError(f"{subject.rel}: cannot tell the Python version (set requires-python "
                         f"in {PYPROJECT})")
    report.python = subject.python
    job = lock.with_indexes(lock.LockJob(folder=Path(), rel=subject.rel,
                                         index=with_env_credentials(subject.index_url),
                                         python=subject.python), subject.pyproject)
    indexes = (job.index, *job.others)
    report.indexes = [index.public for index in indexes]
    result = lock.resolve(job, subject.pyproject, subject.lock, batch)
    report.resolved = result.ok
    if result.ok:
        report.changes = changes(subject.lock or "", result.lock)
        if subject.target:
            report.floors = floors(hub, subject.python, indexes)
        _other_locks_resolve(subject, report, job, batch)
        return
    with _Offers(indexes) as offers:
        report.found, report.requests = explain(hub, result.message, offers.versions)


def _other_locks_resolve(subject: Subject, report: Report, job: lock.LockJob,
                         batch: lock.UvBatch | None) -> None:
    """Each other lock of the folder (bumper.locks), resolved by its own command line with the
    subject's pyproject settings: its changes, or why it does not resolve."""
    from dataclasses import replace

    from bumper import fsutil, locks

    if subject.path is None:
        return
    for spec in locks.find(subject.path)[1:]:
        index = with_env_credentials(spec.index_url) if spec.index_url else job.index
        other = lock.with_indexes(replace(job, folder=subject.path, lock_name=spec.name,
                                          index=index, inputs=spec.inputs, args=spec.args,
                                          header=spec.header), subject.pyproject)
        text = fsutil.read_text(subject.path / spec.name)
        result = lock.resolve(other, subject.pyproject, text, batch)
        if result.ok:
            report.lock_changes += [(spec.name, c) for c in changes(text, result.lock)]
            continue
        report.resolved = False
        lines = [ln.strip() for ln in result.message.splitlines() if ln.strip()]
        report.found.append(Conflict(subject.rel, 0, spec.name,
                                     f"{spec.name} does not resolve with {report.label()}",
                                     kind="unresolved", uv=tuple(lines[:8])))


def changes(old: str, new: str) -> list[Change]:
    """Pins that differ between two locks, by name."""
    before = {pin.key: pin for pin in read_lock(old).pins}
    after = {pin.key: pin for pin in read_lock(new).pins}
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None or b is None or not _same_version(a.version, b.version):
            out.append(Change((b or a).name,  # type: ignore[union-attr]
                              a.version if a else None, b.version if b else None))
    return out


class _Offers:
    """What each of the folder's indexes has of a project, newest first (asked once)."""

    def __init__(self, indexes: tuple[IndexUrl, ...]) -> None:
        # in uv's order: the extra indexes first, the main one (index-url) last
        self._clients = [IndexClient(index) for index in (*indexes[1:], indexes[0])]
        self._seen: dict[str, dict[str, list[str]]] = {}

    def versions(self, project: str) -> dict[str, list[str]]:
        if project not in self._seen:
            self._seen[project] = {client.index.public: sorted_versions(
                list(client.versions(project))) for client in self._clients}
        return self._seen[project]

    def __enter__(self) -> _Offers:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._clients:
            client.close()


# --- a Training Hub target (align --training-hub, major's plan) -----------------------


def target_subjects(config: Config, dirs: tuple[str, ...], target: str,
                    extras: str | None) -> list[Subject]:
    """The folders `bumper major --training-hub TARGET` would make, as it would make them."""
    from bumper.major import MajorRequest, plan_major

    plan = plan_major(config, MajorRequest(training_hub=target, sources=dirs, align=False))
    return [bump_subject(folder, folder.src_rel, extras) for folder in plan.folders]


def bump_subject(folder: FolderPlan, rel: str, extras: str | None = None) -> Subject:
    """A bump's folder as a subject: its new pyproject and lock texts (``extras`` instead
    of the pin's own, when given)."""
    texts = {**folder.old, **folder.new}
    text = texts.get(PYPROJECT, "")
    if extras is not None:
        text = _with_extras(rel, text, extras)
    python = folder.rewrite.new.python if folder.rewrite else None
    return Subject(rel, text, texts.get(LOCK), folder.index_url, python, target=True)


def _with_extras(rel: str, text: str, extras: str) -> str:
    facts = pyproject_facts.read(text)
    version, _, line = hub_pin(rel, facts)
    dep = next(d for d in facts.dependencies if d.line == line and PIN_RE.match(d.text))
    match = PIN_RE.match(dep.text)
    assert match is not None
    wanted = ",".join(sorted({e.strip() for e in extras.split(",") if e.strip()}))
    new = match["name"] + (f"[{wanted}]" if wanted else "") + f"=={version}"
    marker = dep.text.split(";", 1)[1].strip() if ";" in dep.text else ""
    new += f" ; {marker}" if marker else ""
    for quote in ('"', "'"):
        if f"{quote}{dep.text}{quote}" in text:
            return text.replace(f"{quote}{dep.text}{quote}", f"{quote}{new}{quote}", 1)
    raise UsageError(f"{rel}/{PYPROJECT}:{line}: cannot rewrite the training_hub pin's extras")


def refuse_unaligned(folders: list[FolderPlan], target: str) -> None:
    """Raise (exit 1) when a bump's folder does not resolve with the new Training Hub."""
    reports = check_all([bump_subject(f, f.dst_rel) for f in folders])
    for report in reports:
        if report.error is not None:
            raise report.error
    bad = [c for report in reports for c in report.found]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise FindingsError(f"{HUB} {target} does not resolve: {str(bad[0]).splitlines()[0]}"
                            f"{more}; see bumper align --training-hub {target}, or pass "
                            "--no-align to bump anyway")
