"""The requirement-list editor (bumper/editors/deplist.py): pure text in, text out."""

from __future__ import annotations

import pytest

from bumper.editors import deplist

BASE = """\
[project]
name = "x"
dependencies = [
    # core
    "torch==2.9.1",
    'numpy>=2',  # numerics
]

[tool.uv]
index-url = "https://example.invalid/simple/"
constraint-dependencies = [
    # CVE fixes
    "urllib3>=2.5.0",  # CVE-1
    "starlette~=1.2.0"
]

[tool.other]
x = 1
"""


def test_an_entry_of_the_same_project_is_replaced_in_place_with_its_comment() -> None:
    out = deplist.set_entry(BASE, deplist.CONSTRAINTS, "urllib3>=2.6.0")
    assert out == BASE.replace('"urllib3>=2.5.0",  # CVE-1', '"urllib3>=2.6.0",  # CVE-1')


def test_a_new_entry_follows_the_last_one_in_its_style() -> None:
    out = deplist.set_entry(BASE, deplist.CONSTRAINTS, "h11>=0.16.0")
    assert out == BASE.replace('    "starlette~=1.2.0"\n',
                               '    "starlette~=1.2.0",\n    "h11>=0.16.0",\n')
    out = deplist.set_entry(BASE, deplist.DEPENDENCIES, "sqlparse>=0.5")
    assert out == BASE.replace("    'numpy>=2',  # numerics\n",
                               "    'numpy>=2',  # numerics\n    'sqlparse>=0.5',\n")


def test_a_missing_list_is_started_at_the_end_of_its_table() -> None:
    out = deplist.set_entry(BASE, deplist.OVERRIDES, "numpy<2.4")
    assert out == BASE.replace('    "starlette~=1.2.0"\n]\n',
                               '    "starlette~=1.2.0"\n]\noverride-dependencies = [\n'
                               '    "numpy<2.4",\n]\n')
    bare = '[project]\nname = "x"\ndependencies = ["torch==2.9.1"]\n'
    assert deplist.set_entry(bare, deplist.CONSTRAINTS, "urllib3>=2.5") == (
        bare + '\n[tool.uv]\nconstraint-dependencies = [\n    "urllib3>=2.5",\n]\n')


def test_an_inline_list_stays_inline() -> None:
    text = '[project]\nname = "x"\ndependencies = ["torch==2.9.1"]\n'
    assert deplist.set_entry(text, deplist.DEPENDENCIES, "numpy>=2") == (
        '[project]\nname = "x"\ndependencies = ["torch==2.9.1", "numpy>=2"]\n')


def test_remove_drops_one_entry_and_refuses_an_unknown_one() -> None:
    out = deplist.remove_entry(BASE, deplist.DEPENDENCIES, "NumPy")
    assert out == BASE.replace("    'numpy>=2',  # numerics\n", "")
    with pytest.raises(KeyError):
        deplist.remove_entry(BASE, deplist.DEPENDENCIES, "starlette")


def test_the_same_requirement_is_no_edit() -> None:
    assert deplist.set_entry(BASE, deplist.CONSTRAINTS, "urllib3>=2.5.0") is BASE
