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
from dataclasses import dataclass, field, replace
from pathlib import Path

from bumper import uvsettings
from bumper.discover import ImageDir
from bumper.errors import ExternalError, UsageError
from bumper.formats.requirements import without_includes
from bumper.fsutil import read_text
from bumper.lockform import body, hashed, index_lines
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
    lock_name: str = LOCK_NAME  # the lock file (a folder may have several: bumper.locks)
    inputs: tuple[str, ...] = ("pyproject.toml",)
    args: tuple[str, ...] = ()  # the flags of the lock's own header (--extra ...)
    header: str | None = None  # the command its header keeps (None: bumper lock DIR)
    extra: tuple[IndexUrl, ...] = ()  # [tool.uv] extra-index-url: passed to uv
    named: tuple[IndexUrl, ...] = ()  # [[tool.uv.index]]: in uv's copy of the pyproject

    @property
    def others(self) -> tuple[IndexUrl, ...]:
        return (*self.extra, *self.named)


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


def command(job: LockJob, output: Path, config: tuple[str, ...] = ("--no-config",)) -> list[str]:
    """uv's command line; ``config``: the arguments that say which configuration uv reads
    (`uvsettings.write_inputs`: the folder's own, and nothing else)."""
    cmd = [uv_bin(), "pip", "compile", *job.inputs, *job.args,
           *(["--generate-hashes"] if job.hashes else []), "--python-platform=linux",
           f"--python-version={job.python}",
           f"--index-url={job.index.request_url()}", "-o", str(output),
           "--custom-compile-command", job.header or f"bumper lock {job.rel}", "--quiet",
           *config]
    python = build_python()
    if python:
        cmd.append(f"--python={python}")
    if job.upgrade:
        cmd.append("--upgrade")
    cmd.extend(f"--upgrade-package={name}" for name in job.upgrade_packages)
    return cmd


def compile_lock(job: LockJob, batch: Batch | None = None) -> str:
    """Run uv for `job` and return the new lock text (nothing is written to the folder)."""
    current = job.folder / job.lock_name
    previous = read_text(current) if current.exists() else None
    pyproject = read_text(job.folder / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="bumper-lock-") as tmp:
        # uv prefers the pins of an existing output file: a relock only moves what must
        # move (unless --upgrade). (-r/-c/-e lines dropped: they would name nothing there)
        proc, stderr, text = _uv(job, Path(tmp), pyproject,
                                 without_includes(body(previous)) if previous else None,
                                 batch or Batch())
        if proc.returncode != 0:
            if batch is not None and batch.cancelled:
                raise ExternalError(f"uv for {job.rel}: stopped (another lock failed)")
            if proc.returncode < 0:
                raise ExternalError(f"uv for {job.rel} was killed (signal {-proc.returncode})")
            raise ExternalError(f"uv could not lock {job.rel}: {_reason(stderr, job)}")
    extras = [index.public for index in job.others]
    return index_lines(job.index.public, extras, previous) + body(text)


def _uv(job: LockJob, where: Path, pyproject: str, previous: str | None,
        batch: Batch) -> tuple[subprocess.Popen[str], str, str]:
    """Run uv on ``pyproject`` in the private folder ``where`` with the folder's own settings
    (`uvsettings`): the process, its stderr and the lock body it wrote."""
    indexes = (job.index, *job.others)
    config = tuple(uvsettings.write_inputs(where, pyproject, indexes))
    for name in job.inputs:  # the lock's other inputs (requirements-ga.in)
        if name != "pyproject.toml" and "/" not in name:
            (where / name).write_text(read_text(job.folder / name), encoding="utf-8")
    output = where / job.lock_name
    if previous:
        output.write_text(previous, encoding="utf-8")
    run = replace(job, folder=where)
    cmd = [*command(run, output, config),
           *(f"--extra-index-url={index.request_url()}" for index in job.extra)]
    netrc = Netrc(indexes, where)
    try:
        proc, stderr = _spawn(cmd, run, netrc, batch)
    finally:
        netrc.close()
    text = output.read_text(encoding="utf-8") if proc.returncode == 0 else ""
    return proc, stderr, text


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
    for index in (job.index, *job.others):
        stderr = _public_text(stderr, index)
    lines = [ln.strip().lstrip("×│╰─▶ ").strip() for ln in stderr.splitlines()]
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


@dataclass(frozen=True)
class Resolution:
    """What uv made of a pyproject: the lock body when it resolved, else uv's own words."""

    ok: bool
    lock: str
    message: str


UvBatch = Batch  # the uv processes of several resolutions, so that Ctrl-C stops them all


def uv_batch() -> UvBatch:
    return Batch()


def resolve(job: LockJob, pyproject_text: str, lock_text: str | None,
            batch: UvBatch | None = None) -> Resolution:
    """Resolve ``pyproject_text`` as `bumper lock` would (preferring ``lock_text``'s pins), in
    a temporary folder: nothing in the tree is read or written. A resolver conflict is a
    result; any other failure of uv (an index down, a wrong URL) is raised."""
    with tempfile.TemporaryDirectory(prefix="bumper-resolve-") as tmp:
        proc, stderr, text = _uv(job, Path(tmp), pyproject_text,
                                 body(lock_text) if lock_text else None, batch or Batch())
    if proc.returncode < 0:
        raise ExternalError(f"uv for {job.rel} was killed (signal {-proc.returncode})")
    if proc.returncode != 0:
        if not _no_solution(stderr, job):
            raise ExternalError(f"uv could not resolve {job.rel}: {_reason(stderr, job)}")
        for index in (job.index, *job.others):
            stderr = _public_text(stderr, index)
        return Resolution(False, "", stderr)
    return Resolution(True, body(text), "")


def _no_solution(stderr: str, job: LockJob) -> bool:
    """uv failed because the requirements conflict, not because an index could not be read
    (credentials refused, or a wrong URL: every project then "not found")."""
    if "No solution found" not in stderr or summarize(stderr, job) != _reason(stderr, job):
        return False
    hints = [ln for ln in stderr.splitlines() if ln.strip().lstrip("×│╰─▶ ").startswith("hint:")]
    return not any(re.search(r"\b40[13]\b|authentication|credentials", h) for h in hints)


def job_for(image: ImageDir, *, folder: Path | None = None, index_url: str | None = None,
            upgrade: bool = False, upgrade_packages: tuple[str, ...] = (),
            policy: str = "auto") -> LockJob:
    """The lock job of an image folder (optionally of its staging copy, or a new index);
    ``policy``: the ``[tool.bumper] hashes`` setting of its scheme."""
    url = index_url or image.index_url()
    if url is None:
        raise UsageError(f"{image.rel}: no index URL in pyproject.toml ([tool.uv] index-url), "
                         "Dockerfile or lock (set one, or pass --index-url)")
    if image.stack is None:
        raise UsageError(f"{image.rel}: cannot tell the Python version (set requires-python in "
                         "pyproject.toml; bumper check lists what is missing)")
    return with_indexes(LockJob(folder=folder or image.path, rel=image.rel,
                                index=with_env_credentials(url), python=image.stack.python,
                                upgrade=upgrade, upgrade_packages=upgrade_packages,
                                hashes=hashed(image.texts.get(LOCK_NAME, ""), policy)),
                        image.texts.get("pyproject.toml", ""))


def with_indexes(job: LockJob, pyproject_text: str) -> LockJob:
    """The job with the other indexes the folder's pyproject names."""
    settings = uvsettings.read(pyproject_text)
    extra = uvsettings.indexes(settings.extra_index_urls, job.index)
    named = uvsettings.indexes([i.url for i in settings.named], job.index)
    return replace(job, extra=extra, named=tuple(i for i in named if i not in extra))
