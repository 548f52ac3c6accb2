"""Simple-API client (PEP 503 HTML, PEP 691 JSON, PEP 658 metadata).

One connection pool per client, a timeout on every request, bounded retries
with backoff on 5xx and connection errors, and one-line errors that name the
URL without credentials. httpx is imported only when a client is made.
"""

from __future__ import annotations

import html.parser
import io
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from bumper.errors import ExternalError
from bumper.urls import TIMEOUT_ENV, IndexUrl, request_timeout, scrub, unmap

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, text/html;q=0.2"
RETRIES = 3  # more tries after a 5xx or a connection error
TIMEOUT_RETRIES = 1  # more tries after a timeout: a slow index usually stays slow
BACKOFF = 0.2  # seconds before the first retry, doubled for each next one
POOL = 32  # connections per client; requests run on up to align.WORKERS threads
DEADLINE_FACTOR = 3  # a whole request (headers and body) may take this many timeouts


class _DeadlineError(Exception):
    """A request that kept receiving bytes but did not finish in time."""


@dataclass
class FileLink:
    filename: str
    url: str
    hashes: dict[str, str] = field(default_factory=dict)
    metadata: bool = False

    @property
    def version(self) -> str | None:
        try:
            return str(parse_wheel_filename(self.filename)[1])
        except InvalidWheelFilename:
            stem = self.filename.removesuffix(".tar.gz").removesuffix(".zip")
            return stem.rsplit("-", 1)[-1] if "-" in stem else None


class NotFoundError(ExternalError):
    """HTTP 404: how an index says it lacks a project or a file."""


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def _media_type(response: Any) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


class IndexClient:
    """A client for one index; thread safe (httpx.Client is)."""

    def __init__(self, index: IndexUrl, *, timeout: float | None = None,
                 retries: int = RETRIES) -> None:
        import httpx  # only the commands that query an index load httpx

        self.index = index
        self.base = index.request_url()
        if not self.base.endswith("/"):
            self.base += "/"
        auth: Any = index.credentials()
        if auth is None:
            auth = _netrc_auth(httpx, urlsplit(self.base).hostname or "")
        self._httpx = httpx
        self._timeout = timeout or request_timeout()
        self._client = httpx.Client(auth=auth, timeout=self._timeout, follow_redirects=True,
                                    trust_env=True,
                                    limits=httpx.Limits(max_connections=POOL,
                                                        max_keepalive_connections=POOL))
        self._retries = retries
        self._root_lock = threading.Lock()
        self._root_ok = False
        self._probe_lock = threading.Lock()
        # Whether ?format=<JSON_TYPE> gets JSON from a server that ignores Accept:
        # None until learned, so an HTML-only index costs one extra request, not one per page.
        self._format_query: bool | None = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def public(self, url: str) -> str:
        """The URL as the user knows it: unmapped, without credentials."""
        if url.startswith(self.base):
            url = self.index.public.rstrip("/") + "/" + url[len(self.base):]
        elif self.index.request_url() != self.index.public:  # a file elsewhere on the mirror
            url = unmap(scrub(url, self.index.secrets), self.index.secrets)
        return scrub(url, self.index.secrets)

    def get(self, url: str, accept: str = ACCEPT) -> Any:
        """GET with bounded retries: RETRIES more tries on 5xx and connection errors,
        TIMEOUT_RETRIES more on a timeout; 401/403/404 and other 4xx fail at once."""
        httpx = self._httpx
        delay = BACKOFF
        attempt = timeouts = 0
        while True:
            attempt += 1
            try:
                response = self._fetch(url, accept)
            except _DeadlineError:
                error = f"not done within {self._timeout * DEADLINE_FACTOR:g} s (too slow)"
                timeouts, retry = timeouts + 1, False  # a trickling index stays so
            except httpx.TimeoutException as exc:
                timeouts += 1
                error = f"no answer within {self._timeout:g} s ({exc.__class__.__name__})"
                retry = timeouts <= TIMEOUT_RETRIES
            except httpx.TransportError as exc:
                error = f"connection failed ({exc.__class__.__name__})"
                retry = not isinstance(exc, httpx.UnsupportedProtocol)  # no URL to retry
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status in (401, 403):
                    raise ExternalError(f"{self.public(url)}: HTTP {status}: access denied "
                                        "(check the index credentials)")
                if status == 404:
                    raise NotFoundError(f"{self.public(url)}: HTTP 404: not found on the index")
                if status < 500:
                    raise ExternalError(f"{self.public(url)}: HTTP {status}")
                error = f"HTTP {status}"
                retry = True
            if not retry or attempt > self._retries:
                break
            time.sleep(delay)
            delay *= 2
        note = f"{attempt} attempts" if attempt > 1 else "1 attempt"
        if timeouts:
            note += f"; {TIMEOUT_ENV} sets the limit"
        raise ExternalError(f"{self.public(url)}: {error} ({note})")

    def _fetch(self, url: str, accept: str) -> Any:
        """One GET with an overall deadline: httpx's timeout restarts with every byte, so
        a server sending one byte a second would hold it forever. The request runs in a
        daemon thread that is left behind (its connection dies with the process)."""
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["response"] = self._client.get(url, headers={"Accept": accept})
            except BaseException as exc:  # handed to the caller
                box["error"] = exc

        thread = threading.Thread(target=work, name="bumper-request", daemon=True)
        thread.start()
        thread.join(self._timeout * DEADLINE_FACTOR)
        if thread.is_alive():
            raise _DeadlineError
        if "error" in box:
            raise box["error"]
        return box["response"]

    def check_index(self) -> None:
        """Raise when the index root itself is missing (a wrong index URL); asked once.

        A project page answering 404 is how an index says it lacks the project; the
        same answer for the root means the URL is wrong, and every pin would look missing.
        """
        with self._root_lock:
            if self._root_ok:
                return
            try:
                self.get(self.base)
            except NotFoundError:
                raise ExternalError(f"{self.public(self.base)}: HTTP 404: no such index "
                                    "(check the index URL)") from None
            self._root_ok = True

    def project_url(self, project: str) -> str:
        return urljoin(self.base, str(canonicalize_name(project)) + "/")

    def files(self, project: str) -> list[FileLink]:
        """Every file the index lists for ``project`` (JSON when offered, HTML otherwise)."""
        url = self.project_url(project)
        query = f"{url}?format={quote(JSON_TYPE, safe='/')}"
        response = self.get(query if self._format_query else url)
        if _media_type(response) != JSON_TYPE and self._format_query is not False:
            # Some servers ignore Accept and return JSON only for a query parameter:
            # learn which kind this one is, once (the other threads wait for the answer).
            with self._probe_lock:
                if self._format_query is None:
                    self._format_query = self._json_by_query(query)
            if self._format_query:
                response = self.get(query)
        final = str(response.url)
        try:
            if _media_type(response) == JSON_TYPE:
                return self._from_json(response.json(), final)
            return self._from_html(response.text, final)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ExternalError(f"{self.public(url)}: not a simple-API project page "
                                f"({exc.__class__.__name__})") from None

    def _json_by_query(self, query: str) -> bool:
        try:
            return _media_type(self.get(query)) == JSON_TYPE
        except ExternalError:
            return False

    def _from_json(self, data: dict[str, Any], base: str) -> list[FileLink]:
        out = []
        for item in data.get("files", []):
            meta = item.get("core-metadata", item.get("dist-info-metadata", False))
            out.append(FileLink(item["filename"], urljoin(base, item["url"]),
                                dict(item.get("hashes", {})), bool(meta)))
        return out

    def _from_html(self, text: str, base: str) -> list[FileLink]:
        parser = _Links()
        parser.feed(text)
        out = []
        for link in parser.links:
            url, _, fragment = urljoin(base, link.get("href") or "").partition("#")
            hashes = {}
            if "=" in fragment:
                algo, _, digest = fragment.partition("=")
                hashes[algo] = digest
            meta = link.get("data-core-metadata") or link.get("data-dist-info-metadata")
            filename = urlsplit(url).path.rsplit("/", 1)[-1]
            out.append(FileLink(filename, url, hashes, bool(meta) and meta != "false"))
        return out

    def versions(self, project: str) -> dict[str, list[FileLink]]:
        """Version -> files, for ``project``; an empty dict when the index lacks it."""
        try:
            links = self.files(project)
        except NotFoundError:
            self.check_index()
            return {}
        out: dict[str, list[FileLink]] = {}
        for link in links:
            if link.version:
                out.setdefault(link.version, []).append(link)
        return out

    def metadata(self, link: FileLink) -> str:
        """Core metadata of a wheel: PEP 658 file first, the wheel itself otherwise."""
        if link.metadata:
            try:
                return str(self.get(link.url + ".metadata", accept="*/*").text)
            except NotFoundError:
                pass
        data = self.get(link.url, accept="*/*").content
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as wheel:
                name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
                return wheel.read(name).decode("utf-8")
        except (zipfile.BadZipFile, StopIteration, UnicodeDecodeError) as exc:
            raise ExternalError(f"{self.public(link.url)}: no readable METADATA in the wheel "
                                f"({exc.__class__.__name__})") from None


def _netrc_auth(httpx: Any, host: str) -> Any:
    """Credentials for ``host`` from the user's netrc (NETRC or ~/.netrc), as uv reads it."""
    import netrc

    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError) as exc:
        raise ExternalError(f"{path}: cannot read the netrc file ({exc.__class__.__name__})"
                            ) from None
    if entry is None:
        return None
    login, _, password = entry
    return httpx.BasicAuth(login or "", password or "")


def sorted_versions(versions: list[str]) -> list[str]:
    """Newest first; strings that are no version last."""

    def key(v: str) -> tuple[int, Any]:
        try:
            return (1, Version(v))
        except InvalidVersion:
            return (0, v)

    return sorted(versions, key=key, reverse=True)
