"""Signals: SIGTERM and SIGHUP end every command as Ctrl-C does (the same rollback, exit
130), and the stretch that must not be cut (the swap, the commit, its report) holds all
three back. Imports nothing heavy: it is installed before click is imported."""

from __future__ import annotations

import signal
from types import FrameType

# What a user or a supervisor sends to stop a command; SIGKILL cannot be caught (the next
# run recovers what it leaves, see apply.recover_stale).
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so one path rolls back all three."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """SIGTERM and SIGHUP raise `Interrupted` in the main thread (SIGINT already raises
    KeyboardInterrupt)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)


class Deferred:
    """Hold SIGINT, SIGTERM and SIGHUP back from `start()` to `stop()`; `held` lists what
    came meanwhile. Outside the main thread it does nothing (signals go to the main one)."""

    def __init__(self) -> None:
        self.held: list[int] = []
        self._previous: dict[int, object] = {}

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self.held.append(signum)

    def start(self) -> Deferred:
        try:
            for sig in STOPPING:
                self._previous[sig] = signal.signal(sig, self._hold)
        except ValueError:  # not the main thread
            self._previous.clear()
        return self

    def stop(self) -> list[int]:
        previous, self._previous = self._previous, {}
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        return self.held
