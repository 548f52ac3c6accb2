"""Issue 11 item 4: --add, --remove, --override and an extras change edit the requirement
lists of pyproject.toml (comments and order kept) and relock; each is checked against the
index first. Fixture folders: tests/uvconventions.py."""

from __future__ import annotations

from collections.abc import Callable

from tests.bumprepo import Repo, lock_pins
from tests.uvconventions import DIR, IMAGES, NAME


def test_add_puts_the_dependency_after_the_last_one(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    before = repo.read(NAME, "pyproject.toml")
    repo.ok("minor", DIR, "--add", "sqlparse>=0.5.0", "--yes")
    assert repo.read(NAME, "pyproject.toml") == before.replace(
        '    "requests>=2.32.0",\n', '    "requests>=2.32.0",\n    "sqlparse>=0.5.0",\n')
    lock = repo.read(NAME, "requirements.txt")
    assert lock_pins(lock)["sqlparse"] == "0.5.3"
    assert "--hash=" not in lock
    assert repo.status() == ""


def test_add_of_what_the_index_lacks_changes_nothing(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    run = repo.fails(2, "minor", DIR, "--add", "sqlparse>=9", "--yes")
    assert "no version of sqlparse" in run.err and "0.5.3" in run.err
    assert repo.status() == ""


def test_add_of_a_direct_dependency_says_set(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    run = repo.fails(2, "minor", DIR, "--add", "fastapi>=0.118.0", "--yes")
    assert "--set fastapi>=0.118.0" in run.err


def test_remove_drops_the_line_and_the_pin(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    before = repo.read(NAME, "pyproject.toml")
    assert "fastapi" in lock_pins(repo.read(NAME, "requirements.txt"))
    repo.ok("minor", DIR, "--remove", "fastapi", "--yes")
    assert repo.read(NAME, "pyproject.toml") == before.replace('    "fastapi>=0.118.0",\n', "")
    assert "fastapi" not in lock_pins(repo.read(NAME, "requirements.txt"))


def test_remove_of_what_is_not_direct_is_refused(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    run = repo.fails(2, "minor", DIR, "--remove", "starlette", "--yes")
    assert "not a direct dependency" in run.err
    run = repo.fails(2, "minor", DIR, "--remove", "torch", "--yes")
    assert "cannot go" in run.err
    assert repo.status() == ""


def test_override_replaces_the_entry_in_place(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("override")
    before = repo.read(NAME, "pyproject.toml")
    assert lock_pins(repo.read(NAME, "requirements.txt"))["numpy"] == "2.3.5"
    repo.ok("minor", DIR, "--override", "numpy>=2.0.0,<2.3", "--yes")
    assert repo.read(NAME, "pyproject.toml") == before.replace('"numpy>=2.0.0,<2.4"',
                                                               '"numpy>=2.0.0,<2.3"')
    lock = repo.read(NAME, "requirements.txt")
    assert lock_pins(lock)["numpy"] == "2.2.6"
    assert lock.count("--hash=") >= len(lock_pins(lock))  # still fully hashed
    repo.ok("index", "missing", DIR)


def test_override_starts_the_list_at_the_end_of_tool_uv(
        uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    before = repo.read(NAME, "pyproject.toml")
    repo.ok("minor", DIR, "--override", "numpy>=2.0.0,<2.3", "--yes")
    assert repo.read(NAME, "pyproject.toml") == before + (
        'override-dependencies = [\n    "numpy>=2.0.0,<2.3",\n]\n')
    assert lock_pins(repo.read(NAME, "requirements.txt"))["numpy"] == "2.2.6"


def test_a_major_changes_the_extras_with_the_version(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    run = repo.ok("major", "--training-hub", "0.6.1", "--set", "training_hub[lora,cuda]==0.6.1",
                  "--yes")
    new = "th06-cpu-torch291-py312"
    text = (repo.root / IMAGES / new / "pyproject.toml").read_text(encoding="utf-8")
    assert '    "training_hub[cuda,lora]==0.6.1",\n' in text, run
    pins = lock_pins((repo.root / IMAGES / new / "requirements.txt").read_text(encoding="utf-8"))
    assert pins["training-hub"] == "0.6.1"
    assert {"peft", "trl", "numba"} <= pins.keys()  # what the two extras pull in


def test_a_major_refuses_another_version_in_set(uv_repo: Callable[[str], Repo]) -> None:
    repo = uv_repo("constraints")
    run = repo.fails(2, "major", "--training-hub", "0.6.1", "--set",
                     "training_hub[lora]==0.6.0", "--yes")
    assert "major" in run.err
    assert repo.status() == ""
