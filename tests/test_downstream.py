"""`bumper downstream`: MIDSTREAM ONLY blocks and .repo copies removed, the rest byte for byte.

The expected output is computed here from the markers alone (the block is the
banner line before the opening marker through the banner line after the
closing one, plus every COPY of a .repo file), so a wrong line range in the
implementation shows up as a diff.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bumper import downstream
from bumper.errors import UsageError
from tests.helpers import (
    CUDA,
    FOLDERS,
    IMAGES,
    REPO,
    bumper_cmd,
    line_of,
    path,
    replace,
    run_cli,
)

HADOLINT = Path(sys.executable).with_name("hadolint")
BANNER = "#" * 80 + "\n"


def lines_of(root: Path, folder: str) -> list[str]:
    return path(root, f"{folder}/Dockerfile").read_text(encoding="utf-8").splitlines(True)


def expected_downstream(lines: list[str]) -> tuple[str, list[str]]:
    """(the downstream text, the removed lines), from the markers of a bundled Dockerfile."""
    begins = [n for n, line in enumerate(lines) if line.startswith("# MIDSTREAM ONLY")]
    ends = [n for n, line in enumerate(lines) if line.startswith("# END MIDSTREAM ONLY")]
    assert len(begins) == len(ends) == 1, "the bundled folders have one block each"
    first, last = begins[0] - 1, ends[0] + 1
    assert lines[first] == lines[last] == BANNER, "a banner line on either side of the block"
    drop = set(range(first, last + 1))
    drop |= {n for n, line in enumerate(lines)
             if line.startswith(("COPY", "ADD")) and ".repo " in line}
    kept = [line for n, line in enumerate(lines) if n not in drop]
    return "".join(kept), [lines[n] for n in sorted(drop)]


def env_names(removed: list[str]) -> list[str]:
    """The variables the ENV instruction of the block sets."""
    text = "".join(removed)
    env = re.search(r"^ENV (.*?)(?<!\\)\n", text, re.M | re.S)
    assert env is not None, "every bundled block sets variables"
    return re.findall(r"(?:^|\s)([A-Z_][A-Z0-9_]*)=", env.group(1))


@pytest.mark.parametrize("folder", FOLDERS)
def test_bundled_folder_downstream(examples: Path, folder: str) -> None:
    lines = lines_of(examples, folder)
    expected, removed = expected_downstream(lines)
    result = run_cli(examples, "downstream", folder)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out == expected  # every other line unchanged, in order
    assert "MIDSTREAM" not in out
    assert not re.search(r"\bdnf\b", out)
    assert ".repo" not in out
    names = env_names(removed)
    assert names
    for name in names:
        assert not re.search(rf"(?<![\w$]){name}=", out), name
    assert not any(line.startswith("ENV") for line in out.splitlines())
    assert sum(1 for line in removed if "dnf install" in line) == 1


@pytest.mark.parametrize("folder", FOLDERS)
def test_downstream_passes_hadolint(examples: Path, folder: str, tmp_path: Path) -> None:
    result = run_cli(examples, "downstream", folder)
    assert result.returncode == 0, result.stderr
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(result.stdout, encoding="utf-8")
    lint = subprocess.run([str(HADOLINT), "--config", str(REPO / ".hadolint.yaml"),
                           str(dockerfile)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_output_writes_a_build_context(examples: Path, tmp_path: Path) -> None:
    source = path(examples, CUDA)
    out = tmp_path / "out" / "ctx"
    result = run_cli(examples, "downstream", CUDA, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"downstream build context of {IMAGES}/{CUDA} written to {out}" in result.stderr
    names = {p.name for p in source.iterdir()}
    assert {"cuda.repo", "mellanox.repo"} <= names
    assert {p.name for p in out.iterdir()} == {n for n in names if not n.endswith(".repo")}
    printed = run_cli(examples, "downstream", CUDA).stdout
    assert (out / "Dockerfile").read_text(encoding="utf-8") == printed
    for file in out.iterdir():
        if file.name != "Dockerfile":
            assert file.read_bytes() == (source / file.name).read_bytes(), file.name
            assert file.stat().st_mode == (source / file.name).stat().st_mode, file.name
    assert not [p for p in out.parent.iterdir() if p != out], "no temporary folder left"


def test_output_refuses_a_non_empty_target(examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n", encoding="utf-8")
    result = run_cli(examples, "downstream", CUDA, "--output", str(out))
    assert result.returncode == 2
    assert result.stderr == (f"bumper: error: {out}: already exists and is not empty "
                             "(choose a new --output)\n")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert run_cli(examples, "downstream", CUDA, "--output", str(a_file)).returncode == 2
    assert a_file.read_text(encoding="utf-8") == "x"


def test_output_into_an_empty_folder(examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    result = run_cli(examples, "downstream", CUDA, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "Dockerfile").is_file()
    assert not list(out.glob("*.repo"))


def test_output_inside_the_image_folder_is_refused(examples: Path) -> None:
    inside = path(examples, f"{CUDA}/downstream")
    result = run_cli(examples, "downstream", CUDA, "--output", str(inside))
    assert result.returncode == 2
    assert f"inside the image folder {IMAGES}/{CUDA}" in result.stderr
    assert not inside.exists()
    assert not [p for p in path(examples, CUDA).iterdir() if p.name.startswith(".downstream")]


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("# END MIDSTREAM ONLY\n", "", "# MIDSTREAM ONLY",
     "'# MIDSTREAM ONLY' is never closed by '# END MIDSTREAM ONLY'"),
    ("# MIDSTREAM ONLY: Environment variables and system packages\n", "",
     "# END MIDSTREAM ONLY",
     "'# END MIDSTREAM ONLY' without an opening '# MIDSTREAM ONLY' (pair the markers)"),
    ("COPY cuda.repo", "# MIDSTREAM ONLY: nested\nCOPY cuda.repo", "# MIDSTREAM ONLY: nested",
     "'# MIDSTREAM ONLY' inside the block opened at line {begin} (blocks cannot nest; close "
     "the first one with '# END MIDSTREAM ONLY')"),
    ("# END MIDSTREAM ONLY\n", "# END MIDSTREAM ONLY\n# END MIDSTREAM ONLY\n",
     "# END MIDSTREAM ONLY\n# END", "'# END MIDSTREAM ONLY' without an opening"),
], ids=["never-closed", "end-without-begin", "nested", "end-twice"])
def test_unbalanced_or_nested_markers_exit_2_naming_the_line(
        examples: Path, old: str, new: str, needle: str, message: str) -> None:
    rel = f"{CUDA}/Dockerfile"
    begin = line_of(examples, rel, "# MIDSTREAM ONLY")
    replace(examples, rel, old, new)
    text = path(examples, rel).read_text(encoding="utf-8")
    line = text[:text.index(needle)].count("\n") + 1 + needle.count("\n")
    result = run_cli(examples, "downstream", CUDA)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"bumper: error: {IMAGES}/{rel}:{line}: {message.format(begin=begin)}"), result.stderr
    assert "Traceback" not in result.stderr


# --- the pure function, on Dockerfiles the bundled folders do not show ---------------------

def test_two_blocks_and_repo_copies_outside_them() -> None:
    text = ("FROM base\n"
            "# MIDSTREAM ONLY\nENV A=1\n# END MIDSTREAM ONLY\n"
            "COPY --chown=0:0 \\\n    # a comment inside the instruction\n"
            "    cuda.repo /etc/yum.repos.d/\n"
            'ADD ["rocm.repo", "/etc/yum.repos.d/"]\n'
            "copy *.repo /etc/yum.repos.d/\n"
            "COPY requirements.txt /etc/yum.repos.d/\n"
            "# MIDSTREAM ONLY\nRUN dnf install -y x\n# END MIDSTREAM ONLY\n"
            "USER 1001\n")
    assert downstream.dockerfile(text) == ("FROM base\n"
                                           "COPY requirements.txt /etc/yum.repos.d/\n"
                                           "USER 1001\n")


def test_only_the_banner_next_to_each_marker_goes() -> None:
    text = (BANNER + "# Section A\n" + BANNER + BANNER + "# MIDSTREAM ONLY\nENV A=1\n"
            + BANNER + "# END MIDSTREAM ONLY\n" + BANNER + BANNER + "# Section B\n" + BANNER
            + "RUN true\n")
    assert downstream.dockerfile(text) == (BANNER + "# Section A\n" + BANNER
                                           + BANNER + "# Section B\n" + BANNER + "RUN true\n")


def test_crlf_and_trailing_text_are_kept() -> None:
    text = "FROM a\r\n# MIDSTREAM ONLY\r\nENV A=1\r\n# END MIDSTREAM ONLY\r\nUSER 1 \r\n"
    assert downstream.dockerfile(text) == "FROM a\r\nUSER 1 \r\n"
    assert downstream.dockerfile("FROM a\nUSER 1") == "FROM a\nUSER 1"


def test_crlf_dockerfile_stays_crlf_in_the_build_context(examples: Path, tmp_path: Path) -> None:
    dockerfile = path(examples, f"{CUDA}/Dockerfile")
    dockerfile.write_bytes(dockerfile.read_bytes().replace(b"\n", b"\r\n"))
    out = tmp_path / "ctx"
    assert run_cli(examples, "downstream", CUDA, "--output", str(out)).returncode == 0
    expected, _ = expected_downstream(lines_of(examples, CUDA))
    assert (out / "Dockerfile").read_bytes() == expected.replace("\n", "\r\n").encode()


def test_crlf_dockerfile_printed_as_crlf(examples: Path) -> None:
    dockerfile = path(examples, f"{CUDA}/Dockerfile")
    dockerfile.write_bytes(dockerfile.read_bytes().replace(b"\n", b"\r\n"))
    result = subprocess.run([*bumper_cmd(), "--repo", str(examples), "downstream", CUDA],
                            capture_output=True, cwd=examples, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    expected, _ = expected_downstream(lines_of(examples, CUDA))
    assert result.stdout == expected.replace("\n", "\r\n").encode()


def test_a_copy_of_repo_and_other_files_together_is_refused() -> None:
    text = "FROM a\nCOPY cuda.repo requirements.txt /tmp/\n"
    with pytest.raises(UsageError) as caught:
        downstream.dockerfile(text, "x/Dockerfile")
    assert caught.value.message.startswith(
        "x/Dockerfile:2: copies .repo files together with other files (requirements.txt)")
