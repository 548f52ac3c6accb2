"""Index credentials never reach a file, a commit, a log line or an error message; uv gets
them through a private netrc, never on its command line."""

from __future__ import annotations

from pathlib import Path

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
