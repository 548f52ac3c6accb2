"""`bumper align`: training-hub's Requires-Dist (its extras too), read from the index, against
the image's own constraints and what the index has."""

from __future__ import annotations

import shutil

from tests.bumprepo import CPU, CUDA, IMAGES, ROCM, Repo, public_index

TH06 = "th06-cuda130-torch291-py312"  # a hand-made copy of the cuda folder (not a real bump)
CUDA_INDEX = public_index("cuda13.0-ubi9")


def line_of(repo: Repo, folder: str, needle: str) -> int:
    lines = repo.read(folder, "pyproject.toml").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def hand_bump(repo: Repo, peft: str = '"peft>=0.17.0,<0.18"') -> None:
    """training_hub[lora] 0.5.0 -> 0.6.0 by hand, in a copy of the cuda folder."""
    shutil.copytree(repo.folder(CUDA), repo.folder(TH06))
    text = repo.read(TH06, "pyproject.toml")
    for old, new in (('"training_hub[lora]==0.5.0"', '"training_hub[lora]==0.6.0"'),
                     ('"peft>=0.17.0"', peft)):
        assert text.count(old) == 1
        text = text.replace(old, new)
    repo.write(TH06, "pyproject.toml", text)


def test_the_examples_align(repo: Repo) -> None:
    before, head = repo.snapshot(), repo.head()
    run = repo.ok("align")
    assert run.out == ""
    assert run.err == "".join(f"{IMAGES}/{name}: training-hub 0.5.0 aligns with the image and "
                              "its index\n" for name in (CPU, CUDA, ROCM))
    repo.assert_untouched(before, head)


def test_training_hub_0_6_needs_a_newer_peft_than_the_image_allows(repo: Repo) -> None:
    hand_bump(repo)
    line = line_of(repo, TH06, '"peft>=0.17.0,<0.18"')
    run = repo.bumper("align", TH06)
    assert run.code == 1, str(run)
    assert run.out == (f"{IMAGES}/{TH06}/pyproject.toml:{line}: training-hub 0.6.0 requires "
                       "peft>=0.18.0, the image allows peft>=0.17.0,<0.18: no version on the "
                       "index satisfies both (index has 0.18.0, 0.17.1)\n")
    assert run.err == ""

    data = repo.bumper("align", TH06, CUDA, "--format", "json").json()
    assert data == {
        "schema": 1, "command": "align", "ok": False,
        "folders": [
            {"path": f"{IMAGES}/{TH06}", "training_hub": "0.6.0",
             "conflicts": [{"line": line, "requirement": 'peft>=0.18.0; extra == "lora"',
                            "message": "training-hub 0.6.0 requires peft>=0.18.0, the image "
                                       "allows peft>=0.17.0,<0.18: no version on the index "
                                       "satisfies both (index has 0.18.0, 0.17.1)"}]},
            {"path": f"{IMAGES}/{CUDA}", "training_hub": "0.5.0", "conflicts": []},
        ]}


def test_what_the_index_lacks_is_reported(faulty_repo: Repo) -> None:
    repo = faulty_repo
    assert repo.index is not None
    hand_bump(repo, peft='"peft>=0.17.0"')
    repo.index.hide("trl", index="cuda13.0-ubi9")  # a requirement of the [lora] extra
    repo.index.hide("peft", "0.18.0")  # only an older peft left
    trl = line_of(repo, TH06, '"trl==0.24.0"')
    peft = line_of(repo, TH06, '"peft>=0.17.0"')
    run = repo.bumper("align", TH06)
    assert run.code == 1, str(run)
    assert run.out == (
        f"{IMAGES}/{TH06}/pyproject.toml:{peft}: training-hub 0.6.0 requires peft>=0.18.0, "
        "but the index has only 0.17.1 (request one from the index owners)\n"
        f"{IMAGES}/{TH06}/pyproject.toml:{trl}: training-hub 0.6.0 requires trl>=0.24.0, "
        "which the index does not have (request it from the index owners)\n")

    repo.index.hide("training-hub", "0.6.0")
    hub = line_of(repo, TH06, '"training_hub[lora]==0.6.0"')
    run = repo.bumper("align", TH06)
    assert run.code == 1, str(run)
    assert run.out == (f"{IMAGES}/{TH06}/pyproject.toml:{hub}: training-hub 0.6.0 is not on "
                       f"{CUDA_INDEX} (request it from the index owners)\n")


def test_requirements_of_extras_the_image_does_not_use_are_ignored(repo: Repo) -> None:
    # the cpu image pins training_hub without [lora]: peft's requirement does not apply
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace('"training_hub==0.5.0"',
                                                   '"training_hub==0.6.0"').replace(
        '"peft>=0.17.0"', '"peft>=0.17.0,<0.18"'))
    run = repo.ok("align", CPU)
    assert run.err == f"{IMAGES}/{CPU}: training-hub 0.6.0 aligns with the image and its index\n"


def test_a_folder_without_a_training_hub_pin(repo: Repo) -> None:
    text = repo.read(CPU, "pyproject.toml")
    repo.write(CPU, "pyproject.toml", text.replace('"training_hub==0.5.0"', '"training_hub"'))
    run = repo.fails(2, "align", CPU)
    assert run.err == (f"bumper: error: {IMAGES}/{CPU}/pyproject.toml: no training_hub==X.Y.Z "
                       "pin to align with\n")
