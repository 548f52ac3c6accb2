"""Simple-API pages (PEP 503 HTML, PEP 691 JSON) and content negotiation.

Kept apart from the HTTP plumbing so the page shapes can be read (and
checked against the PEPs) in one place.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import quote

from packaging.version import Version

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_TYPE,
    "application/vnd.pypi.simple.latest+html": HTML_TYPE,
}
# On equal preference a plain HTML page is the safest answer (pip, browsers, curl).
_OFFERS = (TEXT_HTML, HTML_TYPE, JSON_TYPE)


@dataclass(frozen=True)
class Listed:
    """One file as a listing advertises it (the hash may be tampered)."""

    filename: str
    version: str
    sha256: str
    metadata_sha256: str
    size: int

    @property
    def url(self) -> str:
        """Relative to the project page `.../<index>/simple/<project>/`."""
        return f"../../files/{quote(self.filename)}"


def negotiate(accept: str | None, query_format: str | None = None) -> str | None:
    """Pick the response type; None means 406 Not Acceptable.

    `?format=` wins over Accept because some clients cannot set headers.
    Among Accept ranges the most specific match gives an offer its q-value;
    ties go to the earlier-listed range, then to plain HTML.
    """
    if query_format:
        fmt = _ALIASES.get(query_format.strip(), query_format.strip())
        if fmt in _OFFERS:
            return fmt
    if not accept or not accept.strip():
        return TEXT_HTML
    ranges = [r for r in (_parse_range(part) for part in accept.split(",")) if r]
    best: tuple[float, int, int, int] | None = None
    choice = None
    for pref, offer in enumerate(reversed(_OFFERS)):
        match = _match(offer, ranges)
        if match is None or match[0] <= 0:
            continue
        key = (*match, pref)
        if best is None or key > best:
            best, choice = key, offer
    return choice


def _parse_range(part: str) -> tuple[str, float] | None:
    mtype, *params = (p.strip() for p in part.split(";"))
    if "/" not in mtype:
        return None
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    mtype = mtype.lower()
    return _ALIASES.get(mtype, mtype), q


def _match(offer: str, ranges: list[tuple[str, float]]) -> tuple[float, int, int] | None:
    """(q, specificity, -position) of the most specific range matching offer."""
    found = None
    for pos, (mtype, q) in enumerate(ranges):
        if mtype == offer:
            spec = 2
        elif mtype == f"{offer.split('/', maxsplit=1)[0]}/*":
            spec = 1
        elif mtype == "*/*":
            spec = 0
        else:
            continue
        if found is None or spec > found[1]:
            found = (q, spec, -pos)
    return found


def root_page(ctype: str, projects: list[str]) -> bytes:
    """The index root: every visible project."""
    if ctype == JSON_TYPE:
        doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
        return json.dumps(doc).encode()
    links = "".join(f'<a href="{quote(p)}/">{html.escape(p)}</a><br/>\n' for p in projects)
    return _html("Simple index", links)


def project_page(ctype: str, project: str, files: list[Listed]) -> bytes:
    """One project's files with their sha256 and PEP 658 metadata hashes."""
    if ctype == JSON_TYPE:
        versions = sorted({f.version for f in files}, key=Version)
        doc = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": versions,
            "files": [
                {
                    "filename": f.filename,
                    "url": f.url,
                    "hashes": {"sha256": f.sha256},
                    "requires-python": None,
                    "core-metadata": {"sha256": f.metadata_sha256},
                    "dist-info-metadata": {"sha256": f.metadata_sha256},
                    "yanked": False,
                    "size": f.size,
                }
                for f in files
            ],
        }
        return json.dumps(doc).encode()
    links = "".join(
        f'<a href="{html.escape(f.url)}#sha256={f.sha256}"'
        f' data-dist-info-metadata="sha256={f.metadata_sha256}"'
        f' data-core-metadata="sha256={f.metadata_sha256}">{html.escape(f.filename)}</a><br/>\n'
        for f in files
    )
    return _html(f"Links for {project}", f"<h1>Links for {html.escape(project)}</h1>\n{links}")


def _html(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '<meta name="pypi:repository-version" content="1.1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{body}</body>\n</html>\n"
    ).encode()
