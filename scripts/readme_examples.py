"""Run the README's console examples and compare (or --update) their output.

Every ```console block of README.md is a transcript: `$ command` lines (a
trailing backslash continues one) followed by the output the command prints
(stdout and stderr together). The blocks run in README order, in one sandbox:
a clone of this checkout, with the bundled local index started and
BUMPER_INDEX_MAP pointing the example images' index URLs at it. Commit ids,
temporary paths and timings are normalised before the comparison.

    .venv/bin/python scripts/readme_examples.py            # check, exit 1 on drift
    .venv/bin/python scripts/readme_examples.py --update   # rewrite the outputs
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT))

from localindex.server import IndexServer  # noqa: E402

FENCE = "```"
NORMALISE = [
    (re.compile(r"\b[0-9a-f]{40}\b"), "<commit>"),
    (re.compile(r"(?<=committed )[0-9a-f]{7,12}\b"), "<commit>"),
    (re.compile(r"(?<=_commit: )[0-9a-f]{7,40}\b"), "<commit>"),
    (re.compile(r"/tmp/[^\s:'\"]+"), "<tmp>"),
    (re.compile(r"\b[0-9]+\.[0-9]+ ?s\b"), "<time>"),
    (re.compile(r"Date: .*"), "Date: <date>"),
    (re.compile(r"http://127\.0\.0\.1:[0-9]+"), "http://127.0.0.1:<port>"),
]


@dataclass
class Command:
    line: int  # README line of the `$`
    text: str  # the command, continuations joined
    output: list[str] = field(default_factory=list)
    out_start: int = 0  # README line index where the output starts
    out_end: int = 0  # README line index after the output


def parse(lines: list[str]) -> list[Command]:
    """The commands of every console block, with the output the README shows."""
    commands: list[Command] = []
    in_block = False
    current: Command | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not in_block:
            in_block = line.strip() == FENCE + "console"
            i += 1
            continue
        if line.strip() == FENCE:
            if current:
                current.out_end = i
            in_block, current = False, None
            i += 1
            continue
        if line.startswith("$ "):
            if current:
                current.out_end = i
            text, start = line[2:], i
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1] + "\n" + lines[i]
            current = Command(start + 1, text, out_start=i + 1)
            commands.append(current)
        elif current is not None:
            current.output.append(line)
        i += 1
    return commands


def normalise(text: str) -> str:
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def sandbox() -> Path:
    work = Path(tempfile.mkdtemp(prefix="bumper-readme-"))
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    for key, value in (("user.name", "Ada Maintainer"), ("user.email", "ada@example.com"),
                       ("commit.gpgsign", "false")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
    return repo


def run(commands: list[Command]) -> list[str]:
    """The actual output of each command, as printed."""
    repo = sandbox()
    outputs = []
    try:
        with IndexServer() as index:
            bindir = str(Path(sys.executable).parent)
            env = dict(os.environ, BUMPER_INDEX_MAP=index.prefix_map,
                       UV_PYTHON_DOWNLOADS="never", NO_COLOR="1", COLUMNS="100",
                       PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
            env.pop("VIRTUAL_ENV", None)
            for command in commands:
                proc = subprocess.run(["bash", "-c", command.text], cwd=repo, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, timeout=300, check=False)
                outputs.append(proc.stdout.rstrip())
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)
    return outputs


def main() -> int:
    update = "--update" in sys.argv
    lines = README.read_text(encoding="utf-8").splitlines()
    commands = parse(lines)
    actual = run(commands)
    drift = 0
    for command, got in zip(commands, actual, strict=True):
        shown = normalise("\n".join(command.output))
        if shown != normalise(got):
            drift += 1
            if not update:
                print(f"README.md:{command.line}: $ {command.text.splitlines()[0]}\n"
                      f"--- README shows\n{shown}\n--- the command prints\n{normalise(got)}\n")
    if update and drift:
        for command, got in reversed(list(zip(commands, actual, strict=True))):
            lines[command.out_start:command.out_end] = [ln.rstrip() for ln in got.splitlines()]
        README.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"updated {drift} outputs in README.md")
        return 0
    print(f"{len(commands)} README commands run, {drift} with drifted output")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
