"""The console entry point: signal handlers first, then the CLI.

`import click` and the CLI module take tens of milliseconds; a Ctrl-C, SIGTERM or SIGHUP
in that time ends bumper with "interrupted" and exit 130, not a Python traceback."""

from __future__ import annotations

import contextlib
import sys
from typing import NoReturn

from bumper.errors import EXIT_INTERRUPTED


def main() -> None:
    from bumper import signals

    try:
        signals.install()
        from bumper import cli
    except KeyboardInterrupt:
        interrupted()
    cli.main()


def interrupted() -> NoReturn:
    """Say so and exit 130 (the terminal may be gone after a SIGHUP: never fail on it)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write("bumper: interrupted\n")
        sys.stderr.flush()
    sys.exit(EXIT_INTERRUPTED)
