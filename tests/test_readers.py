"""The pure readers of bumper/formats on tricky inputs: text in, facts out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bumper.formats import dockerfile, pyproject, requirements

URL = "https://packages.example.com/api/pypi/public-rhai/rhoai/3.4-EA1/cuda13.0-ubi9/simple/"


# --- Dockerfile ---------------------------------------------------------------------------


def test_instructions_join_continuations_and_drop_comments_inside_them() -> None:
    text = (
        "# header\n"
        "FROM x AS base\n"
        "RUN dnf install -y \\\n"
        "        gcc \\\n"
        "    # a comment inside the continuation, Docker drops it \\\n"
        "\n"
        "        make \\\n"
        "    && dnf clean all\n"
        "USER 1001\n"
    )
    ins = dockerfile.instructions(text)
    assert [(i.keyword, i.first_line, i.last_line) for i in ins] == [
        ("FROM", 2, 2), ("RUN", 3, 8), ("USER", 9, 9)]
    assert ins[1].args == "dnf install -y gcc make && dnf clean all"


def test_instructions_keep_an_unfinished_last_line() -> None:
    ins = dockerfile.instructions("FROM x\nRUN a \\\n  b \\\n")
    assert [(i.keyword, i.args, i.first_line, i.last_line) for i in ins] == [
        ("FROM", "x", 1, 1), ("RUN", "a b", 2, 3)]


def test_args_several_per_line_quotes_and_redeclarations() -> None:
    facts = dockerfile.read(
        'ARG BASE_IMAGE="quay.io/x/y:1" PYTHON_VERSION=3.12\n'
        "ARG EMPTY\n"
        "FROM --platform=linux/amd64 ${BASE_IMAGE} AS base\n"
        "ARG PYTHON_VERSION\n"
        "ARG LATE=1\n"
        "FROM base AS final\n"
    )
    assert facts.args == {"BASE_IMAGE": ("quay.io/x/y:1", 1), "PYTHON_VERSION": ("3.12", 1),
                          "EMPTY": (None, 2), "LATE": ("1", 5)}
    assert set(facts.global_args) == {"BASE_IMAGE", "PYTHON_VERSION", "EMPTY"}
    assert facts.froms == [("${BASE_IMAGE}", 3), ("base", 6)]


def test_label_quoting_and_exact_lines() -> None:
    text = (
        "FROM x\n"
        'LABEL io.k8s.description="Training Hub 0.5.0 for \\"CUDA\\" 13.0" \\\n'
        "      description='Bob''s image' \\\n"
        '      summary="a = b" plain=word \\\n'
        '      "quoted.key"="v"\n'
        "LABEL maintainer Some One <one@example.com>\n"
    )
    facts = dockerfile.read(text)
    assert facts.labels == [
        ("io.k8s.description", 'Training Hub 0.5.0 for "CUDA" 13.0', 2),
        ("description", "Bobs image", 3),  # shell quoting: 'Bob''s' is Bob + s
        ("summary", "a = b", 4),
        ("plain", "word", 4),
        ("quoted.key", "v", 5),
        ("maintainer", "Some One <one@example.com>", 6),  # the legacy LABEL key value form
    ]


def test_label_with_broken_quoting_does_not_crash() -> None:
    facts = dockerfile.read('FROM x\nLABEL summary="unterminated\n')
    assert facts.labels == [("summary", '"unterminated', 2)]


@pytest.mark.parametrize("run", [
    f"RUN uv pip install --index-url={URL} -r r.txt",
    f"RUN uv pip install --index-url {URL} -r r.txt",
    f'RUN uv pip install --index-url "{URL}" -r r.txt',
    f"RUN pip install -i {URL} -r r.txt",
    f"RUN uv pip install --default-index={URL} -r r.txt",
    f"RUN uv pip install \\\n    --index-url \\\n    {URL} \\\n    -r r.txt",
    f"ENV UV_INDEX_URL={URL}",
    f'ENV PATH=/x:$PATH \\\n    PIP_INDEX_URL="{URL}"',
    f"ARG UV_DEFAULT_INDEX={URL}",
])
def test_index_url_forms(run: str) -> None:
    facts = dockerfile.read(f"FROM x\n{run}\n")
    assert [url for url, _ in facts.index_urls] == [URL]
    assert facts.index_urls[0][1] == 2 + run.split(URL, maxsplit=1)[0].count("\n")


def test_extra_indexes_and_comments_are_not_the_image_index() -> None:
    facts = dockerfile.read(
        "FROM x\n"
        f"# RUN uv pip install --index-url={URL}\n"
        "RUN uv pip install --extra-index-url=https://pypi.org/simple/ \\\n"
        f"    # --index-url={URL} \\\n"
        "    --index https://other.example/simple/ foo\n"
    )
    assert facts.index_urls == []


@pytest.mark.parametrize(("line", "found"), [
    ("cuda-nvcc-13-0", [("cuda-nvcc", "13-0")]),
    ("cuda-cudart-devel-12-8 libcublas-devel-12-8", [("cuda-cudart-devel", "12-8"),
                                                     ("libcublas-devel", "12-8")]),
    ("cuda-12-8", [("cuda", "12-8")]),
    ("cuda-nvcc-13-0-13.0.88-1", [("cuda-nvcc", "13-0")]),
    ("libnpp-devel-13-0 libnvjitlink-13-0", [("libnpp-devel", "13-0"), ("libnvjitlink", "13-0")]),
    ("libnccl-2.28.7-1+cuda13.0 libnccl-devel-2.28.7-1+cuda13.0", []),
    ("libxml2-2-9 python3-devel gcc-toolset-13 rdma-core", []),
    ("/usr/local/cuda-12-8/bin", [("cuda", "12-8")]),
])
def test_cuda_package_names(line: str, found: list[tuple[str, str]]) -> None:
    facts = dockerfile.read(f"FROM x\nRUN dnf install -y {line}\n")
    assert [(pkg, ver) for pkg, ver, _ in facts.cuda_packages] == found


def test_cuda_paths_and_nccl_builds() -> None:
    facts = dockerfile.read(
        "FROM x\n"
        "ENV CUDA_HOME=/usr/local/cuda-13.0 PATH=/usr/local/cuda/bin:$PATH\n"
        "RUN dnf install -y libnccl-2.30.7-1+cuda13.3 libnccl-devel-2.30.7-1+cuda13.3\n"
    )
    assert facts.cuda_paths == [("13.0", 2)]
    assert facts.nccl_builds == [("13.3", 3), ("13.3", 3)]


@pytest.mark.parametrize(("line", "found"), [
    ("ENV ROCM_PATH=/opt/rocm-6.4.3", ["6.4.3"]),
    ("RUN dnf install -y rocm-hip-runtime-devel6.4.3 rocm-smi-lib6.4.3", ["6.4.3", "6.4.3"]),
    ("RUN dnf install -y rccl-devel6.4.3 hipblaslt-devel6.4.3 miopen-hip6.3.1", ["6.4.3", "6.4.3",
                                                                                 "6.3.1"]),
    ("RUN ln -sfn /opt/rocm-6.4.3 /opt/rocm", ["6.4.3"]),
    # not ROCm: other names glued to versions, pins, tags, dotted paths
    ("RUN ln -s /usr/bin/python3.12.1 /usr/bin/python", []),
    ("RUN dnf install -y openssl3.0.7 gcc-toolset-13 && pip install uv==0.9.5", []),
    ("ARG TAG=v1.2.3", []),
    ("RUN curl https://example.com/myrocm6.4.3.tar", []),
    ("ENV ROCM_PATH=/opt/rocm-6.4.3.1", []),
])
def test_rocm_versions_only_from_rocm_names(line: str, found: list[str]) -> None:
    facts = dockerfile.read(f"FROM x\n{line}\n")
    assert [ver for ver, _ in facts.rocm_versions] == found


def test_versions_in_comment_lines_are_ignored() -> None:
    facts = dockerfile.read("FROM x\n# cuda-nvcc-12-8 /opt/rocm-6.3.0 +cuda12.8\n")
    assert (facts.cuda_packages, facts.rocm_versions, facts.nccl_builds) == ([], [], [])


@pytest.mark.parametrize(("text", "problems"), [
    ("# MIDSTREAM ONLY: x\nENV A=1\n# END MIDSTREAM ONLY\n", []),
    ("#MIDSTREAM ONLY\n  # END MIDSTREAM ONLY  \n# MIDSTREAM ONLY\n# END MIDSTREAM ONLY\n", []),
    ("# MIDSTREAM ONLY\nENV A=1\n",
     [(1, "'# MIDSTREAM ONLY' is never closed by '# END MIDSTREAM ONLY'")]),
    ("ENV A=1\n# END MIDSTREAM ONLY\n",
     [(2, "'# END MIDSTREAM ONLY' without an opening '# MIDSTREAM ONLY'")]),
    ("# MIDSTREAM ONLY\n# MIDSTREAM ONLY\n# END MIDSTREAM ONLY\n",
     [(2, "nested '# MIDSTREAM ONLY' (the block opened at line 1 is not closed)")]),
    ("# not a MIDSTREAM ONLY marker\nRUN echo '# MIDSTREAM ONLY'\n", []),
])
def test_midstream_markers(text: str, problems: list[tuple[int, str]]) -> None:
    assert dockerfile.marker_problems(dockerfile.read(text)) == problems


# --- pyproject.toml -------------------------------------------------------------------------

PYPROJECT = f"""\
# Header: compiled with
#   uv pip compile --index-url={URL} \\
#     -o requirements.txt pyproject.toml
#   (or: --index-url {URL}x)
[build-system]
requires = ["setuptools"]

[tool.other]
name = "not the project"
dependencies = ["torch==0.0.1"]

[project]
name = "universal-training-th05-cuda130-torch291-py312"
description = "Training Hub 0.5.0"
requires-python = "==3.12.*"
dependencies = [
    # PyTorch first
    "torch==2.9.1",
    'training_hub[lora]==0.5.0',
    "pywin32>=306; sys_platform == 'win32'",  # a marker
    "a>=1", "b>=2",
    "a>=1",
]

[tool.uv]
index-url = "{URL}"  # the image's index
"""


def test_pyproject_facts_and_their_lines() -> None:
    facts = pyproject.read(PYPROJECT)
    assert (facts.name, facts.name_line) == ("universal-training-th05-cuda130-torch291-py312", 13)
    assert (facts.description, facts.description_line) == ("Training Hub 0.5.0", 14)
    assert (facts.requires_python, facts.requires_python_line) == ("==3.12.*", 15)
    assert [(d.text, d.line) for d in facts.dependencies] == [
        ("torch==2.9.1", 18), ("training_hub[lora]==0.5.0", 19),
        ("pywin32>=306; sys_platform == 'win32'", 20), ("a>=1", 21), ("b>=2", 21), ("a>=1", 22)]
    assert (facts.index_url, facts.index_url_line) == (URL, 26)
    assert facts.comment_index_urls == [(URL, 2), (URL + "x", 4)]


@pytest.mark.parametrize("comment", [
    f"# --index-url={URL}", f"#   --index-url {URL} \\", f"# (built with --index-url {URL}).",
    f"# run `uv pip compile --index-url={URL}`", f"# --index-url='{URL}', then",
])
def test_pyproject_comment_index_url_without_prose_marks(comment: str) -> None:
    assert pyproject.read(comment + "\n").comment_index_urls == [(URL, 1)]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("[project\nname = 'x'\n", 1, "invalid TOML: Expected ']' at the end of a table declaration"),
    ("[project]\nrequires-python = ==3.12\n", 2, "invalid TOML: Invalid value"),
    ('a = "x"\na = "y"\n', 2, "invalid TOML: Cannot overwrite a value"),
])
def test_pyproject_toml_errors_carry_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(pyproject.TomlError) as info:
        pyproject.read(text)
    assert (info.value.line, info.value.message) == (line, message)


@pytest.mark.parametrize("text", [
    'tool = 3\nproject = "x"\n',
    '[project]\nname = 5\ndescription = []\nrequires-python = 3\ndependencies = "torch==2.9.1"\n',
    '[project]\ndependencies = [1, "torch==2.9.1", {a = 1}]\n[tool]\nuv = []\n',
    '[tool.uv]\nindex-url = 1\n',
])
def test_pyproject_values_of_the_wrong_type_read_as_absent(text: str) -> None:
    facts = pyproject.read(text)
    assert facts.name is None
    assert facts.requires_python is None
    assert facts.index_url is None
    assert [d.text for d in facts.dependencies] in ([], ["torch==2.9.1"])


# --- requirements.txt ---------------------------------------------------------------------

LOCK = f"""\
--index-url {URL}

# This file was autogenerated by uv via the following command:
#    uv pip compile --generate-hashes pyproject.toml
absl-py==2.3.1 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via tensorboard
Training_Hub[lora]==0.5.0 ; python_version >= "3.11" \\
    --hash=sha256:cc
    # via
    #   universal-training (pyproject.toml)
nohash==1.0
inline==2.0 --hash=sha256:dd
-e ./local
"""


def test_lock_pins_hashes_and_index_line_with_a_space() -> None:
    facts = requirements.read(LOCK)
    assert (facts.index_url, facts.index_url_line) == (URL, 1)
    assert [(p.name, p.version, p.line, p.hashes) for p in facts.pins] == [
        ("absl-py", "2.3.1", 5, ["sha256:aa", "sha256:bb"]),
        ("Training_Hub", "0.5.0", 9, ["sha256:cc"]),
        ("nohash", "1.0", 13, []),
        ("inline", "2.0", 14, ["sha256:dd"]),
    ]
    assert facts.other_lines == [("-e ./local", 15)]
    pin = facts.pin("training-hub")
    assert pin is not None
    assert pin.key == "training-hub"
    assert facts.pin("ABSL_py") is facts.pins[0]
    assert facts.pin("missing") is None


def test_lock_index_line_with_equals_and_empty_lock() -> None:
    assert requirements.read(f"--index-url={URL}\nx==1\n").index_url_line == 1
    empty = requirements.read("")
    assert (empty.index_url, empty.pins) == (None, [])


@pytest.mark.parametrize(("name", "key"), [
    ("Training_Hub", "training-hub"), ("zope.interface", "zope-interface"), ("a__b-.c", "a-b-c"),
])
def test_canonical_names(name: str, key: str) -> None:
    assert requirements.canonical(name) == key


# --- the fast path for plain requirements (no packaging import in a plain check) -------------

_release = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4).map(
    lambda segs: ".".join(map(str, segs)))
_spec = st.one_of(
    st.tuples(st.sampled_from(["==", "!=", "<=", ">=", "<", ">"]), _release, st.just("")),
    st.tuples(st.sampled_from(["==", "!="]), _release, st.just(".*")),
    st.tuples(st.just("~="), _release.filter(lambda v: "." in v), st.just("")),
)


@settings(max_examples=400, deadline=None)
@given(specs=st.lists(_spec, max_size=3), version=_release, extras=st.booleans())
def test_simple_requirements_agree_with_packaging(specs: list[tuple[str, str, str]],
                                                  version: str, extras: bool) -> None:
    from packaging.requirements import Requirement

    text = ("Some_Pkg[lora, x]" if extras else "Some_Pkg") + ", ".join(
        f"{op}{v}{wild}" for op, v, wild in specs)
    simple = requirements.simple_requirement(text)
    assert simple is not None
    assert simple[0] == "Some_Pkg"
    expected = Requirement(text).specifier.contains(version, prereleases=True)
    assert requirements.simple_contains(simple[1], version) is expected


@pytest.mark.parametrize("text", [
    "rich>=13; python_version < '3.12'", "pkg @ https://example.com/pkg.whl", "pkg>=1.0rc1",
    "pkg===1.0", "pkg>=1.*", "pkg~=1", "pkg>=1.0.post1", "pkg==1.0+local", "pkg>=", "pkg>=>1",
    "pkg[", "-e .",
])
def test_requirements_beyond_the_fast_path(text: str) -> None:
    assert requirements.simple_requirement(text) is None


@pytest.mark.parametrize("version", ["2.0rc1", "2.0+cu128", "2.0.post1", "1!2.0", "v2"])
def test_versions_beyond_the_fast_path(version: str) -> None:
    simple = requirements.simple_requirement("pkg>=1")
    assert simple is not None
    assert requirements.simple_contains(simple[1], version) is None
