"""Holding back what a release's mechanism logs until its spend is charged.

A mechanism's messages (a warning drawn from its noisy count, a note about the owner's
rows) are outputs of a run on the private rows. Were they shown before the ledger's
charge commits, an interrupt (Ctrl-C, a timeout's SIGTERM) between the two would show
them for free, again and again. :func:`held_logs` keeps every record logged by the
calling thread while it is open; :meth:`HeldLogs.emit` shows them once the charge is
committed, and records not emitted are dropped when the block ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["HeldLogs", "held_logs"]


class HeldLogs(logging.Filter):
    """A filter on every handler that keeps the calling thread's records instead."""

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []
        self._held: set[int] = set()
        self._holding = True

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep this thread's records while holding (other threads' pass)."""
        if not self._holding or record.thread != self._thread:
            return True
        if id(record) not in self._held:  # every handler asks about the same record
            self._held.add(id(record))
            self.records.append(record)
        return False

    def emit(self) -> None:
        """Stop holding and show the kept records, in order, through their loggers."""
        self._holding = False
        records, self.records = self.records, []
        self._held.clear()
        for record in records:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)


def _handlers() -> list[logging.Handler]:
    """Every handler a record of any logger can reach, ``logging.lastResort`` included."""
    found: list[logging.Handler] = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            found += logger.handlers
    if logging.lastResort is not None:
        found.append(logging.lastResort)
    unique: dict[int, logging.Handler] = {id(h): h for h in found}
    return list(unique.values())


@contextmanager
def held_logs() -> Iterator[HeldLogs]:
    """Hold the calling thread's log records until :meth:`HeldLogs.emit`; drop the rest.

    Handlers added while the block runs are not covered (a release adds none).
    """
    hold = HeldLogs()
    handlers = _handlers()
    for handler in handlers:
        handler.addFilter(hold)
    try:
        yield hold
    finally:
        hold._holding = False
        for handler in handlers:
            handler.removeFilter(hold)
