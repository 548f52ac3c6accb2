"""Stack, Accel and the naming scheme: names are rendered from versions, read back tolerantly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bumper.model import (
    DEFAULT_SCHEME,
    Accel,
    NamingScheme,
    Stack,
    compact_python,
    compact_th,
    compact_torch,
    major_minor,
    names_release,
    same_release,
)

SCHEME = NamingScheme()

# The five real folder names and the versions in their files (0.6.x is taken as 0.6.0).
REAL = [
    ("th03-cuda128-torch280-py312", "0.3", Accel("cuda", "12.8"), "2.8.0", "3.12"),
    ("th04-cuda128-torch290-py312", "0.4", Accel("cuda", "12.8"), "2.9.0", "3.12"),
    ("th05-cuda130-torch291-py312", "0.5.0", Accel("cuda", "13.0"), "2.9.1", "3.12"),
    ("th05-rocm64-torch291-py312", "0.5.0", Accel("rocm", "6.4.3"), "2.9.1", "3.12"),
    ("th06-cuda130-torch210-py312", "0.6.0", Accel("cuda", "13.0"), "2.10.0", "3.12"),
]
REAL_IDS = [row[0] for row in REAL]


@pytest.mark.parametrize(("name", "hub", "accel", "torch", "python"), REAL, ids=REAL_IDS)
def test_render_reproduces_the_real_names(name: str, hub: str, accel: Accel, torch: str,
                                          python: str) -> None:
    stack = Stack(training_hub=hub, accel=accel, torch=torch, python=python)
    assert SCHEME.render(stack) == name
    assert SCHEME.mismatches(name, stack) == {}


@pytest.mark.parametrize(("name", "hub", "accel", "torch", "python"), REAL, ids=REAL_IDS)
def test_parse_reads_the_real_names_back(name: str, hub: str, accel: Accel, torch: str,
                                         python: str) -> None:
    parsed = SCHEME.parse(name)
    assert parsed == {"th": compact_th(hub), "accel": accel.compact,
                      "torch": compact_torch(torch), "python": compact_python(python)}


@pytest.mark.parametrize(("version", "compact"), [
    ("2.8.0", "280"), ("2.9.0", "290"), ("2.9.1", "291"), ("2.10.0", "210"), ("2.10.1", "2101"),
])
def test_compact_torch(version: str, compact: str) -> None:
    assert compact_torch(version) == compact


@pytest.mark.parametrize(("version", "compact"), [("0.3", "03"), ("0.5.0", "05"), ("1.2.3", "12")])
def test_compact_th(version: str, compact: str) -> None:
    assert compact_th(version) == compact


def test_accel_forms() -> None:
    rocm = Accel("rocm", "6.4.3")
    assert (rocm.compact, rocm.index_segment, rocm.label) == ("rocm64", "rocm6.4", "ROCm 6.4.3")
    cuda = Accel("cuda", "13.0")
    assert (cuda.compact, cuda.index_segment, str(cuda)) == ("cuda130", "cuda13.0", "CUDA 13.0")
    cpu = Accel("cpu")
    assert (cpu.compact, cpu.index_segment, cpu.label) == ("cpu", "cpu", "CPU")
    assert major_minor("6.4.3") == "6.4"


@pytest.mark.parametrize(("kind", "version"), [("tpu", "1"), ("cpu", "1.0"), ("cuda", None)])
def test_accel_rejects_nonsense(kind: str, version: str | None) -> None:
    with pytest.raises(ValueError, match=r"accelerator|version"):
        Accel(kind, version)


def test_stack_describe_and_changes() -> None:
    stack = Stack("0.5.0", Accel("rocm", "6.4.3"), "2.9.1", "3.12")
    assert stack.describe() == "Training Hub 0.5.0, ROCm 6.4.3, PyTorch 2.9.1, Python 3.12"
    assert stack.with_changes(torch="2.10.0").torch == "2.10.0"
    assert stack.with_changes(torch="2.9.1") == stack


@pytest.mark.parametrize("written", [
    "TH05-CUDA130-Torch291-PY312",  # case
    "th05-cuda130-torch291-py312/",  # trailing slash from shell completion
    "images/universal/training/th05-cuda130-torch291-py312",  # a path
    "./images/universal/training/th05-cuda130-torch291-py312//",
    "images\\universal\\training\\th05-cuda130-torch291-py312",  # a Windows path
])
def test_parse_is_tolerant(written: str) -> None:
    assert SCHEME.parse(written) == {"th": "05", "accel": "cuda130", "torch": "291",
                                     "python": "312"}


@pytest.mark.parametrize("written", [
    "my-image", "th05-cuda130-torch291", "th05-tpu1-torch291-py312",
    "th05-cuda130-torch291-py312-old", "xth05-cuda130-torch291-py312", "",
])
def test_parse_refuses_names_outside_the_scheme(written: str) -> None:
    assert SCHEME.parse(written) is None


def test_mismatches_name_each_wrong_field() -> None:
    stack = Stack("0.6.0", Accel("cuda", "13.0"), "2.10.0", "3.12")
    assert SCHEME.mismatches("th05-cuda128-torch210-py312", stack) == {
        "th": ("05", "06"), "accel": ("cuda128", "cuda130")}
    assert SCHEME.mismatches("whatever", stack) == {
        "name": ("whatever", "th06-cuda130-torch210-py312")}
    # fits the scheme and every field agrees, but the case differs: still not the name
    assert SCHEME.mismatches("TH06-cuda130-torch210-py312", stack) == {
        "name": ("TH06-cuda130-torch210-py312", "th06-cuda130-torch210-py312")}


def test_custom_scheme_renders_and_parses() -> None:
    scheme = NamingScheme("{accel_kind}{accel_version}_TH{th_version}_pt{torch_version}")
    stack = Stack("0.5.0", Accel("rocm", "6.4.3"), "2.9.1", "3.12")
    assert scheme.render(stack) == "rocm6.4.3_TH0.5.0_pt2.9.1"
    assert scheme.parse("ROCM6.4.3_th0.5.0_PT2.9.1/") == {
        "accel_kind": "rocm", "accel_version": "6.4.3", "th_version": "0.5.0",
        "torch_version": "2.9.1"}
    assert scheme.mismatches("rocm6.4.3_TH0.5.0_pt2.9.0", stack) == {
        "torch_version": ("2.9.0", "2.9.1")}


def test_a_field_may_repeat() -> None:
    scheme = NamingScheme("{accel}-th{th}-{accel}")
    stack = Stack("0.5.0", Accel("cpu"), "2.9.1", "3.12")
    assert scheme.render(stack) == "cpu-th05-cpu"
    assert scheme.parse("cpu-th05-cpu") == {"accel": "cpu", "th": "05"}
    assert scheme.parse("cpu-th05-cuda130") is None


def test_search_pattern_finds_names_in_text() -> None:
    text = 'name="universal-training-th05-cuda130-torch291-py312" and th06-cpu-torch210-py311x'
    found = [m.group(0) for m in SCHEME.search_pattern().finditer(text)]
    assert found == ["th05-cuda130-torch291-py312"]


@pytest.mark.parametrize(("template", "message"), [
    ("th{th}-{gpu}", "unknown field {gpu}"),
    ("th{th", "expected '}'"),
    ("th{}-x", "unknown field {}"),
    ("th{th:>3}", "without a format spec"),
    ("th{th!r}", "without a format spec or conversion"),
    ("universal", "has no {field}"),
    ("", "has no {field}"),
    ("th{th}/{accel}", "no / or"),
    ("th{th.real}", "unknown field {th.real}"),
])
def test_invalid_schemes_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        NamingScheme(template)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_default_scheme_is_the_real_pattern() -> None:
    assert NamingScheme().template == DEFAULT_SCHEME == "th{th}-{accel}-torch{torch}-py{python}"


@pytest.mark.parametrize(("written", "version", "same"), [
    ("2.9.1", "2.9.1", True), ("2.9", "2.9.1", True), ("0.3.0", "0.3", True),
    ("0.3", "0.3.0", True), ("6.4", "6.4.3", True), ("13.0", "13.0", True),
    ("2.9.0", "2.9.1", False), ("2.9.1", "2.9", False), ("0.3.1", "0.3", False),
    ("2", "2.9", False),
])
def test_same_release(written: str, version: str, same: bool) -> None:
    assert same_release(written, version) is same


@pytest.mark.parametrize(("written", "accel", "named"), [
    ("13.0.1", Accel("cuda", "13.0"), True), ("13.1", Accel("cuda", "13.0"), False),
    ("6.4.1", Accel("rocm", "6.4"), True), ("6.4.1", Accel("rocm", "6.4.3"), False),
    ("6.4", Accel("rocm", "6.4.3"), True), ("6.4.3", Accel("cpu"), False),
])
def test_names_release(written: str, accel: Accel, named: bool) -> None:
    assert names_release(written, accel) is named


_num = st.integers(min_value=0, max_value=30).map(str)
_accels = st.one_of(
    st.just(Accel("cpu")),
    st.builds(lambda a, b: Accel("cuda", f"{a}.{b}"), _num, _num),
    st.builds(lambda a, b, c: Accel("rocm", f"{a}.{b}.{c}"), _num, _num, _num),
)
_stacks = st.builds(
    Stack,
    training_hub=st.builds(lambda a, b, c: f"{a}.{b}.{c}", _num, _num, _num),
    accel=_accels,
    torch=st.builds(lambda a, b, c: f"{a}.{b}.{c}", _num, _num, _num),
    python=st.builds(lambda b: f"3.{b}", _num),
)


@given(_stacks)
def test_any_rendered_name_parses_back_and_matches(stack: Stack) -> None:
    name = SCHEME.render(stack)
    assert SCHEME.parse(name) is not None
    assert SCHEME.mismatches(name, stack) == {}
    assert SCHEME.mismatches(name.upper(), stack) == {"name": (name.upper(), name)}
