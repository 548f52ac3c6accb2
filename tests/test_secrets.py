"""Index credentials never reach a file, a commit, a log line or an error message; uv gets
them through a private netrc, never on its command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bumprepo import CPU, IMAGES, Repo, Run, public_index, uv_compile_of, wait_for

SECRET = "S3CRET"
USER = "user"


def with_userinfo(url: str, user: str = USER, password: str = SECRET) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


def assert_secret_nowhere(repo: Repo, *runs: Run, secret: str = SECRET) -> None:
    """Not in any file of the tree (.git included, objects aside), the history or output."""
    for run in runs:
        assert secret not in run.out + run.err, str(run)
    for path in repo.root.rglob("*"):
        if path.is_file() and "objects" not in path.relative_to(repo.root).parts:
            assert secret.encode() not in path.read_bytes(), path
    history = repo.git("log", "-p", "--all", "--format=%H%n%an %ae%n%B")
    assert repo.head() in history
    assert secret not in history
    assert secret not in repo.git("reflog", "--all")
    assert secret not in repo.git("config", "--list")


def authed(repo: Repo) -> list[str | None]:
    assert repo.index is not None
    return [user for _, _, user in repo.index.requests_log]


def test_minor_with_credentials_in_the_url(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, SECRET)
    local = repo.index.index_url("cpu-ubi9")
    head = repo.head()

    run = repo.ok("minor", CPU, "--index-url", with_userinfo(local), "--yes")
    assert repo.head() != head
    assert repo.status() == ""
    # the URL is written without its userinfo, in every place that repeats it
    lock = repo.read(CPU, "requirements.txt")
    assert lock.startswith(f"--index-url={local}\n")
    assert f'index-url = "{local}"' in repo.read(CPU, "pyproject.toml")
    assert f"--index-url={local}" in repo.read(CPU, "Dockerfile")
    # the index saw the credentials (bumper's client and uv both), and uv's lock is good
    assert USER in authed(repo)
    assert_secret_nowhere(repo, run)


def test_minor_and_lock_with_credentials_in_the_environment(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, SECRET)
    repo.extra_env.update(BUMPER_INDEX_USERNAME=USER, BUMPER_INDEX_PASSWORD=SECRET)
    local = repo.index.index_url("cpu-ubi9")

    runs = [repo.ok("minor", CPU, "--index-url", local, "--set", "starlette~=1.3.1", "--yes")]
    assert "starlette==1.3.1 \\\n" in repo.read(CPU, "requirements.txt")
    runs.append(repo.ok("lock", "--check", CPU))
    runs.append(repo.ok("index", "missing", CPU))
    runs.append(repo.ok("index", "versions", "starlette", "--image", CPU))
    runs.append(repo.ok("align", CPU))
    assert set(authed(repo)) <= {USER, None}
    assert USER in authed(repo)
    assert_secret_nowhere(repo, *runs)


def test_credentials_in_the_prefix_map(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, SECRET)
    public, target = repo.index.prefix_map.split("=", 1)
    repo.extra_env["BUMPER_INDEX_MAP"] = f"{public}={with_userinfo(target)}"
    runs = [repo.ok("lock", CPU), repo.ok("index", "missing", CPU),
            repo.ok("index", "versions", "starlette", "--image", CPU)]
    assert repo.status() == ""
    assert_secret_nowhere(repo, *runs)


def test_a_wrong_password_is_one_line_without_it(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, SECRET)
    wrong = "WR0NGPASS"
    before, head = repo.snapshot(), repo.head()
    local = repo.index.index_url("cpu-ubi9")
    cpu_index = public_index("cpu-ubi9")

    run = repo.fails(3, "minor", CPU, "--index-url", with_userinfo(local, password=wrong),
                     "--yes", "--set", "starlette~=1.3.1")
    assert run.err == (f"bumper: error: {local}starlette/: HTTP 401: access denied (check the "
                       "index credentials)\n")
    runs = [run]
    repo.extra_env.update(BUMPER_INDEX_USERNAME=USER, BUMPER_INDEX_PASSWORD=wrong)
    run = repo.fails(3, "lock", CPU)
    assert run.err == (f"bumper: error: uv could not lock {IMAGES}/{CPU}: An index URL "
                       f"({cpu_index}) could not be queried due to a lack of valid "
                       "authentication credentials (401 Unauthorized)\n")
    runs += [run, repo.fails(3, "index", "missing", CPU), repo.fails(3, "align", CPU),
             repo.fails(3, "minor", CPU, "--index-url", with_userinfo(local, password=wrong),
                        "--yes")]
    for run in runs:
        assert wrong not in run.out + run.err, str(run)
        assert SECRET not in run.out + run.err, str(run)
    repo.assert_untouched(before, head)
    assert_secret_nowhere(repo, *runs, secret=wrong)


def test_uv_sees_no_secret_on_its_command_line(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.auth = (USER, SECRET)
    repo.index.hold()  # uv waits on the index while its command line is read
    repo.extra_env.update(BUMPER_INDEX_USERNAME=USER, BUMPER_INDEX_PASSWORD=SECRET)
    (repo.folder(CPU) / "requirements.txt").unlink()  # no pins to prefer: many requests
    proc = repo.start("lock", CPU)
    try:
        index = repo.index
        pids = wait_for(lambda: index.held and uv_compile_of(proc), timeout=30,
                        what="uv pip compile waiting on the index")
        assert isinstance(pids, list)
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert not [arg for arg in cmdline if SECRET.encode() in arg]
            assert not [var for var in environ if SECRET.encode() in var]
            netrc = next(v for v in environ if v.startswith(b"NETRC="))
            # a descriptor of uv's own (a memfd): the netrc has no path on any disk
            fd = netrc.removeprefix(b"NETRC=/proc/self/fd/").decode()
            assert fd.isdigit(), netrc
            target = str(Path(f"/proc/{pid}/fd/{fd}").readlink())
            assert target.startswith("/memfd:"), target
            url = next(a for a in cmdline if a.startswith(b"--index-url="))
            assert url == f"--index-url={repo.index.index_url('cpu-ubi9')}".encode()
        repo.index.release()
        out, err = proc.communicate(timeout=120)
    finally:
        repo.index.release()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert SECRET not in out + err
    assert_secret_nowhere(repo)


# --- the credential corpus ------------------------------------------------------------------
# Users and passwords with every character that URLs, netrc files and HTTP Basic treat
# specially, through every way a credential enters; after each case, success or failure,
# no form of the password is anywhere: the tree, the history, stdout, stderr (-v), the
# JSON output, $TMPDIR and the uv cache.

CORPUS = {
    "slash-query-hash": ("al/ice?x#y", "pa/ss?wo#rd"),
    "at-colon-percent": ("bo@b:z%", "p@ss:w%rd"),
}
CARRIERS = ("url", "map", "env", "netrc")


def forms(user: str, password: str) -> list[str]:
    """Every form the password could leak in: raw, percent-encoded, inside a Basic header."""
    import base64
    from urllib.parse import quote

    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    return sorted({password, quote(password, safe=""), quote(password), basic})


def encoded(url: str, user: str, password: str) -> str:
    from urllib.parse import quote

    return with_userinfo(url, quote(user, safe=""), quote(password, safe=""))


def scan_files(root: Path, needles: list[str], skip_objects: bool = False) -> None:
    for path in root.rglob("*"):
        if not path.is_file() or (skip_objects and "objects" in path.parts):
            continue
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, (path, needle)


def corpus_runs(repo: Repo, carrier: str, user: str, password: str) -> list[Run]:
    assert repo.index is not None
    local = repo.index.index_url("cpu-ubi9")
    if carrier == "url":
        url = encoded(local, user, password)
        runs = [repo.bumper("minor", CPU, "--index-url", url, "--set", "starlette~=1.3.1",
                            "--yes", "--format", "json"),
                repo.bumper("-v", "index", "versions", "starlette", "--index-url", url),
                repo.bumper("minor", CPU, "--index-url", with_userinfo(local, user, password),
                            "--yes")]  # unescaped: refused
        repo.index.fail(500, times=None)
        runs.append(repo.bumper("-v", "index", "versions", "starlette", "--index-url", url))
        return runs
    public, target = repo.index.prefix_map.split("=", 1)
    if carrier == "map":
        repo.extra_env["BUMPER_INDEX_MAP"] = f"{public}={encoded(target, user, password)}"
    elif carrier == "env":
        repo.extra_env.update(BUMPER_INDEX_USERNAME=user, BUMPER_INDEX_PASSWORD=password)
    else:
        home = Path(repo.extra_env["HOME"])
        netrc = home / ".netrc"
        netrc.write_text(f'machine 127.0.0.1\nlogin "{user}"\npassword "{password}"\n',
                         encoding="utf-8")
        netrc.chmod(0o600)
    runs = [repo.bumper("minor", CPU, "--set", "starlette~=1.3.1", "--yes", "--format", "json"),
            repo.bumper("index", "missing", CPU, "--format", "json"),
            repo.bumper("-v", "index", "versions", "starlette", "--image", CPU)]
    repo.index.fail(500, times=None)
    runs += [repo.bumper("-v", "lock", CPU), repo.bumper("-v", "index", "missing", CPU)]
    return runs


@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("pair", list(CORPUS))
def test_the_credential_corpus_leaves_no_trace(faulty_repo: Repo, tmp_path: Path, pair: str,
                                               carrier: str) -> None:
    repo = faulty_repo
    assert repo.index is not None
    user, password = CORPUS[pair]
    repo.index.auth = (user, password)
    tmpdir, home = tmp_path / "tmpdir", tmp_path / "home"
    tmpdir.mkdir()
    home.mkdir()
    repo.extra_env.update(TMPDIR=str(tmpdir), HOME=str(home))

    runs = corpus_runs(repo, carrier, user, password)

    needles = forms(user, password)
    for run in runs:
        assert run.code in (0, 1, 2, 3), str(run)
        assert "Traceback" not in run.err or "-v" in run.args, str(run)
        for needle in needles:
            assert needle not in run.out + run.err, (needle, str(run))
    # the index saw the credentials (HTTP Basic splits a user at its first ':')
    assert user.split(":")[0] in authed(repo), str(runs[0])
    assert runs[-1].code == 3  # the failing index: one line, exit 3
    for needle in needles:
        assert_secret_nowhere(repo, *runs, secret=needle)
    scan_files(repo.root, needles, skip_objects=True)
    scan_files(tmpdir, needles)
    scan_files(Path(repo.env["UV_CACHE_DIR"]), needles)
    assert list(tmpdir.iterdir()) == []  # no temp file outlives a run
