"""Executors over time: the one place that turns executor additions and removals into scale-outs."""

from __future__ import annotations

__all__ = ["ExecutorTimeline"]

_DRIVER = "driver"


class ExecutorTimeline:
    """When each executor of an application was added and removed.

    Event logs (``SparkListenerExecutorAdded/Removed``) and the REST API
    (``allexecutors``) both fill one, in any time unit as long as it is one unit.
    The driver counts only when there is no other executor (local mode, where the
    driver runs the tasks), and at least one executor is always counted.

    Examples
    --------
    >>> t = ExecutorTimeline()
    >>> t.add("1", 0.0); t.add("2", 0.0); t.add("3", 500.0)
    >>> t.scale_out(0.0, 2000.0)  # 2 executors for 500, 3 for 1500: 2.75
    3
    """

    def __init__(self) -> None:
        self._spans: dict[str, tuple[float, float | None]] = {}

    def add(self, executor: str, at: float) -> None:
        """An executor joined at ``at`` (a repeated report keeps the first time)."""
        known = self._spans.get(executor)
        if known is None or at < known[0]:
            self._spans[executor] = (at, None if known is None else known[1])

    def remove(self, executor: str, at: float) -> None:
        """An executor left at ``at``."""
        known = self._spans.get(executor)
        self._spans[executor] = (at if known is None else known[0], at)

    def set(self, executor: str, added: float, removed: float | None) -> None:
        """Replace what is known of an executor (the REST API reports all of them at once)."""
        self._spans[executor] = (added, removed)

    def _workers(self) -> list[tuple[float, float | None]]:
        workers = [span for ex, span in self._spans.items() if ex != _DRIVER]
        return workers or list(self._spans.values())

    def alive_at(self, t: float) -> int:
        """Executors alive at ``t`` (at least 1)."""
        n = sum(1 for a, r in self._workers() if a <= t and (r is None or r > t))
        return max(n, 1)

    def alive_now(self) -> int:
        """Executors not removed (at least 1)."""
        return max(1, sum(1 for _, r in self._workers() if r is None))

    def max_alive(self) -> int:
        """Most executors alive at any time (at least 1)."""
        return max([self.alive_at(a) for a, _ in self._workers()], default=1)

    def scale_out(self, start: float, end: float) -> int:
        """Time-weighted number of executors over ``[start, end]``, rounded (at least 1)."""
        span = end - start
        if span <= 0:
            return self.alive_at(end)
        cuts = sorted(
            {start, end}
            | {t for a, r in self._workers() for t in (a, r) if t is not None and start < t < end}
        )
        area = sum(self.alive_at(t0) * (t1 - t0) for t0, t1 in zip(cuts, cuts[1:], strict=False))
        return max(1, round(area / span))
