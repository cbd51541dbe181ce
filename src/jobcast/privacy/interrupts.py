"""SIGINT and SIGTERM as interrupts a release or an import can clean up after."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["signals_as_interrupts", "interrupted_by"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_as_interrupts() -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM raise :class:`KeyboardInterrupt`.

    Yields the list of signals received, so a caller can tell an interrupt from an
    error a library made of it (pandas reports a read broken off by Ctrl-C as a CSV
    that cannot be parsed). SIGTERM's default would end the process without running
    any ``finally``: here it unwinds like Ctrl-C, so a ledger entry can be settled and
    temporary files removed. Outside the main thread (the service) signals cannot be
    handled: the list stays empty and nothing changes.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    before = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    for sig in _SIGNALS:
        signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, old in before.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def interrupted_by(error: BaseException, received: list[int]) -> str | None:
    """The signal (``"SIGINT"``, ...) that caused ``error``, or None for a real error.

    An interrupt counts when a signal was received in :func:`signals_as_interrupts`,
    or when ``error`` is, or was raised while handling, a :class:`KeyboardInterrupt`.
    """
    if received:
        return signal.Signals(received[-1]).name
    seen: BaseException | None = error
    for _ in range(20):  # a cause chain is short; never loop on a cycle
        if seen is None:
            break
        if isinstance(seen, KeyboardInterrupt):
            return "SIGINT"
        seen = seen.__cause__ or seen.__context__
    return None
