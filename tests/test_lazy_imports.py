"""Heavy libraries are imported only by the commands that use them.

Each case runs bumper's CLI in process inside a fresh interpreter, then lists which of
the watched modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import copy_examples

WATCHED = ("copier", "questionary", "git", "httpx", "plumbum", "jinja2")
PROBE = """
import json, sys
sys.argv = ["bumper", *json.loads(sys.argv[1])]
from bumper.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in %s)}))
"""


def _probe(args: list[str], cwd: Path) -> tuple[object, set[str]]:
    code = PROBE % repr(WATCHED)
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert last.startswith("{"), proc.stdout + proc.stderr
    result = json.loads(last)
    return result["code"], {m.split(".")[0] for m in result["loaded"]}


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["new", "--help"],
                                  ["template-update", "--help"], ["--version"]])
def test_help_imports_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    code, loaded = _probe(args, tmp_path)
    assert code == 0
    assert loaded == set(), f"bumper {' '.join(args)} imported {sorted(loaded)}"


def test_check_imports_no_heavy_library(tmp_path: Path) -> None:
    root = copy_examples(tmp_path)
    code, loaded = _probe(["--repo", str(root), "check"], root)
    assert code == 0
    assert loaded == set(), f"bumper check imported {sorted(loaded)}"


def test_the_probe_sees_copier_when_a_command_uses_it(tmp_path: Path) -> None:
    """The control case: `new --dry-run` renders with Copier, so the probe must see it."""
    from tests.helpers import REPO

    root = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
    code, loaded = _probe(["--repo", str(root), "new", "--flavor", "cpu", "--torch", "2.9.0",
                           "--training-hub", "0.5.0", "--dry-run"], root)
    assert code in (0, None)
    assert "copier" in loaded
