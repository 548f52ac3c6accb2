"""Reading uv's "No solution found" text: its two layouts, and text it cannot read."""

from __future__ import annotations

from bumper.conflict import Hub, explain, parse
from bumper.formats import pyproject

PYPROJECT = """[project]
name = "img"
requires-python = "==3.12.*"
dependencies = [
    "training_hub[lora]==0.7.0",
    "mlflow==3.5.0",
]
"""
# uv 0.13's text for the case of tests/test_align.py, in its --quiet layout and its boxed one
QUIET = """error: No solution found when resolving dependencies
  cause: Because all versions of kubernetes depend on urllib3<2.6 and all versions of mlflow \
depend on kubernetes==33.1.0, we can conclude that all versions of mlflow depend on urllib3<2.6.
         And because training-hub>=0.7.0 depends on urllib3>=2.6, we can conclude that all \
versions of mlflow and training-hub>=0.7.0 are incompatible.
         And because img depends on training-hub[lora]==0.7.0 and mlflow==3.5.0, we can \
conclude that your requirements are unsatisfiable.
"""
BOXED = """  × No solution found when resolving dependencies:
  ╰─▶ Because all versions of kubernetes depend on urllib3<2.6 and all versions of mlflow \
depend on kubernetes==33.1.0, we can conclude that all versions of mlflow depend on urllib3<2.6.
      And because training-hub>=0.7.0 depends on urllib3>=2.6, we can conclude that all \
versions of mlflow and training-hub>=0.7.0 are incompatible.
      And because img depends on training-hub[lora]==0.7.0 and mlflow==3.5.0, we can \
conclude that your requirements are unsatisfiable.
"""


def hub() -> Hub:
    return Hub("imgs/a", "0.7.0", "lora", 5, pyproject.read(PYPROJECT), PYPROJECT)


def offers(name: str) -> dict[str, list[str]]:
    return {"https://idx/simple/": ["2.6.0", "2.5.0"]}


def test_both_layouts_give_the_chain() -> None:
    for text in (QUIET, BOXED):
        found = parse(text)
        chain = found.chain("img", "urllib3", frozenset({"training-hub"}))
        assert [(e.parent, e.text) for e in chain] == [
            ("img", "mlflow==3.5.0"), ("mlflow", "kubernetes==33.1.0"),
            ("kubernetes", "urllib3<2.6")]
        [conflict], requests = explain(hub(), text, offers)
        assert (conflict.line, conflict.kind, requests) == (6, "conflict", [])
        assert conflict.message == (
            "training-hub 0.7.0 [lora] -> urllib3>=2.6 conflicts with the image's mlflow -> "
            "kubernetes -> urllib3<2.6 (change this line; the index has urllib3 2.6.0, 2.5.0)")


def test_text_it_cannot_read_is_shown_as_uv_wrote_it() -> None:
    text = ("error: No solution found when resolving dependencies\n"
            "  cause: Because the moon is made of cheese, img cannot be built.\n"
            "hint: try again\n")
    [conflict], requests = explain(hub(), text, lambda name: {})
    assert (conflict.line, conflict.kind, requests) == (5, "unresolved", [])
    assert str(conflict).splitlines() == [
        "imgs/a/pyproject.toml:5: training-hub 0.7.0 [lora] does not resolve with the image; "
        "uv says:",
        "    error: No solution found when resolving dependencies",
        "    cause: Because the moon is made of cheese, img cannot be built."]
