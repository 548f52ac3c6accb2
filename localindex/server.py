"""A local simple-API index (PEP 503/691/658) with switches for failure tests.

URLs mirror the real index (`/api/pypi/public-rhai/rhoai/<release>/<index>/simple/`)
so the example images can keep their public URLs and be pointed here through
a prefix map. Every switch is a plain attribute or method, safe to flip while
requests are in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import defaultdict
from pathlib import Path
from types import TracebackType
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from localindex import pages
from localindex.handler import HTTPServer
from localindex.wheels import FileEntry, ensure_built, load_manifest

PUBLIC_PREFIX = "https://packages.example.com/"
DEFAULT_RELEASE = "3.4-EA1"
_PATH = "api/pypi/public-rhai/rhoai/{release}/{index}/simple/"


class _Countdown:
    """How many more requests a fault hits; None = forever."""

    def __init__(self, times: int | None) -> None:
        self.left = times

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class IndexServer:
    """Serve built wheels on 127.0.0.1 (ephemeral port) until stopped."""

    PUBLIC_PREFIX = PUBLIC_PREFIX

    def __init__(
        self,
        wheels_dir: Path | None = None,
        *,
        port: int = 0,
        auth: tuple[str, str] | None = None,
        hide_late: bool = False,
    ) -> None:
        root = wheels_dir or ensure_built()
        self._root = root
        self._files: dict[str, dict[str, list[FileEntry]]] = {}
        for index, entries in load_manifest(root).items():
            by_project: dict[str, list[FileEntry]] = defaultdict(list)
            for entry in entries:
                by_project[entry.project].append(entry)
            self._files[index] = dict(by_project)
        self._port = port
        self._lock = threading.Lock()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.auth = auth
        self.hide_late = hide_late
        self.requests_log: list[tuple[str, str, str | None]] = []
        self._hidden: set[tuple[str, Version | None, str | None]] = set()
        self._tampered: set[tuple[str, Version, str | None]] = set()
        self._gate = threading.Event()
        self._waiting = 0
        self.reset_faults()

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> IndexServer:
        """Bind and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = HTTPServer(("127.0.0.1", self._port), owner=self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- URLs --------------------------------------------------------------------

    @property
    def indexes(self) -> list[str]:
        """Names of the served indexes."""
        return sorted(self._files)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def index_url(self, index: str, release: str = DEFAULT_RELEASE) -> str:
        """The local simple-API root of `index`."""
        return f"{self.base_url}/{self._path(index, release)}"

    def public_index_url(self, index: str, release: str = DEFAULT_RELEASE) -> str:
        """The public URL the example images keep; `prefix_map` sends it here."""
        return f"{PUBLIC_PREFIX}{self._path(index, release)}"

    @property
    def prefix_map(self) -> str:
        """`PUBLIC=LOCAL/`, the value of BUMPER_INDEX_MAP for this server."""
        return f"{PUBLIC_PREFIX}={self.base_url}/"

    def _path(self, index: str, release: str) -> str:
        self._check_index(index)
        return _PATH.format(release=release, index=index)

    def _check_index(self, index: str | None) -> None:
        if index is not None and index not in self._files:
            raise ValueError(f"unknown index {index!r}; known: {', '.join(self.indexes)}")

    # --- content switches ------------------------------------------------------

    def hide(self, project: str, version: str | None = None, index: str | None = None) -> None:
        """Make a project (or one version of it) absent, on one index or all."""
        self._check_index(index)
        key = (canonicalize_name(project), _norm(version), index)
        with self._lock:
            self._hidden.add(key)

    def tamper_hash(self, project: str, version: str, index: str | None = None) -> None:
        """Advertise a wrong sha256 for a file (the bytes served stay right)."""
        self._check_index(index)
        key = (canonicalize_name(project), Version(version), index)
        with self._lock:
            self._tampered.add(key)

    # --- faults ------------------------------------------------------------------

    def fail(self, status: int = 500, times: int | None = 1, path: str = "") -> None:
        """Answer the next `times` requests with `status` (None = forever); only those
        whose path ends with `path` when given (".metadata": the PEP 658 files)."""
        with self._lock:
            self._fail = (status, _Countdown(times), path)

    def drop(self, times: int | None = 1) -> None:
        """Close the next `times` connections without answering (None = forever)."""
        with self._lock:
            self._drop = _Countdown(times)

    def hold(self) -> None:
        """Keep every request waiting (latency without end) until `release()`: a client is
        then certainly mid-request, whatever the machine's speed."""
        self._gate.clear()

    def release(self) -> None:
        """Answer the requests `hold()` kept waiting, and the next ones at once."""
        self._gate.set()

    @property
    def held(self) -> int:
        """Requests waiting at the gate now."""
        with self._lock:
            return self._waiting
    def trickle(self, interval: float = 1.0, times: int | None = None) -> None:
        """Answer the next `times` requests one byte per `interval` seconds, status line
        and headers included (None = forever): a server that is alive but never done."""
        with self._lock:
            self._trickle = (float(interval), _Countdown(times))

    def not_found(self, project: str) -> None:
        """Answer 404 for a project's page and files (it stays in the root list)."""
        with self._lock:
            self._not_found.add(canonicalize_name(project))

    def reset_faults(self) -> None:
        """Clear delay, hold, fail, drop, trickle and not_found."""
        self._gate.set()
        with self._lock:
            self.delay = 0.0
            self._trickle: tuple[float, _Countdown] = (0.0, _Countdown(0))
            self._fail: tuple[int, _Countdown, str] | None = None
            self._drop = _Countdown(0)
            self._not_found: set[str] = set()

    # --- used by the handler ---------------------------------------------------

    def _record(self, method: str, path: str, user: str | None) -> None:
        with self._lock:
            self.requests_log.append((method, path, user))

    def _pass_gate(self) -> None:
        """Wait while held (bounded: a forgotten hold must not hang a test run)."""
        if self._gate.is_set():
            return
        with self._lock:
            self._waiting += 1
        try:
            self._gate.wait(timeout=120)
        finally:
            with self._lock:
                self._waiting -= 1

    def _take_fault(self, path: str = "") -> str | int | float | None:
        """'drop', a status code to fail with, a trickle interval (a float), or None."""
        with self._lock:
            if self._drop.take():
                return "drop"
            if self._trickle[1].take():
                return self._trickle[0]
            fail = self._fail
            if fail is not None and path.partition("?")[0].endswith(fail[2]) and fail[1].take():
                return fail[0]
        return None

    def _authorized(self, creds: tuple[str, str] | None) -> bool:
        auth = self.auth
        if auth is None:
            return True
        if creds is None:
            return False
        want = f"{auth[0]}:{auth[1]}".encode()
        return hmac.compare_digest(f"{creds[0]}:{creds[1]}".encode(), want)

    def _projects(self, index: str) -> list[str]:
        return [p for p in sorted(self._files[index]) if self._visible(index, p, listing=True)]

    def _visible(self, index: str, project: str, *, listing: bool = False) -> list[FileEntry]:
        """Files of `project` a client may see; not_found spares the root listing."""
        with self._lock:
            hidden, gone = set(self._hidden), project in self._not_found
        if gone and not listing:
            return []
        return [
            e
            for e in self._files[index].get(project, [])
            if not (self.hide_late and e.late) and not _hit(hidden, project, e.version, index)
        ]

    def _listed(self, index: str, entries: list[FileEntry]) -> list[pages.Listed]:
        with self._lock:
            tampered = set(self._tampered)
        out = []
        for e in entries:
            sha = e.sha256
            if _hit(tampered, e.project, e.version, index):
                sha = hashlib.sha256(f"tampered:{sha}".encode()).hexdigest()
            out.append(pages.Listed(e.filename, e.version, sha, e.metadata_sha256, e.size))
        return out

    def _file(self, index: str, filename: str) -> Path | None:
        wheel = filename.removesuffix(".metadata")
        project = str(canonicalize_name(wheel.split("-", 1)[0]))
        if any(e.filename == wheel for e in self._visible(index, project)):
            return self._root / index / filename
        return None


def _norm(version: str | None) -> Version | None:
    return None if version is None else Version(version)


def _hit(keys: set[Any], project: str, version: str, index: str) -> bool:
    """Whether a (project, version|None, index|None) key matches; "0.6" == "0.6.0"."""
    v = Version(version)
    return any(
        p == project and (kv is None or kv == v) and (ki is None or ki == index)
        for p, kv, ki in keys
    )
