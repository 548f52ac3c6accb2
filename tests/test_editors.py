"""The pure editors: property tests on arbitrary text and on the bundled example files.

- A rewrite with nothing to change returns its input byte for byte.
- Rewriting a folder's files from one stack to another and back gives the original bytes
  (the lock aside: only uv makes a lock).
- Unrelated numbers (``numpy>=2.0.0``, hashes, an arch list ``8.0;8.6;9.0``) are never
  touched, whatever the versions being bumped.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bumper import discover
from bumper.bump import answer_values
from bumper.config import load as load_config
from bumper.discover import INDEX_SEGMENT
from bumper.editors import answers, dockerfile, pyproject, repofile, requirements
from bumper.editors.tokens import Rewrite, leftover_patterns, scan
from bumper.model import Accel, NamingScheme, Stack

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images/universal/training"
FOLDERS = {"cuda": "th05-cuda130-torch291-py312", "rocm": "th05-rocm64-torch291-py312",
           "cpu": "th05-cpu-torch291-py312"}
SCHEME = NamingScheme()
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@cache
def load(flavor: str) -> discover.ImageDir:
    """An example folder as discover reads it (cached: the tests only read it)."""
    config = load_config(ROOT)
    return discover.load(config, IMAGES / FOLDERS[flavor])


def edit_folder(texts: dict[str, str], rw: Rewrite) -> dict[str, str]:
    """Every editor over a folder's files (the lock's body is uv's, so it is left out)."""
    out = {}
    for name, text in texts.items():
        if name == "Dockerfile":
            out[name] = dockerfile.rewrite(text, rw)
        elif name == "pyproject.toml":
            out[name] = pyproject.rewrite(text, rw)
        elif name.endswith(".repo"):
            out[name] = repofile.rewrite(text, rw)
        elif name == ".copier-answers.yml":
            out[name] = answers.rewrite(text, answer_values(rw, text))
        elif name == "requirements.txt":
            out[name] = requirements.rewrite(text, rw)
    return out


def moved_index(url: str | None, accel: Accel) -> str | None:
    if url is None:
        return None
    match = INDEX_SEGMENT.search(url)
    assert match
    return url[: match.start("seg")] + accel.index_segment + url[match.end("seg"):]


def rewrite_between(image: discover.ImageDir, old: Stack, new: Stack, old_name: str,
                    old_index: str | None) -> Rewrite:
    return Rewrite(old=old, new=new, old_name=old_name, new_name=SCHEME.render(new),
                   old_index=old_index, new_index=moved_index(old_index, new.accel))


def identity(image: discover.ImageDir) -> Rewrite:
    assert image.stack is not None
    return Rewrite(old=image.stack, new=image.stack, old_name=image.name, new_name=image.name,
                   old_index=image.index_url(), new_index=image.index_url())


# --- nothing to change -------------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
STACKS = st.builds(
    Stack,
    training_hub=st.sampled_from(["0.5.0", "0.6.0", "1.0.0", "2.0.0"]),
    accel=st.one_of(st.just(Accel("cpu")),
                    st.sampled_from(["12.8", "13.0", "8.0", "9.0"]).map(lambda v: Accel("cuda", v)),
                    st.sampled_from(["6.4.3", "7.1.1", "2.0.0"]).map(lambda v: Accel("rocm", v))),
    torch=st.sampled_from(["2.9.1", "2.10.0", "2.0.0"]),
    python=st.sampled_from(["3.12", "3.13", "3.8"]),
)


@PROPERTY
@given(text=ANY_TEXT, stack=STACKS, name=st.text(string.ascii_lowercase + "-0123456789",
                                                  min_size=1, max_size=30))
@example(text="ARG BASE_IMAGE=x:1\r\nARG PYTHON_VERSION=3.12\u2028tail", stack=Stack(
    "0.5.0", Accel("cuda", "13.0"), "2.9.1", "3.12"), name="th05-cuda130-torch291-py312")
def test_no_change_returns_any_text_byte_for_byte(text: str, stack: Stack, name: str) -> None:
    rw = Rewrite(old=stack, new=stack, old_name=name, new_name=name,
                 old_index="https://x.example/cuda13.0-ubi9/simple/",
                 new_index="https://x.example/cuda13.0-ubi9/simple/")
    assert dockerfile.rewrite(text, rw) == text
    assert pyproject.rewrite(text, rw) == text
    assert requirements.rewrite(text, rw) == text
    assert repofile.rewrite(text, rw) == text
    assert answers.rewrite(text, {}) == text
    assert answers.rewrite(text, answer_values(rw, text)) == text


@pytest.mark.parametrize("flavor", sorted(FOLDERS))
def test_no_change_returns_the_example_files_byte_for_byte(flavor: str) -> None:
    image = load(flavor)
    edited = edit_folder(image.texts, identity(image))
    assert set(edited) >= {"Dockerfile", "pyproject.toml", "requirements.txt",
                           ".copier-answers.yml"}
    assert edited == {name: image.texts[name] for name in edited}


NOISE = st.lists(st.tuples(st.integers(0, 60), st.sampled_from([
    "# a comment with 13.0, 6.4.3, 2.9.1 and 3.12 in it",
    "", "   ", "# ünïcode — and trailing space   ", "#",
])), max_size=6)
FOREIGN = st.builds(
    Stack,
    training_hub=st.sampled_from(["7.7.7", "8.1.0"]),
    accel=st.sampled_from([Accel("cuda", "11.1"), Accel("rocm", "5.5.5"), Accel("cpu")]),
    torch=st.sampled_from(["1.1.1", "1.13.0"]),
    python=st.sampled_from(["3.7", "3.9"]),
)


@PROPERTY
@given(flavor=st.sampled_from(sorted(FOLDERS)), noise=NOISE, old=FOREIGN, new=FOREIGN)
def test_a_rewrite_that_finds_nothing_keeps_the_toml_byte_for_byte(
        flavor: str, noise: list[tuple[int, str]], old: Stack, new: Stack) -> None:
    """tomlkit parses and writes the file again: comments, blank lines, quotes and order
    survive when no value of the old stack is in it."""
    lines = load(flavor).texts["pyproject.toml"].splitlines(keepends=True)
    for position, extra in noise:
        # between top-level statements only (inside the array a line is an item)
        spot = min(position, len(lines))
        if spot and lines[spot - 1].startswith(("    ", "dependencies")):
            continue
        lines.insert(spot, extra + "\n")
    text = "".join(lines)
    rw = Rewrite(old=old, new=new, old_name="not-in-the-file", new_name="still-not",
                 old_index="https://nowhere.example/simple/", new_index="https://else/simple/")
    assert pyproject.rewrite(text, rw) == text


# --- there and back -------------------------------------------------------------------------


ROUND_TRIPS = [
    ("cuda", {"accel": Accel("cuda", "12.8")}),
    ("rocm", {"accel": Accel("rocm", "7.1.1")}),
    ("cuda", {"torch": "2.10.0"}),
    ("rocm", {"torch": "2.10.0"}),
    ("cpu", {"torch": "2.10.0"}),
    ("cuda", {"training_hub": "0.6.0"}),
    ("rocm", {"training_hub": "0.6.0"}),
    ("cpu", {"training_hub": "0.6.0"}),
    ("cuda", {"python": "3.13"}),
    ("rocm", {"python": "3.13"}),
    ("cpu", {"python": "3.13"}),
    ("cuda", {"accel": Accel("cuda", "12.8"), "torch": "2.10.0", "training_hub": "0.6.0",
              "python": "3.13"}),
]


def there_and_back(flavor: str, changes: dict[str, object]) -> tuple[dict[str, str], ...]:
    image = load(flavor)
    assert image.stack is not None
    start = image.stack
    target = start.with_changes(**changes)
    forth = rewrite_between(image, start, target, image.name, image.index_url())
    there = edit_folder(image.texts, forth)
    back = rewrite_between(image, target, start, forth.new_name, forth.new_index)
    again = edit_folder(there, back)
    return image.texts, there, again


@pytest.mark.parametrize(("flavor", "changes"), ROUND_TRIPS)
def test_there_and_back_gives_the_original_bytes(flavor: str,
                                                 changes: dict[str, object]) -> None:
    original, there, again = there_and_back(flavor, changes)
    changed = [name for name in there if there[name] != original[name]]
    assert "Dockerfile" in changed and "pyproject.toml" in changed
    assert again == {name: original[name] for name in again}


@pytest.mark.parametrize(("flavor", "changes"), ROUND_TRIPS)
def test_the_forward_rewrite_leaves_no_old_token_it_knows(flavor: str,
                                                         changes: dict[str, object]) -> None:
    image = load(flavor)
    assert image.stack is not None
    _, there, _ = there_and_back(flavor, changes)
    patterns = leftover_patterns(image.stack, image.stack.with_changes(**changes))
    found = [str(item) for name, text in there.items() if name != "requirements.txt"
             for item in scan(name, text, patterns)]
    assert found == []


CUDA_VERSIONS = st.tuples(st.integers(10, 19), st.integers(0, 9)).map(lambda t: f"{t[0]}.{t[1]}")
ROCM_VERSIONS = st.tuples(st.integers(5, 9), st.integers(0, 9), st.integers(0, 9)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}")
TORCH_VERSIONS = st.tuples(st.integers(2, 3), st.integers(0, 15), st.integers(0, 5)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}")
TH_VERSIONS = st.tuples(st.integers(0, 1), st.integers(1, 19), st.integers(0, 5)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}")
PY_VERSIONS = st.integers(10, 15).map(lambda m: f"3.{m}")


def _forms(stack: Stack) -> list[str]:
    """The tokens a stack shows in files: full, dashed and compact versions."""
    accel = stack.accel
    out = [stack.torch, stack.training_hub, stack.python, SCHEME.render(stack)]
    out += [f"torch{SCHEME.render(stack).split('-torch')[1].split('-')[0]}",
            f"py{stack.python.replace('.', '')}"]
    if accel.version:
        out += [accel.version, accel.version.replace(".", "-"), accel.compact,
                accel.index_segment, ".".join(accel.version.split(".")[:2])]
    return out


@PROPERTY
@given(flavor=st.sampled_from(sorted(FOLDERS)), cuda=CUDA_VERSIONS, rocm=ROCM_VERSIONS,
       torch=TORCH_VERSIONS, th=TH_VERSIONS, python=PY_VERSIONS,
       which=st.sets(st.sampled_from(["accel", "torch", "training_hub", "python"]),
                     min_size=1))
def test_there_and_back_with_any_versions(flavor: str, cuda: str, rocm: str, torch: str,
                                          th: str, python: str, which: set[str]) -> None:
    image = load(flavor)
    assert image.stack is not None
    start = image.stack
    values: dict[str, object] = {"torch": torch, "training_hub": th, "python": python,
                                 "accel": start.accel}
    if "accel" in which and start.accel.kind != "cpu":
        values["accel"] = Accel(start.accel.kind, cuda if start.accel.kind == "cuda" else rocm)
    target = start.with_changes(**{k: v for k, v in values.items() if k in which})
    assume(target != start)
    # a new token that the files already hold (for something else) cannot be told apart
    everything = "\n".join(image.texts.values())
    for old_form, new_form in zip(_forms(start), _forms(target), strict=True):
        if old_form != new_form:
            assume(new_form not in everything)
    forth = rewrite_between(image, start, target, image.name, image.index_url())
    there = edit_folder(image.texts, forth)
    back = rewrite_between(image, target, start, forth.new_name, forth.new_index)
    assert edit_folder(there, back) == {name: image.texts[name] for name in there}


# --- unrelated numbers ----------------------------------------------------------------------

UNRELATED = [
    '    "numpy>=2.0.0,<2.4",',
    "    --hash=sha256:0022447b04dcfd4be63d9eb562f48c2cb194b9fa41e2f787eb798e83160009bc",
    '    TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0" \\',
    'version = "1.0.0"',
    "        libibverbs-utils-2.0.0 \\",
    "# released 2025-12-08, build 130, 8.0/9.0 GPUs, 312 MB",
]
HASH = st.text("0123456789abcdef", min_size=64, max_size=64)


@PROPERTY
@given(old=STACKS, new=STACKS, digest=HASH)
@example(old=Stack("2.0.0", Accel("cuda", "9.0"), "2.0.0", "3.12"),
         new=Stack("0.6.0", Accel("cuda", "8.0"), "2.10.0", "3.13"), digest="13" * 32)
def test_unrelated_numbers_are_never_touched(old: Stack, new: Stack, digest: str) -> None:
    assume(old.accel.kind == new.accel.kind)
    lines = [*UNRELATED, f"    --hash=sha256:{digest}"]
    text = "\n".join(lines) + "\n"
    rw = Rewrite(old=old, new=new, old_name=SCHEME.render(old), new_name=SCHEME.render(new))
    assert dockerfile.rewrite(text, rw) == text
    assert repofile.rewrite(text, rw) == text
    assert requirements.rewrite(text, rw) == text
    toml = (f'[project]\nname = "x"\nversion = "1.0.0"\nrequires-python = "=={old.python}.*"\n'
            'dependencies = [\n    "numpy>=2.0.0,<2.4",\n    "flash-attn==2.0.0",\n'
            f'    "torch=={old.torch}",\n]\n# TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0"\n')
    out = pyproject.rewrite(toml, rw)
    for line in ('    "numpy>=2.0.0,<2.4",', '    "flash-attn==2.0.0",', 'version = "1.0.0"',
                 '# TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0"'):
        assert line in out.splitlines()
    assert f'    "torch=={new.torch}",' in out.splitlines()


def test_leftover_scan_skips_hashes_and_reports_path_line_text() -> None:
    old = Stack("0.5.0", Accel("cuda", "13.0"), "2.9.1", "3.12")
    new = old.with_changes(accel=Accel("cuda", "12.8"))
    text = ("ok line\n"
            "    --hash=sha256:13013013013013013013013013013013013013013013013013013013013013ab\n"
            'ENV NVIDIA_REQUIRE_CUDA="cuda>=13.0"\n'
            "        libnccl-2.28.7-1+cuda13.3 \\\n"
            '    TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0" \\\n')
    found = [str(item) for item in scan("d/Dockerfile", text, leftover_patterns(old, new))]
    assert found == ['d/Dockerfile:3: ENV NVIDIA_REQUIRE_CUDA="cuda>=13.0"',
                     "d/Dockerfile:4: libnccl-2.28.7-1+cuda13.3 \\"]


def test_rocm_repo_file_release_lines_and_paths_only() -> None:
    old = Stack("0.5.0", Accel("rocm", "6.4.3"), "2.9.1", "3.12")
    new = old.with_changes(accel=Accel("rocm", "7.1.1"))
    text = ("# mirrors 6.4.3 until June\n[amdgraphics-6.4.3]\nname=AMD graphics 6.4.3\n"
            "baseurl=https://repo.radeon.com/graphics/6.4.3/rhel/9/main/x86_64\n"
            "gpgkey=https://example.com/keys/6.4.3.gpg\npriority=64\n")
    rw = Rewrite(old=old, new=new, old_name="a", new_name="b")
    assert repofile.rewrite(text, rw) == (
        "# mirrors 6.4.3 until June\n[amdgraphics-7.1.1]\nname=AMD graphics 7.1.1\n"
        "baseurl=https://repo.radeon.com/graphics/7.1.1/rhel/9/main/x86_64\n"
        "gpgkey=https://example.com/keys/7.1.1.gpg\npriority=64\n")
    # what stays is reported
    found = [str(item) for item in scan("rocm.repo", repofile.rewrite(text, rw),
                                        leftover_patterns(old, new))]
    assert found == ["rocm.repo:1: # mirrors 6.4.3 until June"]


def test_pyproject_keeps_extras_markers_and_comments() -> None:
    text = ('[project]\nname = "universal-training-th05-cuda130-torch291-py312"\n'
            'dependencies = [\n    # pinned together\n    "training_hub[lora]==0.5.0",\n'
            "    'torch==2.9.1 ; sys_platform == \"linux\"',  # the build\n]\n")
    old = Stack("0.5.0", Accel("cuda", "13.0"), "2.9.1", "3.12")
    new = old.with_changes(training_hub="0.6.0", torch="2.10.0")
    rw = Rewrite(old=old, new=new, old_name=SCHEME.render(old), new_name=SCHEME.render(new))
    out = pyproject.rewrite(text, rw)
    assert out == text.replace("th05", "th06").replace("torch291", "torch210").replace(
        "0.5.0", "0.6.0").replace("2.9.1", "2.10.0")
    assert re.search(r"'torch==2\.10\.0 ; sys_platform == \"linux\"',  # the build", out)


def test_requirements_repin_replaces_the_pin_and_its_hashes_only() -> None:
    text = ("--index-url=https://x/simple/\nanyio==4.11.0 \\\n    --hash=sha256:aa\n"
            "    # via starlette\nstarlette==1.2.0 \\\n    --hash=sha256:bb \\\n"
            "    --hash=sha256:cc\n    # via fastapi\n")
    out = requirements.repin(text, "Starlette", "1.3.1", ["sha256:dd"])
    assert out == text.replace("starlette==1.2.0 \\\n    --hash=sha256:bb \\\n"
                               "    --hash=sha256:cc\n",
                               "starlette==1.3.1 \\\n    --hash=sha256:dd\n")
    with pytest.raises(KeyError):
        requirements.repin(text, "missing", "1.0", [])


# --- answers without PyYAML -----------------------------------------------------------------

SCALAR_TEXT = st.one_of(
    st.text(alphabet="0123456789.", min_size=1, max_size=8),
    st.text(alphabet=string.ascii_letters + string.digits + "_.-:/@+", min_size=1,
            max_size=30),
    st.sampled_from(["13.0", "7.1.1", "3.12", "3.4-EA1", "true", "No", "~", "null", "0777",
                     "0x1F", "1_000", "2025-01-01", "1:20", "+1", ".5", "1e5", "1.0e+5",
                     "a:", "-x", ".inf", "2e4a2f2", "it's", "", " padded ", "two words"]),
    st.text(max_size=20),
)


@PROPERTY
@given(value=SCALAR_TEXT)
def test_answers_write_and_read_scalars_as_pyyaml_does(value: str) -> None:
    import yaml

    dumped = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)
    assert answers.scalar(value) == dumped.removesuffix("\n...\n").rstrip("\n")
    text = f"# Copier's header\n_src_path: .\nkey: {answers.scalar(value)}\n"
    loaded = yaml.safe_load(text)
    assert answers.read(text) == {k: str(v) for k, v in loaded.items()}
