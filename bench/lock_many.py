"""`bumper lock` over 6 folders next to the same uv commands run one after another.

Run from the repo root:  .venv/bin/python bench/lock_many.py [--runs 3] [--cold]

The three bundled example folders and three copies under other names sit in a throwaway
repo; the local index serves them (one server per latency: uv keys its cache by URL,
port included). Both sides use the same uv cache: warmed once before timing (the usual
case: a relock on a machine that has locked before), or, with --cold, a new empty cache
for every measurement. Each request
to the index gets a latency added: none, 20 ms and 100 ms by default (a remote index over
TLS answers in tens to hundreds of ms). Without latency a relock of one folder takes uv
about 0.2 s, and bumper's own start-up (Python, one interpreter lookup) weighs as much as
the six locks: running them at once pays when uv waits on the index.

Timed:
  bumper    `bumper lock` (every folder, concurrently), a fresh process, start-up included
  one by one  the very uv commands bumper runs (bumper.lock.command), one after another
Target: bumper <= 0.6 x one by one.
With --by-hand, also the commands as the issue spells them (no --python), one by one.
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

from localindex.server import IndexServer  # noqa: E402
from localindex.wheels import ensure_built  # noqa: E402

IMAGES = "images/universal/training"
EXAMPLES = ("th05-cpu-torch291-py312", "th05-cuda130-torch291-py312",
            "th05-rocm64-torch291-py312")
COPIES = ("th05b-cpu-torch291-py312", "th05b-cuda130-torch291-py312",
          "th05b-rocm64-torch291-py312")
TARGET = 0.6


def make_repo(root: Path) -> list[str]:
    for name in EXAMPLES:
        shutil.copytree(REPO / IMAGES / name, root / IMAGES / name)
    for name, source in zip(COPIES, EXAMPLES, strict=True):
        shutil.copytree(REPO / IMAGES / source, root / IMAGES / name)
    return sorted(EXAMPLES + COPIES)


def bumper_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bumper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bumper"]


def env_for(server: IndexServer, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUMPER_", "UV_"))}
    env.update(BUMPER_INDEX_MAP=server.prefix_map, UV_CACHE_DIR=str(cache),
               UV_PYTHON_DOWNLOADS="never", NO_COLOR="1")
    return env


def time_bumper(root: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([*bumper_cmd(), "--repo", str(root), "lock"], env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bumper lock failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def uv_commands(root: Path, env: dict[str, str], out: Path) -> list[tuple[list[str], Path]]:
    """(command, folder) of each lock, exactly as bumper builds them (same mapped index)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from bumper import config, discover, lock

        cfg = config.load(root)
        commands = []
        for path in discover.resolve(cfg, ()):
            image = discover.load(cfg, path)
            job = lock.job_for(image)
            target = out / f"{image.name}.txt"
            shutil.copyfile(path / "requirements.txt", target)  # the same pins to prefer
            commands.append((lock.command(job, target), path))
        return commands
    finally:
        os.environ.clear()
        os.environ.update(saved)


def time_one_by_one(root: Path, env: dict[str, str], out: Path, by_hand: bool = False) -> float:
    commands = uv_commands(root, env, out)
    if by_hand:  # as the issue spells the command: uv looks for the interpreter each time
        commands = [([a for a in cmd if not a.startswith("--python=")], folder)
                    for cmd, folder in commands]
    uv_env = dict(env, UV_NO_PROGRESS="1")
    start = time.perf_counter()
    for cmd, folder in commands:
        subprocess.run(cmd, cwd=folder, env=uv_env, check=True, capture_output=True)
    return time.perf_counter() - start


def serve(latency: float) -> IndexServer:
    server = IndexServer(ensure_built())
    server.delay = latency
    return server


def measure(server: IndexServer, root: Path, work: Path, cold: bool, run: int,
            by_hand: bool) -> tuple[float, float, float | None]:
    """One round on one server: uv's cache keys pages by URL, port included, so both
    sides must talk to the same server for the warm cache to mean the same to them."""
    warm_cache = work / "cache-warm"
    cache = work / f"cache-a{run}" if cold else warm_cache
    a = time_bumper(root, env_for(server, cache))
    cache = work / f"cache-b{run}" if cold else warm_cache
    out = work / f"out-{run}"
    out.mkdir()
    b = time_one_by_one(root, env_for(server, cache), out)
    c = None
    if by_hand:
        cache = work / f"cache-c{run}" if cold else warm_cache
        out = work / f"out-hand-{run}"
        out.mkdir()
        c = time_one_by_one(root, env_for(server, cache), out, by_hand=True)
    return a, b, c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per latency (median shown)")
    parser.add_argument("--cold", action="store_true", help="an empty uv cache for every run")
    parser.add_argument("--by-hand", action="store_true",
                        help="also time the uv commands without --python, as the issue "
                             "spells them (uv then looks for a Python on every call)")
    parser.add_argument("--latency", type=float, action="append",
                        help="seconds added per request (repeatable; default 0, 0.02 and 0.1)")
    args = parser.parse_args()
    latencies = args.latency or [0.0, 0.02, 0.1]

    cores = os.cpu_count() or 1
    print(f"lock: {len(EXAMPLES + COPIES)} folders, {'cold' if args.cold else 'warm'} uv cache, "
          f"{cores} cores, median of {args.runs} runs; target: bumper <= {TARGET} x one by one")
    print("  added latency   bumper lock   same uv commands one by one   ratio"
          + ("   uv by hand one by one   ratio" if args.by_hand else ""))
    for latency in latencies:
        with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp:
            work = Path(tmp)
            root = work / "repo"
            make_repo(root)
            with serve(latency) as server:
                if not args.cold:  # warm the shared cache once, untimed
                    time_bumper(root, env_for(server, work / "cache-warm"))
                rows = [measure(server, root, work, args.cold, run, args.by_hand)
                        for run in range(args.runs)]
        ours = statistics.median(a for a, _, _ in rows)
        theirs = statistics.median(b for _, b, _ in rows)
        verdict = "OK" if ours / theirs <= TARGET else "MISSED"
        line = (f"  {latency * 1000:6.0f} ms      {ours:8.2f} s   {theirs:17.2f} s"
                f"             {ours / theirs:5.2f}  {verdict:6}")
        if args.by_hand:
            hand = statistics.median(c for _, _, c in rows if c is not None)
            line += f"   {hand:12.2f} s        {ours / hand:5.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
