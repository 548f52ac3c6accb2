"""Start-up cost of the CLI: median wall time of `bumper --help` and `bumper check`.

Run from the repo root:  .venv/bin/python bench/startup.py [--runs 15]

Each command runs in a fresh process (as a user would run it), several times;
the median is printed next to `python -c pass`, the floor any Python CLI pays.
Targets: --help <= 0.15 s, check <= 0.3 s on the bundled example folders.

Bytecode caching is switched on for the runs (PYTHONDONTWRITEBYTECODE is dropped):
an installed bumper runs from .pyc files, and compiling its modules from source on
every start would add some 25 ms that no user pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TARGETS = {"bumper --help": 0.15, "bumper check": 0.3}


def bumper_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bumper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bumper"]


def wall_times(cmd: list[str], runs: int, env: dict[str, str],
               ok_codes: tuple[int, ...] = (0,)) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode().strip()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    args = parser.parse_args()
    env = ENV
    bumper = bumper_cmd()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bumper --help": [*bumper, "--help"],
        "bumper check": [*bumper, "--repo", str(REPO), "check"],
    }
    for cmd in cases.values():  # warm the file cache and write the .pyc files
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=False, env=env)
    times = {name: wall_times(cmd, args.runs, env) for name, cmd in cases.items()}
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["python -c pass"]
    print(f"median wall time of {args.runs} runs each ({sys.executable}); "
          "min shows the noise")
    missed = False
    for name, value in medians.items():
        line = (f"{name:<16} {value:6.3f} s (min {min(times[name]):5.3f})   "
                f"x{value / floor:4.1f} of python -c pass")
        if name in TARGETS:
            ok = value <= TARGETS[name]
            missed |= not ok
            line += f"   target <= {TARGETS[name]:.2f} s: {'ok' if ok else 'MISSED'}"
        print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
