"""Simple-API client (PEP 503 HTML, PEP 691 JSON, PEP 658 metadata).

One connection pool per client, a timeout on every request, bounded retries
with backoff on 5xx and connection errors, and one-line errors that name the
URL without credentials.
"""

from __future__ import annotations

import html.parser
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from bumper.errors import ExternalError
from bumper.urls import IndexUrl, scrub

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, text/html;q=0.2"
TIMEOUT = 10.0
RETRIES = 3
TIMEOUT_ENV = "BUMPER_INDEX_TIMEOUT"


def request_timeout() -> float:
    """Seconds allowed per request (BUMPER_INDEX_TIMEOUT; uv gets the same limit)."""
    import os

    try:
        return max(0.1, float(os.environ.get(TIMEOUT_ENV, TIMEOUT)))
    except ValueError:
        return TIMEOUT


@dataclass
class FileLink:
    filename: str
    url: str
    hashes: dict[str, str] = field(default_factory=dict)
    metadata: bool = False

    @property
    def version(self) -> str | None:
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            return str(parse_wheel_filename(self.filename)[1])
        except InvalidWheelFilename:
            stem = self.filename.removesuffix(".tar.gz").removesuffix(".zip")
            return stem.rsplit("-", 1)[-1] if "-" in stem else None


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []
        self._current: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current = {**dict(attrs), "_text": ""}
            self.links.append(self._current)

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current["_text"] = (self._current["_text"] or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._current = None


class IndexClient:
    """A client for one index; thread safe (httpx.Client is)."""

    def __init__(self, index: IndexUrl, *, timeout: float | None = None,
                 retries: int = RETRIES) -> None:
        import httpx

        self.index = index
        self.base = index.request_url()
        auth: Any = None
        if index.username or index.password:
            auth = (index.username or "", index.password or "")
        else:
            auth = _netrc_auth(httpx)
        self._httpx = httpx
        self._client = httpx.Client(auth=auth, timeout=timeout or request_timeout(),
                                    follow_redirects=True,
                                    trust_env=True,
                                    limits=httpx.Limits(max_connections=16,
                                                        max_keepalive_connections=16))
        self._retries = retries

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _public(self, url: str) -> str:
        """The URL as the user knows it: unmapped, without credentials."""
        if url.startswith(self.base):
            url = self.index.public + url[len(self.base):]
        return scrub(url, self.index.secrets)

    def get(self, url: str, accept: str = ACCEPT) -> Any:
        httpx = self._httpx
        delay = 0.2
        for attempt in range(self._retries + 1):
            try:
                response = self._client.get(url, headers={"Accept": accept})
            except httpx.TimeoutException as exc:
                error = f"timed out ({exc.__class__.__name__})"
            except httpx.TransportError as exc:
                error = f"connection failed ({exc.__class__.__name__})"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code in (401, 403):
                    raise ExternalError(f"{self._public(url)}: HTTP {response.status_code}: access "
                                        "denied (check the index credentials)")
                if response.status_code == 404:
                    raise NotFound(f"{self._public(url)}: HTTP 404: not found on the index")
                if response.status_code < 500:
                    raise ExternalError(f"{self._public(url)}: HTTP {response.status_code}")
                error = f"HTTP {response.status_code}"
            if attempt < self._retries:
                time.sleep(delay)
                delay *= 2
        raise ExternalError(f"{self._public(url)}: {error} after {self._retries + 1} attempts")

    def project_url(self, project: str) -> str:
        from bumper.formats.requirements import canonical

        return urljoin(self.base if self.base.endswith("/") else self.base + "/",
                       canonical(project) + "/")

    def files(self, project: str) -> list[FileLink]:
        """Every file the index lists for ``project`` (JSON when offered, HTML otherwise)."""
        url = self.project_url(project)
        response = self.get(url)
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind != JSON_TYPE and "format=" not in url:
            # Some servers ignore Accept and want a query parameter for JSON.
            try:
                alt = self.get(f"{url}?format={JSON_TYPE}")
                if alt.headers.get("content-type", "").split(";")[0].strip() == JSON_TYPE:
                    response, kind = alt, JSON_TYPE
            except ExternalError:
                pass
        if kind == JSON_TYPE:
            return self._from_json(response.json(), str(response.url))
        return self._from_html(response.text, str(response.url))

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
            href = link.get("href") or ""
            url, _, fragment = urljoin(base, href).partition("#")
            hashes = {}
            if "=" in fragment:
                algo, _, digest = fragment.partition("=")
                hashes[algo] = digest
            meta = link.get("data-core-metadata") or link.get("data-dist-info-metadata")
            filename = urlsplit(url).path.rsplit("/", 1)[-1]
            out.append(FileLink(filename, url, hashes, bool(meta)))
        return out

    def versions(self, project: str) -> dict[str, list[FileLink]]:
        """Version -> files, for ``project``; an empty dict when the index lacks it."""
        try:
            links = self.files(project)
        except NotFound:
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
            except NotFound:
                pass
        import io
        import zipfile

        data = self.get(link.url, accept="*/*").content
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            return wheel.read(name).decode("utf-8")


class NotFound(ExternalError):
    pass


def _netrc_auth(httpx: Any) -> Any:
    """The user's netrc (NETRC or ~/.netrc), as uv would read it; None without one."""
    import os
    from pathlib import Path

    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    return httpx.NetRCAuth(str(path)) if path.is_file() else None


def sorted_versions(versions: list[str]) -> list[str]:
    from packaging.version import InvalidVersion, Version

    def key(v: str) -> tuple[int, Any]:
        try:
            return (1, Version(v))
        except InvalidVersion:
            return (0, v)

    return sorted(versions, key=key, reverse=True)


def dumps(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
