"""HTTP plumbing of the local index: routing, faults, auth and responses.

The state (what is visible, which faults are armed) lives on `IndexServer`;
this module only turns it into HTTP, quietly (no access log on stderr).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

from localindex import pages

if TYPE_CHECKING:
    from localindex.server import IndexServer

_CACHE_PAGE = "max-age=0, must-revalidate"  # switches change pages while running
_CACHE_FILE = "max-age=31536000, immutable"


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from a Basic Authorization header, else None."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


class HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so `stop()` can end idle keep-alive threads."""

    daemon_threads = True
    request_queue_size = 128  # uv opens many connections at once; 5 drops SYNs

    def __init__(self, addr: tuple[str, int], owner: IndexServer) -> None:
        self.owner = owner
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.stopping = threading.Event()  # set by close_connections: trickles end
        super().__init__(addr, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake threads blocked on idle connections so they exit."""
        self.stopping.set()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients hanging up is part of the fault tests."""


class _Trickle:
    """A writer that sends one byte per interval, until the client or the server gives up."""

    def __init__(self, inner: Any, interval: float, server: HTTPServer) -> None:
        self._inner, self._interval, self._server = inner, interval, server

    def write(self, data: bytes) -> int:
        for i in range(len(data)):
            if self._server.stopping.wait(self._interval):
                raise BrokenPipeError("server stopping")
            self._inner.write(data[i:i + 1])
        return len(data)

    def flush(self) -> None:
        self._inner.flush()


class Handler(BaseHTTPRequestHandler):
    """One request: log, faults, auth, then route to a page or a file."""

    # Headers and body go out in two sends: without this, each response waits for
    # the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    protocol_version = "HTTP/1.1"  # keep-alive, as real indexes do
    server_version = "localindex/1"
    timeout = 60
    server: HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default."""

    def do_GET(self) -> None:
        self._respond()

    def do_HEAD(self) -> None:
        self._respond()

    def _respond(self) -> None:
        owner = self.server.owner
        header = self.headers.get("Authorization")
        creds = basic_credentials(header)
        owner._record(self.command, self.path, creds[0] if creds else None)
        if owner.delay > 0:
            time.sleep(owner.delay)
        owner._pass_gate()
        fault = owner._take_fault(self.path)
        if fault == "drop":
            self.close_connection = True
            return
        if isinstance(fault, float):
            self.wfile = _Trickle(self.wfile, fault, self.server)  # type: ignore[assignment]
        elif isinstance(fault, int):
            self._send(fault, b"localindex: injected failure\n", headers=_challenge(fault))
            return
        if not owner._authorized(creds):
            self._send(401, b"authentication required\n", headers=_challenge(401))
            return
        self._route()

    def _route(self) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        segs = [unquote(s) for s in url.path.split("/")]
        fmt = _query_format(url.query)
        known = owner._files

        def at(i: int) -> str | None:
            return segs[i] if len(segs) >= -i else None

        if at(-2) == "files" and at(-3) in known:
            return self._file(segs[-3], segs[-1])
        if at(-1) == "simple" and at(-2) in known:
            return self._redirect(f"{url.path}/", url.query)
        if at(-1) == "" and at(-2) == "simple" and at(-3) in known:
            return self._page(fmt, segs[-3], None)
        if at(-2) == "simple" and at(-3) in known:  # project without trailing slash
            return self._redirect(f"{url.path.rsplit('/', 1)[0]}/{_canon(segs[-1])}/", url.query)
        if at(-1) == "" and at(-3) == "simple" and at(-4) in known:
            if segs[-2] != _canon(segs[-2]):
                base = url.path.rstrip("/").rsplit("/", 1)[0]
                return self._redirect(f"{base}/{_canon(segs[-2])}/", url.query)
            return self._page(fmt, segs[-4], segs[-2])
        return self._send(404, b"not found\n")

    def _page(self, fmt: str | None, index: str, project: str | None) -> None:
        owner = self.server.owner
        ctype = pages.negotiate(self.headers.get("Accept"), fmt)
        if ctype is None:
            return self._send(406, b"not acceptable\n")
        if project is None:
            body = pages.root_page(ctype, owner._projects(index))
        else:
            entries = owner._visible(index, project)
            if not entries:
                return self._send(404, b"no such project\n")
            body = pages.project_page(ctype, project, owner._listed(index, entries))
        sent = "text/html; charset=utf-8" if ctype == pages.TEXT_HTML else ctype
        return self._send(200, body, sent, {"Vary": "Accept", "Cache-Control": _CACHE_PAGE})

    def _file(self, index: str, filename: str) -> None:
        path = self.server.owner._file(index, filename)
        if path is None or not path.is_file():
            return self._send(404, b"no such file\n")
        ctype = (
            "text/plain; charset=utf-8"
            if filename.endswith(".metadata")
            else "application/octet-stream"
        )
        return self._send(200, path.read_bytes(), ctype, {"Cache-Control": _CACHE_FILE})

    def _redirect(self, path: str, query: str) -> None:
        location = quote(path) + (f"?{query}" if query else "")
        return self._send(301, b"", headers={"Location": location})

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        if status < 200 or status in (204, 304):
            body = b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _query_format(query: str) -> str | None:
    """`?format=` value; a literal '+' stays '+' (clients rarely encode it)."""
    found = None
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if unquote(key) == "format":
            found = unquote(value)
    return found


def _canon(name: str) -> str:
    return str(canonicalize_name(name))


def _challenge(status: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="localindex"'} if status == 401 else {}
