"""Every file keeps its newline style and its UTF-8 BOM through every edit: editors see
plain text (LF, no BOM) from `fsutil.read_text`, and `fsutil.atomic_write` gives the file
its own style back. So an edit of a CRLF file is the LF edit with CRLF restored, and a
one-line change changes one line, the lock rewrite included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bumper.editors import requirements as lock_editor
from bumper.fsutil import BOM, atomic_write, read_text
from bumper.model import Accel, Stack
from tests.bumprepo import CPU, Repo
from tests.test_editors import FOLDERS, PROPERTY, edit_folder, load, rewrite_between

STYLES = {"crlf": (True, False), "bom": (False, True), "crlf+bom": (True, True)}
TARGETS = [Stack("0.6.0", Accel("cuda", "12.8"), "2.10.0", "3.13"),
           Stack("0.5.0", Accel("rocm", "7.1.1"), "2.9.1", "3.12"),
           Stack("0.5.0", Accel("cpu"), "2.10.0", "3.12")]


def styled_bytes(text: str, crlf: bool, bom: bool) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    return ((BOM if bom else "") + text).encode("utf-8")


def edit_on_disk(path: Path, edit: object) -> bytes:
    """Read as bumper reads, edit, write as bumper writes; the bytes on disk after."""
    assert callable(edit)
    atomic_write(path, edit(read_text(path)))
    return path.read_bytes()


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("target", range(len(TARGETS)))
@pytest.mark.parametrize("flavor", sorted(FOLDERS))
def test_each_editor_on_a_styled_file_is_the_plain_edit_restyled(
        tmp_path: Path, flavor: str, target: int, style: str) -> None:
    image = load(flavor)
    assert image.stack is not None
    rw = rewrite_between(image, image.stack, TARGETS[target], image.name, image.index_url())
    plain = edit_folder(image.texts, rw)
    assert any(plain[name] != image.texts[name] for name in plain)  # the bump edits something
    for name, edited in plain.items():
        path = tmp_path / name
        path.write_bytes(styled_bytes(image.texts[name], *STYLES[style]))
        after = edit_on_disk(path, lambda text, n=name: edit_folder({n: text}, rw)[n])
        assert after == styled_bytes(edited, *STYLES[style]), name


@pytest.mark.parametrize("style", list(STYLES))
def test_the_lock_repin_keeps_the_style(tmp_path: Path, style: str) -> None:
    text = load("cpu").texts["requirements.txt"]
    path = tmp_path / "requirements.txt"
    path.write_bytes(styled_bytes(text, *STYLES[style]))
    hashes = ["sha256:" + "ab" * 32]
    after = edit_on_disk(path, lambda t: lock_editor.repin(t, "starlette", "1.3.1", hashes))
    assert after == styled_bytes(lock_editor.repin(text, "starlette", "1.3.1", hashes),
                                 *STYLES[style])


LINES = st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
                 max_size=12)


@PROPERTY
@given(before=LINES, after=LINES, crlf=st.booleans(), bom=st.booleans())
def test_any_text_written_back_takes_the_file_style(tmp_path: Path, before: list[str],
                                                    after: list[str], crlf: bool,
                                                    bom: bool) -> None:
    old, new = "".join(f"{ln}\n" for ln in before), "".join(f"{ln}\n" for ln in after)
    path = tmp_path / "file.txt"
    path.write_bytes(styled_bytes(old, crlf, bom))
    assert read_text(path) == old
    got = edit_on_disk(path, lambda _: new)
    # an empty old file has no style to keep: only its BOM
    assert got == styled_bytes(new, crlf and bool(before), bom)


def crlf_folder(repo: Repo, name: str) -> None:
    """Turn every text file of the folder into CRLF (and give pyproject.toml a BOM)."""
    for path in sorted(repo.folder(name).iterdir()):
        data = path.read_bytes().replace(b"\n", b"\r\n")
        if path.name == "pyproject.toml":
            data = BOM.encode() + data
        path.write_bytes(data)
    (repo.root / ".gitattributes").write_text("* -text\n", encoding="utf-8")
    repo.commit_all("CRLF files")


def numstat(repo: Repo) -> dict[str, tuple[int, int]]:
    out = {}
    for line in repo.git("show", "--numstat", "--format=", "HEAD").splitlines():
        added, removed, path = line.split("\t")
        out[path.rsplit("/", 1)[-1]] = (int(added), int(removed))
    return out


def assert_all_crlf(repo: Repo, name: str) -> None:
    for path in repo.folder(name).iterdir():
        data = path.read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), path
    assert repo.folder(name).joinpath("pyproject.toml").read_bytes().startswith(BOM.encode())


def test_a_bump_of_a_crlf_folder_changes_only_the_lines_it_edits(repo: Repo) -> None:
    crlf_folder(repo, CPU)
    repo.ok("check", CPU)
    repo.ok("minor", CPU, "--base-image", ":2026a-v1.40", "--yes", "--no-lock")
    assert numstat(repo) == {"Dockerfile": (1, 1), ".copier-answers.yml": (1, 1)}
    assert_all_crlf(repo, CPU)

    repo.ok("minor", CPU, "--set", "starlette~=1.3.1", "--yes")  # pyproject edit and relock
    changed = numstat(repo)
    assert changed["pyproject.toml"] == (1, 1)
    assert changed["requirements.txt"][0] == changed["requirements.txt"][1] < 10
    assert_all_crlf(repo, CPU)
    repo.ok("check", CPU)


def test_lock_rewrites_a_crlf_lock_as_crlf(repo: Repo) -> None:
    crlf_folder(repo, CPU)
    path = repo.folder(CPU) / "pyproject.toml"
    path.write_bytes(path.read_bytes().replace(b'"starlette~=1.2.0"', b'"starlette~=1.3.1"'))
    repo.commit_all("a constraint changed by hand")
    repo.ok("lock", CPU)
    diff = repo.git("diff", "--numstat").split("\t")
    assert diff[0] == diff[1] and int(diff[0]) < 10, diff
    assert_all_crlf(repo, CPU)


def test_lock_reads_a_pyproject_with_a_bom(repo: Repo) -> None:
    """A BOM is valid UTF-8: bumper reads through it (as uv does) and keeps it."""
    path = repo.folder(CPU) / "pyproject.toml"
    path.write_bytes(BOM.encode() + path.read_bytes())
    repo.commit_all("a BOM")
    repo.ok("check", CPU)
    run = repo.ok("lock", CPU)
    assert run.out.endswith("requirements.txt: unchanged\n"), str(run)
    repo.ok("minor", CPU, "--set", "starlette~=1.3.1", "--yes")
    assert path.read_bytes().startswith(BOM.encode())
