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
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bumper.errors import UsageError

MAP_ENV = "BUMPER_INDEX_MAP"
USERNAME_ENV = "BUMPER_INDEX_USERNAME"
PASSWORD_ENV = "BUMPER_INDEX_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
# Everything up to the last '@' of a URL: also a userinfo with an unescaped '/' or '@'.
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?:[^\s@'\"<>]*@)+", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def check_userinfo(url: str, where: str = "index URL") -> None:
    """Refuse a URL whose userinfo holds an unescaped '/', '?' or '#' (the password would
    be read as the host and path, and end up in files); the message shows no userinfo."""
    scheme = _SCHEME.match(url)
    rest = url[scheme.end():] if scheme else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in rest[len(authority):]:
        shown = (scheme.group(0) if scheme else "") + "***@" + rest.rpartition("@")[2]
        raise UsageError(f"{where} {shown}: the user name or password holds an unescaped "
                         "'/', '?', '#' or '@' (percent-encode it, or use "
                         f"{USERNAME_ENV}/{PASSWORD_ENV} or a netrc file)")


@dataclass(frozen=True)
class IndexUrl:
    """An index URL split into its public form and the credentials that go with it."""

    public: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> IndexUrl:
        check_userinfo(url)
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
        """Strings that must never be shown: passwords, and a token given as the user name
        (as given and percent-encoded)."""
        out: list[str] = []
        for source in (self, self._mapped()):
            if source.password:
                out += encodings(source.password)
            elif source.username:
                out += encodings(source.username)
        return out

    def request_url(self) -> str:
        """Where requests really go: the public URL after the prefix mapping, no userinfo."""
        return self._mapped().public


def strip_userinfo(url: str) -> str:
    return IndexUrl.parse(url).public


def encodings(secret: str) -> list[str]:
    """A secret and the forms a URL or a log may show it in (percent-encoded)."""
    return list(dict.fromkeys([secret, quote(secret, safe=""), quote(secret)]))


def prefix_map() -> list[tuple[str, str]]:
    raw = os.environ.get(MAP_ENV, "")
    pairs = []
    for item in raw.split(","):
        prefix, sep, target = item.strip().partition("=")
        if sep and prefix and target:
            check_userinfo(target, f"{MAP_ENV} target")
            pairs.append((prefix, target))
    return pairs


def known_secrets(args: list[str]) -> list[str]:
    """Every credential this run could know of: in URLs among ``args``, in the prefix map,
    in the environment, in the netrc file. For scrubbing what is about to be shown."""
    found = [_secret(os.environ.get(USERNAME_ENV) or "", os.environ.get(PASSWORD_ENV))]
    for url in [*args, *re.split(r"[,=]", os.environ.get(MAP_ENV, ""))]:
        match = _USERINFO.search(url)
        if match:
            user, sep, password = match.group(0)[len(match["scheme"]):-1].partition(":")
            found.append(_secret(user, password if sep else None))
    found += _netrc_secrets()
    out: list[str] = []
    for secret in found:
        # the pieces too: a URL parser that splits at an unescaped '/' shows only the first
        pieces = [p for p in re.split(r"[/?#@]", secret) if len(p) >= 3]
        for piece in {secret, unquote(secret), *pieces} - {""}:
            out += encodings(piece)
    return sorted(set(out), key=len, reverse=True)  # longest first: no half-scrubbed token


def _secret(user: str, password: str | None) -> str:
    """What to hide of a user and password: the password, or a token given as the user."""
    return password if password else user


def _netrc_secrets() -> list[str]:
    import netrc

    try:
        parsed = netrc.netrc(os.environ.get("NETRC") or None)
    except (OSError, netrc.NetrcParseError):
        return []
    return [password for _, _, password in parsed.hosts.values() if password]


def apply_map(url: str) -> str:
    for prefix, target in prefix_map():
        if url.startswith(prefix):
            return target + url[len(prefix):]
    return url


def unmap(text: str, secrets: list[str]) -> str:
    """``text`` with every URL under a mapping target turned back into its public prefix."""
    for prefix, target in prefix_map():
        text = text.replace(scrub(target, secrets), prefix)
    return text


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
