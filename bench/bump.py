"""Wall time of a major bump, with and without the lock, next to a bare `uv pip compile`.

Run from the repo root:  .venv/bin/python bench/bump.py [--runs 9]

What runs (each in a fresh process, as a user would run it), in one temporary git
repository holding the bundled examples, against the local index (started here, in
this process):

  no lock   bumper major --cuda 12.8 --no-lock --no-commit     target: median <= 0.6 s
  lock      bumper major --cuda 12.8 --no-commit
  uv        uv pip compile of the same folder against the same index (cuda12.8), the
            command bumper runs, output seeded with the folder's lock as bumper does
                                                              target: lock / uv <= 1.15

The three are interleaved run by run (so that load on the machine hits them alike),
after one warm-up run of each that fills uv's cache; the repository is reset between
runs, outside the timed part. Bytecode caching is on, as for an installed bumper.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from localindex.server import IndexServer  # noqa: E402
from localindex.wheels import ensure_built  # noqa: E402

IMAGES = "images/universal/training"
SOURCE = "th05-cuda130-torch291-py312"
TARGET = "th05-cuda128-torch291-py312"
NO_LOCK_TARGET = 0.6
RATIO_TARGET = 1.15


def bumper_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bumper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bumper"]


def uv_bin() -> str:
    import uv

    return str(uv.find_uv_bin())


def git(root: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)


def make_repo(work: Path, env: dict[str, str]) -> Path:
    root = work / "repo"
    shutil.copytree(REPO / IMAGES, root / IMAGES)
    git(root, "init", "-q", "-b", "main", env=env)
    git(root, "add", "-A", env=env)
    git(root, "commit", "-q", "-m", "examples", env=env)
    return root


def reset(root: Path, env: dict[str, str]) -> None:
    git(root, "checkout", "-q", "--", ".", env=env)
    git(root, "clean", "-fdq", "--", IMAGES, env=env)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return took


def uv_job(root: Path, work: Path,
           index: IndexServer) -> tuple[list[str], Path, Callable[[], None]]:
    """The compile bumper runs for the new folder, on a copy of the source folder."""
    folder = work / "uv-folder"
    shutil.copytree(root / IMAGES / SOURCE, folder)
    output = work / "uv-out" / "requirements.txt"
    output.parent.mkdir()
    seed = (folder / "requirements.txt").read_text(encoding="utf-8").split("\n", 1)[1]
    cmd = [uv_bin(), "pip", "compile", "pyproject.toml", "--generate-hashes",
           "--python-platform=linux", "--python-version=3.12",
           f"--index-url={index.index_url('cuda12.8-ubi9')}", "-o", str(output),
           "--custom-compile-command", f"bumper lock {IMAGES}/{TARGET}", "--no-config",
           "--quiet"]

    def prepare() -> None:
        output.write_text(seed, encoding="utf-8")

    return cmd, folder, prepare


def summary(name: str, times: list[float]) -> str:
    return (f"{name:<44} median {statistics.median(times):6.3f} s   "
            f"min {min(times):6.3f} s   max {max(times):6.3f} s   (n={len(times)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each (default 9)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bumper-bench-"))
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("UV_", "BUMPER_"))}
    env.update(UV_CACHE_DIR=str(work / "uv-cache"), UV_PYTHON_DOWNLOADS="never",
               UV_NO_PROGRESS="1", NO_COLOR="1",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    try:
        root = make_repo(work, env)
        with IndexServer(ensure_built()) as index:
            env["BUMPER_INDEX_MAP"] = index.prefix_map
            bumper = bumper_cmd()
            no_lock = [*bumper, "major", "--cuda", "12.8", "--no-lock", "--no-commit"]
            locked = [*bumper, "major", "--cuda", "12.8", "--no-commit"]
            uv_cmd, uv_cwd, uv_prepare = uv_job(root, work, index)
            results: dict[str, list[float]] = {"no lock": [], "lock": [], "uv": []}
            for run in range(args.runs + 1):  # the first round warms caches, untimed
                uv_prepare()
                uv_time = timed(uv_cmd, uv_cwd, env)
                lock_time = timed(locked, root, env)
                if not (root / IMAGES / TARGET / "requirements.txt").exists():
                    raise SystemExit("bumper did not write the new folder")
                reset(root, env)
                no_lock_time = timed(no_lock, root, env)
                reset(root, env)
                if run:
                    results["uv"].append(uv_time)
                    results["lock"].append(lock_time)
                    results["no lock"].append(no_lock_time)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {name: statistics.median(times) for name, times in results.items()}
    ratio = med["lock"] / med["uv"]
    # each round's bumper run next to the uv run just before it: less exposed to the load
    # of the machine drifting between rounds
    paired = statistics.median(b / u for b, u in zip(results["lock"], results["uv"], strict=True))
    print(summary("bumper major --cuda 12.8 --no-lock --no-commit", results["no lock"]))
    print(summary("bumper major --cuda 12.8 --no-commit", results["lock"]))
    print(summary("uv pip compile (same folder, same index)", results["uv"]))
    print()
    ok_fast = med["no lock"] <= NO_LOCK_TARGET
    ok_ratio = ratio <= RATIO_TARGET
    print(f"no lock: {med['no lock']:.3f} s (target <= {NO_LOCK_TARGET} s) "
          f"{'ok' if ok_fast else 'MISSED'}")
    print(f"lock / uv: {ratio:.3f}x  (bumper {med['lock']:.3f} s, uv {med['uv']:.3f} s, "
          f"overhead {med['lock'] - med['uv']:+.3f} s; target <= {RATIO_TARGET}x) "
          f"{'ok' if ok_ratio else 'MISSED'}")
    print(f"lock / uv, round by round: median {paired:.3f}x")
    return 0 if ok_fast and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
