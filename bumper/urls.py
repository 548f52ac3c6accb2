"""Index URLs: credentials kept out of every file and message, mirror prefix mapping.

A URL may carry ``user:token@``. bumper writes and prints only the URL without
that userinfo, and hands the credentials to uv through a private netrc file.

``BUMPER_INDEX_MAP="https://public.example/=http://127.0.0.1:8080/"`` (several
pairs separated by commas) sends every request for a URL under the first
prefix to the second: a mirror, a proxy, or the local test index. The mapped
URL is only ever used for requests, never written; userinfo in it is used as
the credentials when the URL has none of its own.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from bumper.errors import UsageError

MAP_ENV = "BUMPER_INDEX_MAP"
USERNAME_ENV = "BUMPER_INDEX_USERNAME"
PASSWORD_ENV = "BUMPER_INDEX_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


@dataclass(frozen=True)
class IndexUrl:
    """An index URL split into its public form and the credentials that go with it."""

    public: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> IndexUrl:
        try:
            parts = urlsplit(url)
            if parts.username is None and parts.password is None:
                return cls(url)
            port = parts.port
        except ValueError as exc:  # a bad [IPv6] host or port
            raise UsageError(f"{scrub(url, [])}: not a valid URL ({exc})") from None
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        if port:
            host = f"{host}:{port}"
        public = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        return cls(public, unquote(parts.username or ""), unquote(parts.password or ""))

    def _mapped(self) -> IndexUrl:
        return IndexUrl.parse(apply_map(self.public))

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) for requests: the URL's own, else those of the mapped URL."""
        for source in (self, self._mapped()):
            if source.username or source.password:
                return source.username or "", source.password or ""
        return None

    @property
    def secrets(self) -> list[str]:
        """Strings that must never be shown: passwords, and a token given as the user name."""
        out = []
        for source in (self, self._mapped()):
            if source.password:
                out.append(source.password)
            elif source.username:
                out.append(source.username)
        return out

    def request_url(self) -> str:
        """Where requests really go: the public URL after the prefix mapping, no userinfo."""
        return self._mapped().public


def strip_userinfo(url: str) -> str:
    return IndexUrl.parse(url).public


def prefix_map() -> list[tuple[str, str]]:
    raw = os.environ.get(MAP_ENV, "")
    pairs = []
    for item in raw.split(","):
        prefix, sep, target = item.strip().partition("=")
        if sep and prefix and target:
            pairs.append((prefix, target))
    return pairs


def apply_map(url: str) -> str:
    for prefix, target in prefix_map():
        if url.startswith(prefix):
            return target + url[len(prefix):]
    return url


def scrub(text: str, secrets: list[str]) -> str:
    """Remove secrets and any URL userinfo from text meant for a log or an error."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _USERINFO.sub(r"\g<scheme>", text)


def with_env_credentials(url: str) -> IndexUrl:
    """The URL's own credentials, else those of BUMPER_INDEX_USERNAME/PASSWORD, else none.

    Without either, uv and the index client still read the user's ~/.netrc.
    """
    parsed = IndexUrl.parse(url)
    if parsed.username is not None or parsed.password is not None:
        return parsed
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if user is None and password is None:
        return parsed
    return IndexUrl(parsed.public, user or "", password or "")


TIMEOUT = 10.0
TIMEOUT_ENV = "BUMPER_INDEX_TIMEOUT"


def request_timeout() -> float:
    """Seconds allowed per index request (BUMPER_INDEX_TIMEOUT; uv gets the same limit)."""
    try:
        seconds = float(os.environ.get(TIMEOUT_ENV, TIMEOUT))
    except ValueError:
        return TIMEOUT
    return max(0.1, seconds) if math.isfinite(seconds) else TIMEOUT
