"""Hostile input is refused up front, in one line, with nothing changed and nothing leaked:
URLs whose password holds an unescaped '/', '?' or '#', unsafe folder names, an --output
that is no place to write, -r/-c/-e lines in a lock, an ARG BASE_IMAGE without a default."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bumper import cli
from tests.bumprepo import CPU, CUDA, IMAGES, Repo, public_index

PASSWORD = "S3cret/Tok"  # a test password with an unescaped "/"
PIECES = ("S3cret", "Tok@", "alice:")  # no part of the userinfo may be shown
CPU_INDEX = public_index("cpu-ubi9")


def bad_url(url: str, password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{password}@{rest}"


def assert_nothing_shown(*texts: str) -> None:
    for text in texts:
        for piece in PIECES:
            assert piece not in text, text


# --- 11 and 12: a userinfo with an unescaped '/', '?' or '#' -------------------------------

@pytest.mark.parametrize("password", ["S3cret/Tok", "S3cret?Tok", "S3cret#Tok"])
def test_a_bump_refuses_an_unescaped_password(repo: Repo, password: str) -> None:
    before, head = repo.snapshot(), repo.head()
    for args in (("minor", CPU, "--index-url", bad_url(CPU_INDEX, password), "--yes"),
                 ("minor", CPU, "--index-url", bad_url(CPU_INDEX, password), "--dry-run"),
                 ("major", "--cuda", "12.8", "--index-url", bad_url(CPU_INDEX, password),
                  "--yes", "--no-lock")):
        run = repo.fails(2, *args)
        assert "percent-encode it, or use BUMPER_INDEX_USERNAME/BUMPER_INDEX_PASSWORD" in run.err
        assert run.out == ""
        assert_nothing_shown(run.err)
        assert password not in run.err
    repo.assert_untouched(before, head)


@pytest.mark.parametrize("verbose", [(), ("-v",)])
def test_index_commands_refuse_it_and_never_show_it(repo: Repo, verbose: tuple[str, ...]
                                                    ) -> None:
    assert repo.index is not None
    before, head = repo.snapshot(), repo.head()
    runs = [repo.fails(2, *verbose, "index", "versions", "starlette", "--index-url",
                       bad_url(repo.index.index_url("cpu-ubi9")))]
    public, target = repo.index.prefix_map.split("=", 1)
    repo.extra_env["BUMPER_INDEX_MAP"] = f"{public}={bad_url(target)}"
    runs += [repo.fails(2, *verbose, "index", "missing", CPU),
             repo.fails(2, *verbose, "align", CUDA),
             repo.fails(2, *verbose, "lock", CPU)]
    for run in runs:
        assert "internal error" not in run.err and "InvalidURL" not in run.err, str(run)
        assert_nothing_shown(run.out, run.err)
    assert "BUMPER_INDEX_MAP target" in runs[1].err
    repo.assert_untouched(before, head)


def test_a_file_with_such_a_url_is_refused(repo: Repo) -> None:
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace(f'"{CPU_INDEX}"', f'"{bad_url(CPU_INDEX)}"'))
    repo.commit_all("a password in the file")
    before, head = repo.snapshot(), repo.head()
    for args in (("lock", CPU), ("index", "missing", CPU), ("minor", CPU, "--upgrade", "--yes")):
        assert_nothing_shown(repo.fails(2, *args).err)
    repo.assert_untouched(before, head)


def test_an_internal_error_and_its_traceback_are_scrubbed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug that quotes part of a password (as httpx's InvalidURL did) is simulated: the
    leak it had is fixed, so only a stand-in can show the scrubbing of unknown bugs."""
    url = bad_url(CPU_INDEX)

    def boom(**_: object) -> None:
        raise ValueError(f"Invalid port: 'S3cret' in {url}")

    monkeypatch.setattr(cli.cli, "main", boom)
    for verbose in ([], ["-v"]):
        monkeypatch.setattr(sys, "argv", ["bumper", *verbose, "index", "versions", "x",
                                          "--index-url", url])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        assert exit_info.value.code == 4
        err = capsys.readouterr().err
        assert ("Traceback" in err) == bool(verbose)
        assert "Invalid port: '***'" in err
        assert_nothing_shown(err)


# --- 14: folder names -----------------------------------------------------------------------

UNSAFE = ["evil\nname", "with space", "caf\u00e9", "back\\slash", "a/b", "..", "-dash"]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused_up_front(repo: Repo, name: str) -> None:
    before, head = repo.snapshot(), repo.head()
    for args in (("major", "--cuda", "12.8", "--name", name, "--yes"),
                 ("new", "--flavor", "cpu", "--torch", "2.9.0", "--training-hub", "0.5.0",
                  "--name", name, "--yes")):
        run = repo.fails(2, *args)
        assert "not a safe folder name" in run.err, str(run)
        assert run.err.count("\n") == 1, str(run)
    repo.assert_untouched(before, head)


def test_a_naming_scheme_that_renders_an_unsafe_name_is_refused(repo: Repo) -> None:
    (repo.root / "bumper.toml").write_text(
        'naming = "th{th} {accel}-torch{torch}-py{python}"\n', encoding="utf-8")
    repo.commit_all("a naming scheme with a space")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "major", "--cuda", "12.8", "--yes")
    assert "the naming scheme gives 'th05 cuda128-torch291-py312': not a safe folder name" \
        in run.err, str(run)
    repo.assert_untouched(before, head)


# --- 15: downstream --output ----------------------------------------------------------------

def test_downstream_output_that_is_no_place_to_write(repo: Repo, tmp_path: Path) -> None:
    run = repo.fails(2, "downstream", CPU, "--output", "/proc/bumper-context")
    assert "/proc/bumper-context: cannot create a folder there" in run.err
    target = tmp_path / "elsewhere"
    link = tmp_path / "link"
    link.symlink_to(target)  # dangling
    run = repo.fails(2, "downstream", CPU, "--output", str(link))
    assert f"{link}: is a symbolic link" in run.err
    assert not target.exists()
    target.mkdir()  # a link to an empty folder is refused too
    repo.fails(2, "downstream", CPU, "--output", str(link))
    assert list(target.iterdir()) == []


# --- 19: -r, -c and -e lines in a lock ------------------------------------------------------

def test_include_lines_in_a_lock_are_findings_and_lock_drops_them(repo: Repo) -> None:
    lock = repo.read(CPU, "requirements.txt")
    extra = "-r extra.txt\n-c constraints.txt\n-e ./local-package\n"
    repo.write(CPU, "requirements.txt", lock + extra)
    repo.commit_all("include lines in the lock")
    first = lock.count("\n") + 1
    run = repo.bumper("check", CPU)
    assert run.code == 1, str(run)
    where = f"{IMAGES}/{CPU}/requirements.txt"
    for offset, line in enumerate(extra.splitlines()):
        assert f"{where}:{first + offset}: L008 {line!r}: a lock holds only pinned " \
               "packages" in run.out, str(run)
    run = repo.ok("lock", CPU)
    assert "tmp" not in run.out + run.err
    assert repo.read(CPU, "requirements.txt") == lock
    repo.ok("check", CPU)


# --- 20: ARG BASE_IMAGE ---------------------------------------------------------------------

def test_base_image_without_a_default_is_refused(repo: Repo) -> None:
    text = repo.read(CPU, "Dockerfile")
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if ln.startswith("ARG BASE_IMAGE="))
    repo.write(CPU, "Dockerfile", "\n".join(
        "ARG BASE_IMAGE" if n == line else ln for n, ln in enumerate(text.splitlines(), 1)) + "\n")
    repo.commit_all("no default base image")
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(2, "minor", CPU, "--base-image", ":2026a-v1.40", "--yes", "--no-lock")
    assert run.err == (f"bumper: error: {IMAGES}/{CPU}/Dockerfile:{line}: ARG BASE_IMAGE has no "
                       "default, so --base-image has nothing to change (write "
                       "ARG BASE_IMAGE=registry/name:tag and FROM ${BASE_IMAGE})\n")
    repo.assert_untouched(before, head)


def test_a_tab_after_arg_is_whitespace(repo: Repo) -> None:
    repo.ok("check", CPU)
    text = repo.read(CPU, "Dockerfile")
    repo.write(CPU, "Dockerfile", text.replace("ARG BASE_IMAGE=", "ARG\tBASE_IMAGE="))
    repo.commit_all("a tab")
    repo.ok("check", CPU)
    repo.ok("minor", CPU, "--base-image", ":2026a-v1.40", "--yes", "--no-lock")
    assert "ARG\tBASE_IMAGE=registry.example.com/opendatahub/odh-workbench-jupyter-minimal-" \
           "cpu-py312-ubi9:2026a-v1.40\n" in repo.read(CPU, "Dockerfile")
