"""What ``watch`` shows: its live display and the line of each tick."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from jobcast.app.follow import Tick

__all__ = ["iteration_line", "live", "tick_line"]


@contextmanager
def live(screen: Console, waiting: str) -> Iterator[Live]:
    """The live display of ``watch``, its last line ended also outside a terminal."""
    from rich.live import Live
    from rich.text import Text

    try:
        with Live(
            Text(waiting),
            console=screen,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
        ) as display:
            yield display
    finally:
        # outside a terminal rich prints the display's last state without an end of line,
        # and the summary (or an error) would follow on the same line
        if not screen.is_terminal:
            screen.line()


def tick_line(tick: Tick) -> Text:
    """The live line of a tick: the estimate of the running application, or its end.

    Parameters
    ----------
    tick
        The tick of :func:`jobcast.app.follow.follow`.

    Returns
    -------
    rich.text.Text
        A progress bar with the estimate; without one, the iterations done and the time
        elapsed (then why there is no estimate), or since the end, the time it ran.
    """
    from rich.text import Text

    done = tick.done
    elapsed = (tick.now - tick.started_at).total_seconds()
    if tick.ended_at is not None:  # no estimate after the application's end
        return Text(f"iterations done: {done}   ended after {elapsed:.0f} s")
    est = tick.estimate
    if est is None:
        why = "no estimate" if tick.problem is None else tick.problem
        return Text(f"iterations done: {done}   elapsed: {elapsed:.0f} s   ({why})")
    width = 30
    filled = int(est.progress * width)
    bar = "█" * filled + "░" * (width - filled)
    lo, hi = est.interval_s
    risk = "" if est.deadline_risk is None else f"  deadline risk {est.deadline_risk:.0%}"
    return Text(
        f"{bar} {est.progress:4.0%}  iterations: {done}  elapsed: {est.elapsed_s:.0f} s  "
        f"remaining: ~{est.remaining_s:.0f} s ({lo:.0f}-{hi:.0f})  "
        f"finish ≈ {est.finish_at:%H:%M:%S} UTC{risk}"
    )


def iteration_line(estimate: dict[str, Any]) -> str:
    """One plain line per finished iteration, for output that is not a terminal.

    Outside a terminal the live display shows only its last state, so ``watch`` under
    ``nohup``, cron or CI would print no estimate at all.

    Parameters
    ----------
    estimate
        The estimate's JSON form (:class:`jobcast.app.follow.Estimated`).
    """
    lo, hi = estimate["interval_s"]
    risk = estimate.get("deadline_risk")
    return (
        f"after iteration {estimate['iterations_done']}: elapsed {estimate['elapsed_s']:.0f} s, "
        f"remaining ~{estimate['remaining_s']:.0f} s ({lo:.0f}-{hi:.0f}), finish ≈ "
        f"{str(estimate['finish_at'])[11:19]} UTC"
        + ("" if risk is None else f", deadline risk {risk:.0%}")
    )
