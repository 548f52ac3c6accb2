"""Wall time of a major bump, with and without the lock, next to a bare `uv pip compile`.

Run from the repo root:  .venv/bin/python bench/bump.py [--runs 11]

What runs (each in a fresh process, as a user would run it), in one temporary git
repository holding the bundled examples, against the local index (started here, in
this process):

  no lock   bumper major --cuda 12.8 --no-lock --no-commit     target: median <= 0.6 s
  lock      bumper major --cuda 12.8 --no-commit
  bare uv   uv pip compile of the same folder against the same index (cuda12.8), as a
            person runs it: the command the folder's pyproject.toml header shows, with
            the folder's lock as the output file    target: lock / bare uv <= 1.15
  uv as bumper runs it
            the exact command bumper.lock builds (for the record: what bumper adds on top
            of its own uv call)

The commands are interleaved round by round (so that load on the machine hits them
alike), after one untimed warm-up round that fills uv's cache; the repository is reset
between runs, outside the timed part. Bytecode caching is on, as for an installed bumper.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bumper import lock  # noqa: E402
from bumper.urls import IndexUrl  # noqa: E402
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


class UvFolder:
    """A copy of the source folder, compiled as the new folder would be (cuda12.8 index)."""

    def __init__(self, root: Path, work: Path, index: IndexServer) -> None:
        self.folder = work / "uv-folder"
        shutil.copytree(root / IMAGES / SOURCE, self.folder)
        self.output = self.folder / "requirements.txt"
        self.seed = self.output.read_text(encoding="utf-8").split("\n", 1)[1]
        local = index.index_url("cuda12.8-ubi9")
        # what the pyproject.toml header tells a person to run
        self.bare = [lock.uv_bin(), "pip", "compile", "--generate-hashes",
                     f"--index-url={local}", "--python-platform=linux",
                     "--python-version=3.12", "-o", "requirements.txt", "pyproject.toml",
                     "--quiet"]
        job = lock.LockJob(folder=self.folder, rel=f"{IMAGES}/{TARGET}",
                           index=IndexUrl(index.public_index_url("cuda12.8-ubi9")),
                           python="3.12")
        self.as_bumper = lock.command(job, self.output)

    def prepare(self) -> None:
        """The folder's lock as the output file, without its index line (as bumper does)."""
        self.output.write_text(self.seed, encoding="utf-8")


def summary(name: str, times: list[float]) -> str:
    return (f"{name:<48} median {statistics.median(times):6.3f} s   "
            f"min {min(times):6.3f} s   max {max(times):6.3f} s   (n={len(times)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="timed rounds (default 11)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bumper-bench-"))
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("UV_", "BUMPER_"))}
    env.update(UV_CACHE_DIR=str(work / "uv-cache"), UV_PYTHON_DOWNLOADS="never",
               UV_NO_PROGRESS="1", NO_COLOR="1",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    names = ("no lock", "lock", "bare uv", "uv as bumper runs it")
    results: dict[str, list[float]] = {name: [] for name in names}
    try:
        root = make_repo(work, env)
        with IndexServer(ensure_built()) as index:
            env["BUMPER_INDEX_MAP"] = os.environ["BUMPER_INDEX_MAP"] = index.prefix_map
            os.environ["UV_PYTHON_DOWNLOADS"] = "never"
            bumper = bumper_cmd()
            uv = UvFolder(root, work, index)
            commands = {
                "no lock": ([*bumper, "major", "--cuda", "12.8", "--no-lock", "--no-commit"],
                            root, lambda: reset(root, env)),
                "lock": ([*bumper, "major", "--cuda", "12.8", "--no-commit"], root,
                         lambda: reset(root, env)),
                "bare uv": (uv.bare, uv.folder, uv.prepare),
                "uv as bumper runs it": (uv.as_bumper, uv.folder, uv.prepare),
            }
            for round_ in range(args.runs + 1):  # the first round warms caches, untimed
                for name, (cmd, cwd, before) in commands.items():
                    before()
                    took = timed(cmd, cwd, env)
                    if round_:
                        results[name].append(took)
                    if name == "lock" and not (root / IMAGES / TARGET / "requirements.txt"
                                               ).exists():
                        raise SystemExit("bumper did not write the new folder")
                reset(root, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {name: statistics.median(times) for name, times in results.items()}
    ratio = med["lock"] / med["bare uv"]
    # each round's bumper run next to the uv run of the same round: less exposed to the
    # load of the machine drifting between rounds
    paired = statistics.median(b / u for b, u in zip(results["lock"], results["bare uv"],
                                                     strict=True))
    labels = {"no lock": "bumper major --cuda 12.8 --no-lock --no-commit",
              "lock": "bumper major --cuda 12.8 --no-commit",
              "bare uv": "uv pip compile (same folder, same index)",
              "uv as bumper runs it": "  the uv command bumper runs, alone"}
    for name in names:
        print(summary(labels[name], results[name]))
    print()
    ok_fast = med["no lock"] <= NO_LOCK_TARGET
    ok_ratio = ratio <= RATIO_TARGET
    print(f"no lock: {med['no lock']:.3f} s (target <= {NO_LOCK_TARGET} s) "
          f"{'ok' if ok_fast else 'MISSED'}")
    print(f"lock / bare uv: {ratio:.3f}x  (bumper {med['lock']:.3f} s, uv "
          f"{med['bare uv']:.3f} s; target <= {RATIO_TARGET}x) {'ok' if ok_ratio else 'MISSED'}"
          f"; round by round: median {paired:.3f}x")
    print(f"bumper beyond its own uv call: {med['lock'] - med['uv as bumper runs it']:+.3f} s")
    return 0 if ok_fast and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
