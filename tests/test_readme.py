"""The README cannot drift from the tool: its commands are run here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import readme_examples  # noqa: E402

README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def test_console_transcripts_match_the_tool() -> None:
    commands = readme_examples.parse(README.splitlines())
    assert len(commands) >= 25
    actual = readme_examples.run(commands)
    drift = [f"README.md:{c.line}: $ {c.text}\n--- README\n{shown}\n--- actual\n{got}"
             for c, raw in zip(commands, actual, strict=True)
             if (shown := readme_examples.normalise("\n".join(c.output)))
             != (got := readme_examples.normalise(raw))]
    assert not drift, "\n\n".join(drift)


def test_readme_starts_with_the_two_commands() -> None:
    blocks = sh_blocks()
    install_and_demo, tests = blocks[0].strip(), blocks[1].strip()
    assert README.index(blocks[0]) < README.index("## ")
    assert README.index(blocks[1]) < README.index("## ")
    assert install_and_demo.endswith(".venv/bin/python scripts/demo.py")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines(), "README's test command must be exactly what .ci/run runs"
    assert len(blocks) == 2, "every other README command is a console transcript"


def test_demo_runs_the_main_job() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "committed " in proc.stdout
    assert "major: th05-cuda130-torch291-py312 -> th05-cuda128-torch291-py312" in proc.stdout
    assert "4 folders checked: no findings" in proc.stdout + proc.stderr
