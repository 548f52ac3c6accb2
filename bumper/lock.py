"""The uv runner: `uv pip compile --generate-hashes` for one image folder.

Only this module runs uv. The lock keeps its hand-kept first line
``--index-url=<public URL>``; uv itself is told to write a header that says
how to regenerate the file (``bumper lock <dir>``) and never sees an index URL
it could copy into the file: the URL it gets is the mapped one, and
credentials travel in a private netrc file.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bumper.errors import ExternalError
from bumper.urls import IndexUrl, scrub

LOCK_NAME = "requirements.txt"
FIRST_LINE = re.compile(r"^--index-url(?P<sep>=|\s+)\S+")


@dataclass(frozen=True)
class LockJob:
    """Everything one lock needs; `folder` may be a staging copy of `rel`."""

    folder: Path
    rel: str
    index: IndexUrl
    python: str
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = field(default_factory=tuple)


@functools.cache
def uv_bin() -> str:
    """Path of the uv binary that the `uv` wheel ships (resolved once, before any thread:
    sysconfig is not thread-safe on first use)."""
    import uv

    return str(uv.find_uv_bin())


def uv_env(netrc: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    for key in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
                "PIP_INDEX_URL"):
        env.pop(key, None)
    if netrc is not None:
        env["NETRC"] = str(netrc)
    if "UV_HTTP_TIMEOUT" not in env:
        from bumper.index import request_timeout

        env["UV_HTTP_TIMEOUT"] = str(max(1, round(request_timeout())))
    return env


def _netrc(index: IndexUrl, where: Path) -> Path | None:
    if index.username is None and index.password is None:
        return None
    from urllib.parse import urlsplit

    host = urlsplit(index.request_url()).hostname or ""
    path = where / "netrc"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"machine {host}\nlogin {index.username or ''}\n"
                     f"password {index.password or ''}\n")
    return path


def command(job: LockJob, output: Path) -> list[str]:
    cmd = [uv_bin(), "pip", "compile", "pyproject.toml", "--generate-hashes",
           "--python-platform=linux", f"--python-version={job.python}",
           f"--index-url={job.index.request_url()}", "-o", str(output),
           "--custom-compile-command", f"bumper lock {job.rel}",
           "--no-config", "--quiet"]
    if job.upgrade:
        cmd.append("--upgrade")
    for name in job.upgrade_packages:
        cmd.append(f"--upgrade-package={name}")
    return cmd


def index_line(public_url: str, previous: str | None) -> str:
    """First line of the lock, in the separator style the folder already uses."""
    sep = "="
    if previous:
        match = FIRST_LINE.match(previous)
        if match:
            sep = "=" if match["sep"] == "=" else " "
    return f"--index-url{sep}{public_url}\n"


def compile_lock(job: LockJob) -> str:
    """Run uv for `job` and return the new lock text (nothing is written to the folder)."""
    current = job.folder / LOCK_NAME
    previous = current.read_text(encoding="utf-8") if current.exists() else None
    with tempfile.TemporaryDirectory(prefix="bumper-lock-") as tmp:
        output = Path(tmp) / LOCK_NAME
        if previous is not None:
            # uv prefers the pins of an existing output file: a relock only
            # moves what must move (unless --upgrade).
            output.write_text(previous, encoding="utf-8")
        netrc = _netrc(job.index, Path(tmp))
        _run(command(job, output), job, netrc)
        body = output.read_text(encoding="utf-8")
    lines = body.splitlines(keepends=True)
    while lines and FIRST_LINE.match(lines[0]):
        lines.pop(0)
    return index_line(job.index.public, previous) + "".join(lines)


def _run(cmd: list[str], job: LockJob, netrc: Path | None) -> None:
    proc = subprocess.Popen(cmd, cwd=job.folder, env=uv_env(netrc), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise ExternalError(f"uv could not lock {job.rel}: {summarize(stderr, job)}")


def summarize(stderr: str, job: LockJob) -> str:
    """uv's reason in one line, with no secret and no mapped URL in it."""
    text = scrub(stderr, job.index.secrets)
    mapped = job.index.request_url()
    if mapped != job.index.public:
        text = text.replace(mapped, job.index.public)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    reasons = [ln.removeprefix("×").removeprefix("╰─▶").strip(" │╰─▶") for ln in lines]
    reasons = [r for r in reasons if r and not r.startswith("help:")]
    if not reasons:
        return f"uv exited without a message (rerun with: bumper -v lock {job.rel})"
    return "; ".join(reasons[:3])


def run_jobs(jobs: list[LockJob], on_done: object = None) -> list[str]:
    """Lock several folders at once, bounded by the cores; results in job order.

    The first failure cancels the jobs not yet started and is raised.
    """
    from concurrent.futures import ThreadPoolExecutor

    uv_bin()
    if len(jobs) == 1:
        return [compile_lock(jobs[0])]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(compile_lock, job) for job in jobs]
        try:
            results = []
            for future in futures:
                results.append(future.result())
                if callable(on_done):
                    on_done(len(results), len(jobs))
            return results
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def comparable(text: str) -> list[str]:
    """A lock without its comment lines: what `lock --check` compares."""
    return [ln.rstrip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def job_for(image: object, *, folder: Path | None = None, index_url: str | None = None,
            upgrade: bool = False, upgrade_packages: tuple[str, ...] = ()) -> LockJob:
    """The lock job of an image folder (optionally of its staging copy, or a new index)."""
    from bumper.discover import ImageDir
    from bumper.errors import UsageError
    from bumper.urls import with_env_credentials

    assert isinstance(image, ImageDir)
    url = index_url or image.index_url()
    if url is None:
        raise UsageError(f"{image.rel}: no index URL in pyproject.toml ([tool.uv] index-url), "
                         "Dockerfile or lock (set one, or pass --index-url)")
    if image.stack is None:
        raise UsageError(f"{image.rel}: cannot tell the Python version (set requires-python in "
                         "pyproject.toml; bumper check lists what is missing)")
    return LockJob(folder=folder or image.path, rel=image.rel, index=with_env_credentials(url),
                   python=image.stack.python, upgrade=upgrade, upgrade_packages=upgrade_packages)
