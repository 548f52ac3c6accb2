"""`python -m localindex serve|run|build`: run the local index for a demo by hand.

The printed BUMPER_INDEX_MAP line lets bumper keep the public index URLs of
the example images while every request goes to this server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from pathlib import Path

from localindex.server import IndexServer
from localindex.wheels import UNIVERSE_PATH, build, universe_key


def cache_dir(universe: Path) -> Path:
    """A per-universe build dir under the user's cache, reused across runs."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bumper-localindex" / universe_key(universe)[:16]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m localindex", description=__doc__)
    parser.add_argument("--universe", type=Path, default=UNIVERSE_PATH, help="universe file")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="build the wheels and serve them until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    serve.add_argument("--hide-late", action="store_true", help="hide `late` versions")
    serve.add_argument("--auth", metavar="USER:PASS", help="require HTTP Basic auth")
    run = sub.add_parser("run", help="serve while one command runs, with BUMPER_INDEX_MAP set")
    run.add_argument("--hide-late", action="store_true", help="hide `late` versions")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    out = sub.add_parser("build", help="only build the wheels")
    out.add_argument("out_dir", type=Path, nargs="?", help="default: the cache dir")
    args = parser.parse_args(argv)

    if args.command == "build":
        target = args.out_dir or cache_dir(args.universe)
        wheels = build(args.universe, target)
        print(f"{sum(map(len, wheels.values()))} wheels in {target}")
        return 0

    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("run needs a command after --")
        root = cache_dir(args.universe)
        build(args.universe, root)
        with IndexServer(root, hide_late=args.hide_late) as server:
            env = dict(os.environ, BUMPER_INDEX_MAP=server.prefix_map)
            return subprocess.run(cmd, env=env, check=False).returncode

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep:
            parser.error("--auth must be USER:PASS")
        auth = (user, password)
    root = cache_dir(args.universe)
    build(args.universe, root)
    server = IndexServer(root, port=args.port, auth=auth, hide_late=args.hide_late)
    with server:
        print(f"localindex serving {server.base_url}  (wheels in {root})")
        for index in server.indexes:
            print(f"  {index}: {server.index_url(index)}")
        if auth:
            print(f"  Basic auth required for user {auth[0]!r}")
        print(f"BUMPER_INDEX_MAP={server.prefix_map}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
