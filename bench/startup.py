"""Start-up cost of the CLI: median wall time of `bumper --help` and `bumper check`.

Run from the repo root:  .venv/bin/python bench/startup.py [--runs 15] [--check-repo PATH]

Each command runs in a fresh process (as a user would run it), several times;
the median wall time is printed next to `python -c pass`, the floor any Python
CLI pays, with the ratio. The minimum and the median CPU time (user + system)
show how much of the median is other work on a shared machine.
Targets: --help <= 0.15 s, check <= 0.3 s on the bundled example folders (or on the
repository given with --check-repo, e.g. one whose conventions `bumper init` wrote or
`check` learns from its folders).

Bytecode caching is switched on for the runs (PYTHONDONTWRITEBYTECODE is dropped):
an installed bumper runs from .pyc files, and compiling its modules from source on
every start would add some 25 ms that no user pays.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def run_times(cmd: list[str], runs: int, env: dict[str, str],
              ok_codes: tuple[int, ...] = (0,)) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run. CPU time hardly moves when other
    work shares the machine; wall time does."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode not in ok_codes:
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode().strip()}")
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--check-repo", type=Path, default=REPO,
                        help="repository `bumper check` runs on (default: this one)")
    args = parser.parse_args()
    env = ENV
    bumper = bumper_cmd()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bumper --help": [*bumper, "--help"],
        "bumper check": [*bumper, "--repo", str(args.check_repo.resolve()), "check"],
    }
    for cmd in cases.values():  # warm the file cache and write the .pyc files
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=False, env=env)
    times = {name: run_times(cmd, args.runs, env) for name, cmd in cases.items()}
    medians = {name: statistics.median(walls) for name, (walls, _) in times.items()}
    floor = medians["python -c pass"]
    print(f"{args.runs} runs each ({sys.executable}), load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'':16} {'median':>8} {'min':>7} {'cpu':>7}   ratio")
    missed = False
    for name, value in medians.items():
        walls, cpus = times[name]
        line = (f"{name:<16} {value:7.3f}s {min(walls):6.3f}s {statistics.median(cpus):6.3f}s"
                f"   x{value / floor:4.1f}")
        if name in TARGETS:
            ok = value <= TARGETS[name]
            missed |= not ok
            line += f"   target <= {TARGETS[name]:.2f} s: {'ok' if ok else 'MISSED'}"
        print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
