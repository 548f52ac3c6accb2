"""`bumper align`: each image resolved by real uv with its Training Hub (or a target),
against the folder's indexes on the local index; uv's conflicts in bumper's words.

Training Hub 0.7.0 and the packages of the cases below are only on the next release's
test index (cuda13.0-ubi9-test in localindex/universe.toml): 0.7.0 needs
transformers>=4.57.3, urllib3>=2.6 (kubernetes, pulled in by mlflow, caps it below 2.6),
Python >=3.11, and under [cuda] mamba-ssm[causal-conv1d], whose causal-conv1d>=1.6.0
the index lacks.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from tests.bumprepo import (
    CPU,
    CUDA,
    IMAGES,
    ROCM,
    Repo,
    lock_pins,
    public_index,
    uv_compile_of,
    wait_for,
)

TH07 = "th07-cuda130-torch291-py312"  # a hand-made copy of the cuda folder (not a real bump)
TEST_INDEX = public_index("cuda13.0-ubi9-test")
CUDA_INDEX = public_index("cuda13.0-ubi9")
MLFLOW = ('"mlflow-skinny>=3.4.0",', '"mlflow-skinny>=3.4.0",\n    "mlflow==3.5.0",')


def line_of(repo: Repo, folder: str, needle: str) -> int:
    lines = repo.read(folder, "pyproject.toml").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def hand_made(repo: Repo, *edits: tuple[str, str], hub: str = '"training_hub[lora]==0.7.0"',
              name: str = TH07) -> str:
    """A copy of the cuda folder on the test index, with this training_hub pin and ``edits``."""
    if not repo.folder(name).exists():
        shutil.copytree(repo.folder(CUDA), repo.folder(name))
    text = repo.read(CUDA, "pyproject.toml")
    for old, new in (('"training_hub[lora]==0.5.0"', hub), (CUDA_INDEX, TEST_INDEX), *edits):
        assert old in text, old
        text = text.replace(old, new)
    repo.write(name, "pyproject.toml", text)
    return f"{IMAGES}/{name}"


def aligns(rel: str, hub: str = "training-hub 0.7.0 [lora]", index: str = TEST_INDEX) -> str:
    return f"{rel}: {hub} aligns: resolved with the image on {index} (Python 3.12, linux)\n"


def fails(rel: str, hub: str = "training-hub 0.7.0 [lora]", count: int = 1) -> str:
    return (f"{rel}: {hub} does not resolve with the image "
            f"({count} finding{'s' if count != 1 else ''})\n")


def not_resolved(repo: Repo, *args: str) -> str:
    """stdout of an align that finds no resolution (exit 1)."""
    run = repo.bumper("align", *args)
    assert run.code == 1, str(run)
    return run.out


def transformers_conflict(rel: str, line: int, mine: str) -> str:
    return (f"{rel}/pyproject.toml:{line}: training-hub 0.7.0 [lora] -> transformers>=4.57.3 "
            f"conflicts with the image's {mine} (change this line; the index has "
            "transformers 4.57.3, 4.57.1)\n")


def test_the_examples_align(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("align")
    assert run.out == ""
    assert run.err == "".join(
        aligns(f"{IMAGES}/{name}", f"training-hub 0.5.0{extras}", public_index(segment))
        for name, extras, segment in ((CPU, "", "cpu-ubi9"), (CUDA, " [lora]", "cuda13.0-ubi9"),
                                      (ROCM, " [lora]", "rocm6.4-ubi9")))
    repo.assert_untouched(before, head)


def test_a_transitive_conflict_two_levels_deep(repo: Repo) -> None:
    # mlflow -> kubernetes -> urllib3<2.6, against training-hub 0.7.0's urllib3>=2.6
    rel = hand_made(repo, MLFLOW)
    line = line_of(repo, TH07, '"mlflow==3.5.0"')
    before = repo.snapshot()
    run = repo.bumper("align", TH07)
    assert run.code == 1, str(run)
    assert run.out == (
        f"{rel}/pyproject.toml:{line}: training-hub 0.7.0 [lora] -> urllib3>=2.6 conflicts "
        "with the image's mlflow -> kubernetes -> urllib3<2.6 (change this line; the index "
        "has urllib3 2.6.0, 2.5.0)\n")
    assert run.err == fails(rel)
    assert repo.snapshot() == before  # nothing written in the tree, not even a lock

    # control: the same image with a Training Hub that has no urllib3 floor
    hand_made(repo, MLFLOW, hub='"training_hub[lora]==0.6.0"')
    run = repo.ok("align", TH07)
    assert (run.out, run.err) == ("", aligns(rel, "training-hub 0.6.0 [lora]"))


def test_a_nested_extra_the_index_lacks(repo: Repo) -> None:
    rel = hand_made(repo, ('"mamba-ssm==2.2.6"', '"mamba-ssm>=2.2.6"'),
                    ('    "causal-conv1d==1.5.3",\n', ""), hub='"training_hub[lora,cuda]==0.7.0"')
    line = line_of(repo, TH07, "training_hub[")
    run = repo.bumper("align", TH07)
    assert run.code == 1, str(run)
    assert run.out == (
        f"{rel}/pyproject.toml:{line}: training-hub 0.7.0 [lora,cuda] -> mamba-ssm[causal-conv1d]"
        " -> causal-conv1d>=1.6.0: not on the index (it has 1.5.3); request it from the index "
        "owners\n"
        f"Please add to {TEST_INDEX}:\n"
        f"  causal-conv1d>=1.6.0    # for training-hub ({rel})\n")
    assert run.err == fails(rel, "training-hub 0.7.0 [lora,cuda]")


def test_a_line_for_another_python_is_left_out(repo: Repo) -> None:
    marked = "\"transformers==4.57.1 ; python_version < '3.12'\""
    rel = hand_made(repo, ('"transformers>=4.57.1,<5"', marked))
    run = repo.ok("align", TH07)
    assert (run.out, run.err) == ("", aligns(rel))

    # control: the same pin for every Python does conflict
    hand_made(repo, ('"transformers>=4.57.1,<5"', '"transformers==4.57.1"'))
    line = line_of(repo, TH07, '"transformers==4.57.1"')
    assert not_resolved(repo, TH07) == transformers_conflict(rel, line, "transformers==4.57.1")


def test_a_package_listed_twice_is_combined(repo: Repo) -> None:
    # each line alone allows 4.57.3 or 4.57.1; together with >=4.57.3 nothing is left
    rel = hand_made(repo, ('"transformers>=4.57.1,<5"',
                           '"transformers>=4.57.0",\n    "transformers<4.57.3"'))
    cap = line_of(repo, TH07, '"transformers<4.57.3"')
    assert not_resolved(repo, TH07) == transformers_conflict(rel, cap, "transformers<4.57.3")


def test_requires_python_is_checked(repo: Repo) -> None:
    rel = hand_made(repo, ('requires-python = "==3.12.*"', 'requires-python = "==3.10.*"'))
    line = line_of(repo, TH07, "requires-python")
    assert not_resolved(repo, TH07) == (
        f"{rel}/pyproject.toml:{line}: training-hub 0.7.0 [lora] requires Python >=3.11, but "
        'the image has requires-python = "==3.10.*" (change this line, or keep a Training Hub '
        "for this Python)\n")


def test_every_folder_is_reported_when_one_fails(repo: Repo) -> None:
    conflict = hand_made(repo, MLFLOW)
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace('"training_hub==0.5.0"', '"training_hub"'))
    run = repo.bumper("align", CUDA, CPU, TH07)
    assert run.code == 2, str(run)  # the worst: B's usage error, over C's conflict
    line = line_of(repo, TH07, '"mlflow==3.5.0"')
    assert run.out.startswith(f"{conflict}/pyproject.toml:{line}: training-hub 0.7.0 [lora] ->")
    assert run.out.count("\n") == 1
    assert run.err == (
        aligns(f"{IMAGES}/{CUDA}", "training-hub 0.5.0 [lora]", CUDA_INDEX)
        + f"bumper: error: {IMAGES}/{CPU}/pyproject.toml: no training_hub==X.Y.Z pin to align "
        "with\n" + fails(conflict))

    data = repo.bumper("align", CUDA, CPU, TH07, "--format", "json").json()
    assert [(f["path"], f["resolved"], f["error"] is None, len(f["conflicts"]))
            for f in data["folders"]] == [  # type: ignore[attr-defined]
        (f"{IMAGES}/{CUDA}", True, True, 0), (f"{IMAGES}/{CPU}", False, False, 0),
        (conflict, False, True, 1)]


def test_a_target_predicts_what_major_changes(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("align", "--training-hub", "0.6.0")
    repo.assert_untouched(before, head)
    cuda, rocm = (line_of(repo, name, '"peft>=0.17.0"') for name in (CUDA, ROCM))
    floor = ("training-hub 0.6.0 [lora] requires peft>=0.18.0, above this line's floor "
             "(peft>=0.17.0): raise it to match")
    assert run.out == (
        f"{IMAGES}/{CUDA}/pyproject.toml:{cuda}: {floor}\n"
        f"{IMAGES}/{CUDA}/requirements.txt: training-hub 0.5.0 -> 0.6.0 (with training-hub "
        "0.6.0 [lora])\n"
        f"{IMAGES}/{ROCM}/pyproject.toml:{rocm}: {floor}\n"
        f"{IMAGES}/{ROCM}/requirements.txt: training-hub 0.5.0 -> 0.6.0 (with training-hub "
        "0.6.0 [lora])\n"
        f"{IMAGES}/{CPU}/requirements.txt: training-hub 0.5.0 -> 0.6.0 (with training-hub "
        "0.6.0)\n")
    predicted = {f["path"]: {(c["name"], c["from"], c["to"]) for c in f["changes"]}
                 for f in repo.ok("align", "--training-hub", "0.6.0", "--format",
                                  "json").json()["folders"]}  # type: ignore[index]

    repo.ok("major", "--training-hub", "0.6.0", "--yes")
    made = {}
    for name in (CUDA, ROCM, CPU):
        new = name.replace("th05", "th06")
        old_pins = lock_pins(repo.read(name, "requirements.txt"))
        new_pins = lock_pins(repo.read(new, "requirements.txt"))
        made[f"{IMAGES}/{name}"] = {(n, old_pins.get(n), new_pins.get(n))
                                    for n in old_pins.keys() | new_pins.keys()
                                    if old_pins.get(n) != new_pins.get(n)}
    assert made == predicted


def test_a_target_that_moves_pins_and_raises_a_floor(repo: Repo) -> None:
    # the cuda folder on the test index: 0.7.0 needs transformers>=4.57.3 and urllib3>=2.6
    for file in ("pyproject.toml", "Dockerfile", "requirements.txt"):
        repo.write(CUDA, file, repo.read(CUDA, file).replace(CUDA_INDEX, TEST_INDEX))
    repo.commit_all("cuda folder on the test index")
    line = line_of(repo, CUDA, '"transformers>=4.57.1,<5"')
    peft = line_of(repo, CUDA, '"peft>=0.17.0"')
    run = repo.ok("align", "--training-hub", "0.7.0", CUDA)
    lock = f"{IMAGES}/{CUDA}/requirements.txt"
    assert run.out == (
        f"{IMAGES}/{CUDA}/pyproject.toml:{line}: training-hub 0.7.0 [lora] requires "
        "transformers>=4.57.3, above this line's floor (transformers>=4.57.1,<5): raise it "
        "to match\n"
        f"{IMAGES}/{CUDA}/pyproject.toml:{peft}: training-hub 0.7.0 [lora] requires "
        "peft>=0.18.0, above this line's floor (peft>=0.17.0): raise it to match\n"
        f"{lock}: training-hub 0.5.0 -> 0.7.0 (with training-hub 0.7.0 [lora])\n"
        f"{lock}: transformers 4.57.1 -> 4.57.3 (with training-hub 0.7.0 [lora])\n"
        f"{lock}: urllib3 2.5.0 -> 2.6.0 (with training-hub 0.7.0 [lora])\n")
    old_pins = lock_pins(repo.read(CUDA, "requirements.txt"))
    repo.ok("major", "--training-hub", "0.7.0", "--from", CUDA, "--yes")
    new_pins = lock_pins(repo.read("th07-cuda130-torch291-py312", "requirements.txt"))
    assert {(n, old_pins.get(n), new_pins.get(n)) for n in old_pins.keys() | new_pins.keys()
            if old_pins.get(n) != new_pins.get(n)} == {
        ("training-hub", "0.5.0", "0.7.0"), ("transformers", "4.57.1", "4.57.3"),
        ("urllib3", "2.5.0", "2.6.0")}


def test_major_refuses_a_training_hub_that_cannot_resolve(repo: Repo) -> None:
    # 0.7.0 is only on the test index: not on the bundled folders' own indexes
    before, head = repo.snapshot(), repo.head()
    run = repo.fails(1, "major", "--training-hub", "0.7.0", "--from", CUDA, "--yes")
    line = line_of(repo, CUDA, "training_hub[")
    new = f"{IMAGES}/th07-cuda130-torch291-py312"
    assert run.err == (
        f"bumper: error: training-hub 0.7.0 does not resolve: {new}/pyproject.toml:{line}: "
        f"training-hub==0.7.0 is not on the index (it has 0.6.0, 0.5.0); request it from the "
        "index owners; see bumper align --training-hub 0.7.0, or pass --no-align to bump "
        "anyway\n")
    assert run.out == ""
    repo.assert_untouched(before, head)

    # the same request through align names the folder it starts from, and the request list
    run = repo.bumper("align", "--training-hub", "0.7.0", CUDA)
    assert run.code == 1, str(run)
    assert run.out == (
        f"{IMAGES}/{CUDA}/pyproject.toml:{line}: training-hub==0.7.0 is not on the index (it "
        "has 0.6.0, 0.5.0); request it from the index owners\n"
        f"Please add to {CUDA_INDEX}:\n"
        f"  training-hub==0.7.0    # for training-hub ({IMAGES}/{CUDA})\n")
    repo.assert_untouched(before, head)


def test_no_align_bumps_anyway(repo: Repo) -> None:
    run = repo.ok("major", "--training-hub", "0.7.0", "--from", CUDA, "--no-align",
                  "--no-lock", "--yes")
    assert "th07-cuda130-torch291-py312" in repo.folders(), str(run)


def test_extras_and_a_target(repo: Repo) -> None:
    run = repo.bumper("align", "--extras", "lora", CUDA)
    assert run.code == 2, str(run)
    assert "--extras goes with --training-hub VERSION" in run.err
    # the target with other extras: cpu without [lora] -> with it, peft's floor applies
    run = repo.ok("align", "--training-hub", "0.6.0", "--extras", "lora", CPU)
    assert "training-hub 0.6.0 [lora] aligns" in run.err


def test_every_index_of_the_folder_and_its_uv_settings(repo: Repo) -> None:
    # training-hub 0.7.0 only on the second index: with uv's default (the first index that
    # has the project), 0.7.0 is not found; the folder's index-strategy makes it resolve
    rel = hand_made(repo, hub='"training_hub[lora]==0.7.0"')
    text = repo.read(TH07, "pyproject.toml").replace(
        f'index-url = "{TEST_INDEX}"',
        f'index-url = "{TEST_INDEX}"\nextra-index-url = ["{CUDA_INDEX}"]')
    repo.write(TH07, "pyproject.toml", text)
    line = line_of(repo, TH07, "training_hub[")
    run = repo.bumper("align", TH07)  # uv asks the extra index first
    assert run.code == 1, str(run)
    assert run.out == (
        f"{rel}/pyproject.toml:{line}: training-hub==0.7.0: {CUDA_INDEX} is the first index "
        "with training-hub and lacks it, a later index of the folder has it (with equally "
        'trusted indexes, set index-strategy = "unsafe-best-match" in [tool.uv])\n')

    repo.write(TH07, "pyproject.toml", text + 'index-strategy = "unsafe-best-match"\n')
    run = repo.ok("align", TH07)
    assert run.err == aligns(rel, index=f"{TEST_INDEX}, {CUDA_INDEX}")

    # a [tool.uv] constraint is part of the image: its line is the one to change
    repo.write(TH07, "pyproject.toml", text + 'index-strategy = "unsafe-best-match"\n'
               'constraint-dependencies = [\n    "urllib3<2.6",\n]\n')
    cap = line_of(repo, TH07, '"urllib3<2.6"')
    run = repo.bumper("align", TH07)
    assert run.code == 1, str(run)
    assert run.out == (f"{rel}/pyproject.toml:{cap}: training-hub 0.7.0 [lora] -> urllib3>=2.6 "
                       "conflicts with the image's urllib3<2.6 (change this line; the index has "
                       "urllib3 2.6.0, 2.5.0)\n")


def test_interrupt_stops_every_uv_and_leaves_nothing(faulty_repo: Repo, tmp_path: Path) -> None:
    from tests.test_atomic import finish, no_uv_left, one_error_line

    repo = faulty_repo
    assert repo.index is not None
    repo.index.delay = 0.2  # keep the three resolutions running
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    repo.extra_env["TMPDIR"] = str(scratch)
    before, head = repo.snapshot(), repo.head()
    proc = repo.start("align")
    try:
        uv = wait_for(lambda: len(uv_compile_of(proc)) == 3 and uv_compile_of(proc),
                      what="three uv pip compile to start")
        assert isinstance(uv, list)
        proc.send_signal(signal.SIGINT)
        code, out, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (code, out) == (130, ""), err
    assert one_error_line(err) == "bumper: interrupted"
    no_uv_left(proc.pid, uv)
    assert list(scratch.iterdir()) == []  # no temporary folder of a resolution left
    repo.assert_untouched(before, head)
