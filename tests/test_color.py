"""Output for people: colour on a terminal only, progress while locks run, shell completion.

Colour is asserted on a real pseudo-terminal (pexpect); "plain" is asserted
both when piped and with NO_COLOR=1 / --no-color on a terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from localindex.server import IndexServer
from tests.helpers import CPU, CUDA, replace

BUMPER = Path(sys.executable).with_name("bumper")
ESC = "\x1b"
GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"
DRY_RUN = ("major", "--torch", "2.10.0", "--dry-run")


def environment(server: IndexServer | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(UV_PYTHON_DOWNLOADS="never", TERM="xterm-256color", **extra)
    if server is not None:
        env["BUMPER_INDEX_MAP"] = server.prefix_map
    return env


def piped(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUMPER), "--repo", str(root), *args], capture_output=True,
                          text=True, env=env, cwd=root, timeout=120, check=False)


def on_pty(root: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """(exit status, everything written to the terminal, stdout and stderr alike)."""
    child = pexpect.spawn(str(BUMPER), ["--repo", str(root), *args], cwd=str(root), env=env,
                          encoding="utf-8", timeout=120, dimensions=(50, 200))
    child.expect(pexpect.EOF)
    text = child.before
    child.close()
    assert child.exitstatus is not None
    return child.exitstatus, text


# --- colour --------------------------------------------------------------------------------

def test_dry_run_diff_is_coloured_on_a_terminal(examples: Path,
                                                index_server: IndexServer) -> None:
    status, text = on_pty(examples, environment(index_server), *DRY_RUN)
    assert status == 0, text
    assert f"{RED}-torch_version: 2.9.1" in text
    assert f"{GREEN}+torch_version: 2.10.0" in text
    assert "\x1b[36m@@ " in text  # hunk headers
    plain = text.replace(RESET, "")
    for line in plain.split("\r\n"):
        if line.startswith((" ", "new folder", "leftovers", "warning")):
            assert ESC not in line, line  # context lines and notes stay plain


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color", "--no-color after"])
def test_no_escape_codes_on_a_terminal_when_asked(examples: Path, index_server: IndexServer,
                                                  how: str) -> None:
    env = environment(index_server, **({"NO_COLOR": "1"} if how == "NO_COLOR" else {}))
    args = {"NO_COLOR": DRY_RUN, "--no-color": ("--no-color", *DRY_RUN),
            "--no-color after": (*DRY_RUN, "--no-color")}[how]
    status, text = on_pty(examples, env, *args)
    assert status == 0, text
    assert "+torch_version: 2.10.0" in text
    assert ESC not in text


@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "piped"])
def test_no_escape_codes_when_piped(examples: Path, index_server: IndexServer,
                                    no_color: bool) -> None:
    env = environment(index_server, **({"NO_COLOR": "1"} if no_color else {}))
    result = piped(examples, env, *DRY_RUN)
    assert result.returncode == 0, result.stderr
    assert "+torch_version: 2.10.0" in result.stdout
    assert ESC not in result.stdout + result.stderr


@pytest.mark.parametrize("terminal", [True, False], ids=["pty", "piped"])
def test_check_findings_without_escape_codes_under_no_color(examples: Path,
                                                           terminal: bool) -> None:
    replace(examples, f"{CUDA}/Dockerfile", "# END MIDSTREAM ONLY\n", "")
    env = environment(None, NO_COLOR="1")
    if terminal:
        status, text = on_pty(examples, env, "check")
    else:
        result = piped(examples, env, "check")
        status, text = result.returncode, result.stdout + result.stderr
    assert status == 1
    assert "is never closed by '# END MIDSTREAM ONLY'" in text
    assert ESC not in text


# --- progress while locks run ----------------------------------------------------------------

def test_lock_progress_on_a_terminal_only(examples: Path, index_server: IndexServer) -> None:
    status, text = on_pty(examples, environment(index_server), "lock")
    assert status == 0, text
    assert "locking: 3/3 folders\r\n" in text
    result = piped(examples, environment(index_server), "lock")
    assert result.returncode == 0, result.stderr
    assert "locking" not in result.stdout + result.stderr


def test_lock_progress_of_one_folder_ends_its_line(examples: Path,
                                                   index_server: IndexServer) -> None:
    status, text = on_pty(examples, environment(index_server), "lock", CPU)
    assert status == 0, text
    assert "folders" not in text or "folders\r\n" in text


# --- shell completion -------------------------------------------------------------------------

@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _bumper_completion bumper"),
    ("zsh", "#compdef bumper"),
    ("fish", "complete --no-files --command bumper"),
])
def test_completion_prints_a_script(tmp_path: Path, shell: str, marker: str) -> None:
    result = subprocess.run([str(BUMPER), "completion", shell], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert "_BUMPER_COMPLETE" in result.stdout


@pytest.mark.parametrize(("shell", "target"), [
    ("bash", ".local/share/bash-completion/completions/bumper"),
    ("zsh", ".zfunc/_bumper"),
    ("fish", ".config/fish/completions/bumper.fish"),
])
def test_completion_install_writes_the_file(tmp_path: Path, shell: str, target: str) -> None:
    env = dict(os.environ, HOME=str(tmp_path))
    printed = subprocess.run([str(BUMPER), "completion", shell], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60, check=True).stdout
    result = subprocess.run([str(BUMPER), "completion", shell, "--install"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    file = tmp_path / target
    assert f"installed {shell} completion in {file}" in result.stderr
    assert file.read_text(encoding="utf-8") == printed
    again = subprocess.run([str(BUMPER), "completion", shell, "--install"], env=env,
                           cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert again.returncode == 0  # installing twice replaces the file
    assert file.read_text(encoding="utf-8") == printed


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_options(tmp_path: Path) -> None:
    script = ('source <(bumper completion bash)\n'
              'COMP_WORDS=(bumper ma); COMP_CWORD=1; _bumper_completion bumper\n'
              'echo "${COMPREPLY[@]}"; COMPREPLY=()\n'
              'COMP_WORDS=(bumper major --tor); COMP_CWORD=2; _bumper_completion bumper\n'
              'echo "${COMPREPLY[@]}"\n')
    env = dict(os.environ, PATH=f"{BUMPER.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["major", "--torch"]
