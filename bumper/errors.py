"""Errors a user can act on, each with its exit code.

The CLI turns these into one line on stderr and the exit code; nothing else
in the package decides exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_EXTERNAL = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130


class BumperError(Exception):
    """A failure with a one-line message meant for the user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(BumperError):
    """Bad input: a flag, a value, a folder or a file the user can fix (exit 2)."""

    exit_code = EXIT_USAGE


class ExternalError(BumperError):
    """Something outside bumper failed: the index, uv or git (exit 3)."""

    exit_code = EXIT_EXTERNAL


class FindingsError(BumperError):
    """The request would make something that does not hold (exit 1, as check findings)."""

    exit_code = EXIT_FINDINGS
