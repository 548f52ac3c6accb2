"""The image entry point: valid POSIX sh, and both modes really run.

No arguments: workbench mode, it execs the notebook launcher (``NOTEBOOK_START``, else
``start-notebook.sh`` from PATH). With arguments: runtime mode, it execs them (same PID,
arguments and exit code passed through).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template" / "entrypoint-universal.sh"
IMAGES = REPO / "images" / "universal" / "training"
ENTRYPOINTS = [TEMPLATE, *sorted(IMAGES.glob("*/entrypoint-universal.sh"))]
SH = shutil.which("sh") or "/bin/sh"


def _id(path: Path) -> str:
    return path.parent.name


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SH, str(TEMPLATE), *args], capture_output=True, text=True,
                          env=env, timeout=30, check=False)


def _launcher(path: Path, marker: Path) -> Path:
    """A stand-in for start-notebook.sh that records its PID and arguments."""
    path.write_text(f'#!/bin/sh\necho "$$ $#" > "{marker}"\necho notebook started\n',
                    encoding="utf-8")
    path.chmod(0o755)
    return path


def test_every_image_has_the_template_entrypoint() -> None:
    assert len(ENTRYPOINTS) >= 4
    for path in ENTRYPOINTS[1:]:
        assert path.read_bytes() == TEMPLATE.read_bytes(), path
        assert os.access(path, os.X_OK), f"{path} is not executable"


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=_id)
def test_entrypoint_parses_as_posix_sh(path: Path) -> None:
    proc = subprocess.run([SH, "-n", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding="utf-8").startswith("#!/bin/sh\n")


def test_no_arguments_starts_the_notebook_command(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    launcher = _launcher(tmp_path / "launch-notebook", marker)
    env = dict(os.environ, NOTEBOOK_START=str(launcher))
    proc = subprocess.Popen([SH, str(TEMPLATE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == "notebook started\n"
    pid, argc = marker.read_text(encoding="utf-8").split()
    assert int(pid) == proc.pid  # exec: the launcher replaced the entrypoint's shell
    assert argc == "0"


def test_no_arguments_finds_start_notebook_on_path(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    marker = tmp_path / "started"
    _launcher(bindir / "start-notebook.sh", marker)
    env = {k: v for k, v in os.environ.items() if k != "NOTEBOOK_START"}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    proc = _run(env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "notebook started\n"
    assert marker.exists()


def test_no_arguments_without_a_launcher_fails_loudly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NOTEBOOK_START"}
    env["PATH"] = str(tmp_path)  # no start-notebook.sh anywhere
    proc = _run(env=env)
    assert proc.returncode != 0
    assert "start-notebook.sh" in proc.stderr


def test_arguments_are_exec_ed_in_place() -> None:
    proc = subprocess.Popen([SH, str(TEMPLATE), SH, "-c", "echo $$"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert int(out.strip()) == proc.pid  # the same process: exec, not a child


def test_arguments_pass_through_unchanged_with_the_exit_code(tmp_path: Path) -> None:
    marker = tmp_path / "notebook-must-not-start"
    env = dict(os.environ, NOTEBOOK_START=str(_launcher(tmp_path / "launch", marker)))
    proc = _run("printf", "[%s]", "two words", "", "*", "$HOME", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[two words][][*][$HOME]"
    assert not marker.exists()
    failing = _run(SH, "-c", "echo out; echo err >&2; exit 7")
    assert (failing.returncode, failing.stdout, failing.stderr) == (7, "out\n", "err\n")


def test_the_dockerfiles_run_the_entrypoint_they_copy() -> None:
    for dockerfile in sorted(IMAGES.glob("*/Dockerfile")):
        text = dockerfile.read_text(encoding="utf-8")
        assert ("COPY --chmod=0755 entrypoint-universal.sh "
                "/usr/local/bin/entrypoint-universal.sh") in text, dockerfile
        assert 'ENTRYPOINT ["/usr/local/bin/entrypoint-universal.sh"]' in text, dockerfile
        assert "\nCMD" not in text, dockerfile  # no CMD: no arguments means workbench mode
