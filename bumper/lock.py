"""The uv runner: `uv pip compile --generate-hashes` for one image folder.

Only this module runs uv. The lock keeps its hand-kept first line
``--index-url=<public URL>``; uv itself is told to write a header that says
how to regenerate the file (``bumper lock <dir>``) and never sees an index URL
it could copy into the file: the URL it gets is the mapped one without
userinfo, and credentials travel in a netrc that never touches a disk: an anonymous
memory file (memfd) handed to uv as an open descriptor, gone with the last process that
holds it, whatever signal ends them. uv dies with bumper (PR_SET_PDEATHSIG), SIGKILL too.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from bumper.discover import ImageDir
from bumper.errors import ExternalError, UsageError
from bumper.formats.requirements import without_includes
from bumper.fsutil import read_text
from bumper.urls import (
    PASSWORD_ENV,
    TIMEOUT_ENV,
    USERNAME_ENV,
    IndexUrl,
    request_timeout,
    scrub,
    unmap,
    with_env_credentials,
)
from bumper.uvproc import POLL, Batch, Netrc, communicate, kill

LOCK_NAME = "requirements.txt"
FIRST_LINE = re.compile(r"^--index-url(?P<sep>=|[ \t]+)\S+")
# Variables that would make uv use another index than the folder's.
FOREIGN_ENV = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
               "UV_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
LOCK_TIMEOUT_ENV = "BUMPER_LOCK_TIMEOUT"
# uv is mostly waiting on the index, not on a core: a few more jobs than cores pay off.
JOBS_PER_CORE = 4

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class LockJob:
    """Everything one lock needs; `folder` may be a staging copy of `rel`."""

    folder: Path
    rel: str
    index: IndexUrl
    python: str
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = field(default_factory=tuple)
    hashes: bool = True  # --generate-hashes: the lock keeps the form it has (see `hashed`)


def hashed(text: str) -> bool:
    """The form a lock keeps: hashed, unless it has pins and none of them carries a hash
    (a repo that dropped the hashes on purpose)."""
    from bumper.formats.requirements import read

    pins = read(text).pins
    return not pins or any(pin.hashes for pin in pins)


@functools.cache
def uv_bin() -> str:
    """Path of the uv binary that the `uv` wheel ships (resolved once, before any thread:
    sysconfig is not thread-safe on first use)."""
    import uv  # only locking needs it

    return str(uv.find_uv_bin())


def build_python() -> str | None:
    """The interpreter uv builds sdists with: bumper's own, unless UV_PYTHON says otherwise.

    The lock itself is resolved for ``--python-version`` whatever the interpreter;
    left to itself, every `uv pip compile` would search PATH for a Python of that
    version and query each candidate (about a second where pyenv shims stand in for
    missing versions).
    """
    return None if os.environ.get("UV_PYTHON") else sys.executable


def uv_env(netrc: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    for key in (*FOREIGN_ENV, USERNAME_ENV, PASSWORD_ENV):  # uv gets credentials by netrc only
        env.pop(key, None)
    if netrc is not None:
        env["NETRC"] = netrc
    if TIMEOUT_ENV in env or "UV_HTTP_TIMEOUT" not in env:
        env["UV_HTTP_TIMEOUT"] = str(max(1, round(request_timeout())))
    return env


def uv_time_limit() -> float:
    """Seconds one uv run may take (BUMPER_LOCK_TIMEOUT; by default 60 request timeouts):
    uv's own timeout restarts with every byte, so a trickling index would hold it."""
    try:
        seconds = float(os.environ.get(LOCK_TIMEOUT_ENV, ""))
    except ValueError:
        seconds = 60 * request_timeout()
    return max(1.0, seconds) if math.isfinite(seconds) else 60 * request_timeout()


def command(job: LockJob, output: Path) -> list[str]:
    cmd = [uv_bin(), "pip", "compile", "pyproject.toml",
           *(["--generate-hashes"] if job.hashes else []), "--python-platform=linux",
           f"--python-version={job.python}",
           f"--index-url={job.index.request_url()}", "-o", str(output),
           "--custom-compile-command", f"bumper lock {job.rel}",
           "--no-config", "--quiet"]
    python = build_python()
    if python:
        cmd.append(f"--python={python}")
    if job.upgrade:
        cmd.append("--upgrade")
    cmd.extend(f"--upgrade-package={name}" for name in job.upgrade_packages)
    return cmd


def index_line(public_url: str, previous: str | None) -> str:
    """First line of the lock, in the style the folder already uses: ``--index-url=URL``
    (the default) or ``--index-url URL``, with the blank line after it if there was one."""
    sep, blank = "=", ""
    if previous:
        match = FIRST_LINE.match(previous)
        if match:
            sep = "=" if match["sep"] == "=" else " "
            rest = previous.splitlines()[1:2]
            blank = "\n" if rest == [""] else ""
    return f"--index-url{sep}{public_url}\n{blank}"


def _body(text: str) -> str:
    """A lock without its leading index line (and the blank line that may follow it)."""
    lines = text.splitlines(keepends=True)
    if lines and FIRST_LINE.match(lines[0]):
        lines.pop(0)
        if lines and not lines[0].strip():
            lines.pop(0)
    return "".join(lines)


def compile_lock(job: LockJob, batch: Batch | None = None) -> str:
    """Run uv for `job` and return the new lock text (nothing is written to the folder)."""
    current = job.folder / LOCK_NAME
    previous = read_text(current) if current.exists() else None
    with tempfile.TemporaryDirectory(prefix="bumper-lock-") as tmp:
        output = Path(tmp) / LOCK_NAME
        if previous is not None:
            # uv prefers the pins of an existing output file: a relock only
            # moves what must move (unless --upgrade).
            # (-r/-c/-e lines dropped: relative to the temp file they name nothing)
            output.write_text(without_includes(_body(previous)), encoding="utf-8")
        netrc = Netrc(job.index, Path(tmp))
        try:
            _run(command(job, output), job, netrc, batch or Batch())
        finally:
            netrc.close()
        body = output.read_text(encoding="utf-8")
    return index_line(job.index.public, previous) + _body(body)


def _run(cmd: list[str], job: LockJob, netrc: Netrc, batch: Batch) -> None:
    proc, stderr = _spawn(cmd, job, netrc, batch)
    if proc.returncode != 0:
        if batch.cancelled:
            raise ExternalError(f"uv for {job.rel}: stopped (another lock failed)")
        if proc.returncode < 0:
            raise ExternalError(f"uv for {job.rel} was killed (signal {-proc.returncode})")
        raise ExternalError(f"uv could not lock {job.rel}: {_reason(stderr, job)}")


def _spawn(cmd: list[str], job: LockJob, netrc: Netrc,
           batch: Batch) -> tuple[subprocess.Popen[str], str]:
    """Run uv to its end (killed with its children on Ctrl-C, or past the time limit); the
    process and its stderr."""
    proc = batch.start(cmd, job.folder, uv_env(netrc.path), netrc.pass_fds)
    limit = uv_time_limit()
    try:
        stderr = communicate(proc, limit)
    except subprocess.TimeoutExpired:
        kill(proc)
        proc.communicate()
        raise ExternalError(f"uv for {job.rel}: no lock within {limit:g} s (the index answers "
                            f"too slowly; {LOCK_TIMEOUT_ENV} sets the limit)") from None
    except BaseException:
        kill(proc)
        proc.wait()
        raise
    finally:
        batch.done(proc)
    return proc, stderr


def _reason(stderr: str, job: LockJob) -> str:
    """Why uv failed; a wrong index URL is named as such, not as missing packages."""
    reason = summarize(stderr, job)
    if "not found in the package registry" in reason or "404" in reason:
        from bumper.index import IndexClient

        try:
            with IndexClient(job.index) as client:
                client.check_index()
        except ExternalError as exc:
            return exc.message
    return reason


def _public_text(text: str, index: IndexUrl) -> str:
    """uv's text with secrets scrubbed and mapped URLs turned back into the public ones."""
    text = scrub(text, index.secrets)
    return unmap(text, index.secrets) if index.request_url() != index.public else text


def summarize(stderr: str, job: LockJob) -> str:
    """uv's reason in one line, with no secret and no mapped URL in it."""
    lines = [ln.strip().lstrip("×│╰─▶ ").strip()
             for ln in _public_text(stderr, job.index).splitlines()]
    lines = [ln for ln in lines if ln]
    hints = [ln.removeprefix("hint:").strip() for ln in lines if ln.startswith("hint:")]
    denied = [h for h in hints if re.search(r"\b40[13]\b|authentication|credentials", h)]
    if denied:
        return denied[0]
    heads = [ln.removeprefix("error:").strip() for ln in lines if ln.startswith("error:")]
    causes = [re.sub(r" for url \([^)]*\)$", "", re.sub(r"^(cause|Caused by):\s*", "", ln))
              for ln in lines if re.match(r"^(cause|Caused by):", ln)]
    if not heads:
        heads = [ln for ln in lines if not ln.startswith(("hint:", "warning:"))]
    if not heads:
        return f"uv exited without a message (rerun: bumper -v lock {job.rel})"
    message = heads[0]
    if causes:
        message = f"{message.rstrip(':')}: {causes[0]}"
        if len(causes) > 1 and causes[-1] not in message:
            message += f" ({causes[-1]})"
    return " ".join(message.split())


def workers(jobs: int) -> int:
    """Locks run at once: bounded by the cores (uv waits on the index more than it computes)."""
    return max(1, min(jobs, (os.cpu_count() or 1) * JOBS_PER_CORE))


def run_jobs(jobs: list[LockJob], on_done: ProgressCallback | None = None) -> list[str]:
    """Lock several folders at once; results in job order.

    The first failure stops every other uv (running or not yet started) and is raised;
    so does Ctrl-C.
    """
    uv_bin()
    if not jobs:
        return []
    batch = Batch()
    if len(jobs) == 1:
        text = compile_lock(jobs[0], batch)
        if on_done is not None:
            on_done(1, 1)
        return [text]
    pool = ThreadPoolExecutor(max_workers=workers(len(jobs)), thread_name_prefix="bumper-lock")
    futures: list[Future[str]] = []
    try:
        futures = [pool.submit(compile_lock, job, batch) for job in jobs]
        pending: set[Future[str]] = set(futures)
        while pending:
            # in short waits: a signal the kernel gives another thread is acted on only when
            # the main thread runs Python code again
            done, pending = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # raises the first failure
            if on_done is not None:
                on_done(len(futures) - len(pending), len(futures))
        return [future.result() for future in futures]
    except BaseException:
        batch.cancel()
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- resolving without writing (bumper align) ------------------------------------------

# [tool.uv] keys that name indexes: bumper passes those itself (mapped, credentials by netrc)
INDEX_KEYS = ("index-url", "extra-index-url", "index", "default-index", "find-links")


@dataclass(frozen=True)
class Resolution:
    """What uv made of a pyproject: the lock body when it resolved, else uv's own words."""

    ok: bool
    lock: str
    message: str


def folder_uv_settings(pyproject_text: str) -> tuple[list[str], str]:
    """A folder's extra indexes ([tool.uv] extra-index-url, [[tool.uv.index]] urls) and its
    other [tool.uv] settings (constraints, overrides, index-strategy...) as a uv.toml text."""
    import tomllib

    import tomlkit

    tool = tomllib.loads(pyproject_text).get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    if not isinstance(uv, dict):
        return [], ""
    extra = uv.get("extra-index-url")
    urls = [extra] if isinstance(extra, str) else [u for u in extra or [] if isinstance(u, str)]
    named = uv.get("index")
    for entry in named if isinstance(named, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            urls.append(entry["url"])
    settings = {key: value for key, value in uv.items() if key not in INDEX_KEYS}
    return list(dict.fromkeys(urls)), tomlkit.dumps(settings)


UvBatch = Batch  # the uv processes of several resolutions, so that Ctrl-C stops them all


def uv_batch() -> UvBatch:
    return Batch()


def resolve(job: LockJob, pyproject_text: str, lock_text: str | None,
            extra_indexes: tuple[IndexUrl, ...] = (), batch: UvBatch | None = None) -> Resolution:
    """Resolve ``pyproject_text`` as `bumper lock` would (preferring ``lock_text``'s pins), in
    a temporary folder: nothing in the tree is read or written. A resolver conflict is a
    result; any other failure of uv (an index down, a wrong URL) is raised."""
    with tempfile.TemporaryDirectory(prefix="bumper-resolve-") as tmp:
        where = Path(tmp)
        (where / "pyproject.toml").write_text(pyproject_text, encoding="utf-8")
        config = where / "uv.toml"
        config.write_text(folder_uv_settings(pyproject_text)[1], encoding="utf-8")
        output = where / LOCK_NAME
        if lock_text:
            output.write_text(_body(lock_text), encoding="utf-8")
        run = LockJob(folder=where, rel=job.rel, index=job.index, python=job.python)
        cmd = [*command(run, output), f"--config-file={config}",
               *(f"--extra-index-url={index.request_url()}" for index in extra_indexes)]
        netrc = Netrc((job.index, *extra_indexes), where)
        try:
            proc, stderr = _spawn(cmd, run, netrc, batch or Batch())
        finally:
            netrc.close()
        if proc.returncode < 0:
            raise ExternalError(f"uv for {job.rel} was killed (signal {-proc.returncode})")
        if proc.returncode != 0:
            if not _no_solution(stderr, job):
                raise ExternalError(f"uv could not resolve {job.rel}: {_reason(stderr, job)}")
            text = stderr
            for index in (job.index, *extra_indexes):
                text = _public_text(text, index)
            return Resolution(False, "", text)
        return Resolution(True, _body(output.read_text(encoding="utf-8")), "")


def _no_solution(stderr: str, job: LockJob) -> bool:
    """uv failed because the requirements conflict, not because an index could not be read
    (credentials refused, or a wrong URL: every project then "not found")."""
    if "No solution found" not in stderr or summarize(stderr, job) != _reason(stderr, job):
        return False
    hints = [ln for ln in stderr.splitlines() if ln.strip().lstrip("×│╰─▶ ").startswith("hint:")]
    return not any(re.search(r"\b40[13]\b|authentication|credentials", h) for h in hints)


def comparable(text: str) -> list[str]:
    """A lock without its comment lines: what `lock --check` compares."""
    return [ln.rstrip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def job_for(image: ImageDir, *, folder: Path | None = None, index_url: str | None = None,
            upgrade: bool = False, upgrade_packages: tuple[str, ...] = ()) -> LockJob:
    """The lock job of an image folder (optionally of its staging copy, or a new index)."""
    url = index_url or image.index_url()
    if url is None:
        raise UsageError(f"{image.rel}: no index URL in pyproject.toml ([tool.uv] index-url), "
                         "Dockerfile or lock (set one, or pass --index-url)")
    if image.stack is None:
        raise UsageError(f"{image.rel}: cannot tell the Python version (set requires-python in "
                         "pyproject.toml; bumper check lists what is missing)")
    return LockJob(folder=folder or image.path, rel=image.rel, index=with_env_credentials(url),
                   python=image.stack.python, upgrade=upgrade, upgrade_packages=upgrade_packages,
                   hashes=hashed(image.texts.get(LOCK_NAME, "")))
