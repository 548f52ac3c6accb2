"""`bumper lock`: the real uv against the local index, in a real git repo with the examples.

The bundled locks were made with ``python -m localindex run --hide-late -- bumper lock``;
the index without --hide-late also serves the `late` versions of the universe, which is
where --upgrade goes.
"""

from __future__ import annotations

import json

from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, ROOT, Repo, lock_pins, public_index

LOCK = "requirements.txt"
CPU_INDEX = public_index("cpu-ubi9")
# The `late` versions (localindex/universe.toml) the cpu lock can move to; starlette's
# 1.3.1 is late too, but the cpu pyproject holds it at ~=1.2.0.
CPU_LATE = {"accelerate": "1.11.0", "filelock": "3.20.0", "fsspec": "2025.10.0",
            "huggingface-hub": "0.36.0", "numpy": "2.3.5", "transformers": "4.57.3",
            "urllib3": "2.6.0"}


def bundled(folder: str) -> bytes:
    return (ROOT / IMAGES / folder / LOCK).read_bytes()


def lock_bytes(repo: Repo, folder: str) -> bytes:
    return (repo.folder(folder) / LOCK).read_bytes()


def edit(repo: Repo, folder: str, file: str, old: str, new: str) -> None:
    text = repo.read(folder, file)
    assert text.count(old) == 1, old
    repo.write(folder, file, text.replace(old, new))


# --- --check ------------------------------------------------------------------------------------


def test_check_passes_on_the_examples_and_writes_nothing(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("lock", "--check")
    assert run.out == ""
    assert run.err == "3 locks up to date\n"
    repo.assert_untouched(before, head)

    data = repo.ok("lock", "--check", "--format", "json").json()
    assert data == {"schema": 1, "command": "lock", "check": True, "ok": True,
                    "folders": [{"path": f"{IMAGES}/{name}", "changed": False}
                                for name in (CPU, CUDA, ROCM)]}
    repo.assert_untouched(before, head)


def test_check_fails_after_a_constraint_edit_and_writes_nothing(repo: Repo) -> None:
    edit(repo, CPU, "pyproject.toml", '"starlette~=1.2.0"', '"starlette~=1.3.1"')
    before = repo.snapshot()

    run = repo.bumper("lock", "--check")
    assert run.code == 1, str(run)
    lines = run.out.splitlines()
    assert lines[0] == f"{IMAGES}/{CPU}/{LOCK}: out of date (run: bumper lock {IMAGES}/{CPU})"
    assert lines[1:3] == [f"--- a/{IMAGES}/{CPU}/{LOCK}", f"+++ b/{IMAGES}/{CPU}/{LOCK}"]
    changed = [ln for ln in lines[3:] if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["-starlette==1.2.0 \\",
                       "-    --hash=sha256:" + _hash(repo, CPU, "starlette"),
                       "+starlette==1.3.1 \\",
                       "+    --hash=sha256:" + _hash_on_index(repo, "starlette", "1.3.1")]
    assert run.err == ""
    assert repo.snapshot() == before  # nothing written

    data = repo.bumper("lock", "--check", "--format", "json", CPU, CUDA).json()
    assert data["ok"] is False
    assert data["folders"] == [{"path": f"{IMAGES}/{CPU}", "changed": True},
                               {"path": f"{IMAGES}/{CUDA}", "changed": False}]
    assert repo.snapshot() == before


def _hash(repo: Repo, folder: str, name: str) -> str:
    lines = repo.read(folder, LOCK).splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"{name}=="))
    return lines[start + 1].strip().removeprefix("--hash=sha256:")


def _hash_on_index(repo: Repo, name: str, version: str) -> str:
    from localindex.wheels import load_manifest

    assert repo.index is not None
    entries = load_manifest(repo.index._root)["cpu-ubi9"]
    return next(e.sha256 for e in entries if e.project == name and e.version == version)


# --- reproducing the bundled locks --------------------------------------------------------------


def test_relock_with_the_locks_present_reproduces_them_byte_for_byte(repo: Repo) -> None:
    head = repo.head()
    run = repo.ok("lock")
    assert run.out.splitlines() == [f"{IMAGES}/{name}/{LOCK}: unchanged"
                                    for name in (CPU, CUDA, ROCM)]
    for name in (CPU, CUDA, ROCM):
        assert lock_bytes(repo, name) == bundled(name), name
    assert repo.status() == ""
    assert repo.head() == head


def test_lock_from_scratch_on_the_index_of_that_day_reproduces_them(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    repo.index.hide_late = True  # python -m localindex run --hide-late -- bumper lock
    for name in (CPU, CUDA, ROCM):
        (repo.folder(name) / LOCK).unlink()
    run = repo.ok("lock")
    assert run.out.splitlines() == [f"{IMAGES}/{name}/{LOCK}: updated"
                                    for name in (CPU, CUDA, ROCM)]
    for name in (CPU, CUDA, ROCM):
        assert lock_bytes(repo, name) == bundled(name), name
    assert repo.status() == ""


# --- upgrades -----------------------------------------------------------------------------------


def test_upgrade_moves_every_pin_to_the_late_versions(repo: Repo) -> None:
    old = lock_pins(repo.read(CPU, LOCK))
    run = repo.ok("lock", "--upgrade", CPU)
    assert run.out == f"{IMAGES}/{CPU}/{LOCK}: updated\n"
    new = lock_pins(repo.read(CPU, LOCK))
    moved = {name: version for name, version in new.items() if old.get(name) != version}
    assert moved == CPU_LATE
    assert set(new) == set(old)
    assert repo.read(CPU, LOCK).startswith(
        f"--index-url={CPU_INDEX}\n"
        "# This file was autogenerated by uv via the following command:\n"
        f"#    bumper lock {IMAGES}/{CPU}\n")
    # the other folders are not touched, and the new lock is current
    assert repo.git("status", "--porcelain") == f" M {IMAGES}/{CPU}/{LOCK}\n"
    assert repo.ok("lock", "--check", CPU).err == "1 lock up to date\n"


def test_upgrade_package_moves_only_that_package(repo: Repo) -> None:
    edit(repo, CPU, "pyproject.toml", '"starlette~=1.2.0"', '"starlette>=1.2.0"')
    # A looser constraint alone moves nothing: uv keeps the pins of the existing lock.
    assert repo.ok("lock", "--check", CPU).err == "1 lock up to date\n"
    old_text = repo.read(CPU, LOCK)
    old_hash = _hash(repo, CPU, "starlette")

    repo.ok("lock", "--upgrade-package", "starlette", CPU)
    new_text = repo.read(CPU, LOCK)
    old, new = lock_pins(old_text), lock_pins(new_text)
    assert {n: v for n, v in new.items() if old.get(n) != v} == {"starlette": "1.3.1"}
    assert set(new) == set(old)
    removed = [ln for ln in old_text.splitlines() if ln not in new_text.splitlines()]
    added = [ln for ln in new_text.splitlines() if ln not in old_text.splitlines()]
    assert removed == ["starlette==1.2.0 \\", f"    --hash=sha256:{old_hash}"]
    assert added == ["starlette==1.3.1 \\",
                     f"    --hash=sha256:{_hash_on_index(repo, 'starlette', '1.3.1')}"]


# --- header and index line ----------------------------------------------------------------------


def test_header_names_bumper_lock_and_first_line_the_public_index(repo: Repo) -> None:
    # a folder named by its bare name, an index line lost: both come back
    text = repo.read(CUDA, LOCK)
    first, rest = text.split("\n", 1)
    assert first == f"--index-url={public_index('cuda13.0-ubi9')}"
    repo.write(CUDA, LOCK, rest.replace(f"bumper lock {IMAGES}/{CUDA}", "uv pip compile x"))
    assert repo.bumper("lock", "--check", CUDA).code == 1  # the index line is not a comment
    run = repo.ok("lock", CUDA)
    assert run.out == f"{IMAGES}/{CUDA}/{LOCK}: updated\n"
    assert lock_bytes(repo, CUDA) == bundled(CUDA)


def test_space_form_of_the_index_line_is_kept(repo: Repo) -> None:
    text = repo.read(ROCM, LOCK)
    url = public_index("rocm6.4-ubi9")
    spaced = text.replace(f"--index-url={url}\n", f"--index-url {url}\n", 1)
    assert spaced != text
    repo.write(ROCM, LOCK, spaced)
    assert repo.ok("lock", "--check", ROCM).err == "1 lock up to date\n"
    assert repo.ok("lock", ROCM).out == f"{IMAGES}/{ROCM}/{LOCK}: unchanged\n"
    assert repo.read(ROCM, LOCK) == spaced

    # uv's own --emit-index-url style: a space and a blank line after it
    emitted = spaced.replace(f"--index-url {url}\n", f"--index-url {url}\n\n", 1)
    repo.write(ROCM, LOCK, emitted)
    repo.ok("lock", ROCM)
    assert repo.read(ROCM, LOCK) == emitted


def test_json_output_of_a_relock(repo: Repo) -> None:
    run = repo.ok("--format", "json", "lock", CPU)
    assert json.loads(run.out) == {"schema": 1, "command": "lock", "check": False, "ok": True,
                                   "folders": [{"path": f"{IMAGES}/{CPU}", "changed": False}]}
