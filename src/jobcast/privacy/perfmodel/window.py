"""perfmodel's runtime window: the clipping interval of ``log(runtime)``, ε-DP, and its centre.

A noisy histogram of ``log(runtime)`` inside the public (declared or search) range
with a bin width adapted to the noisy count; the window ``[L, U]`` is the run of bins
with the largest total noisy count minus a penalty per bin
(:func:`jobcast.privacy.bounds.dp_window`) -- never the raw extremes; ``c`` is the
noisy centre of mass inside it.  The histogram's noisy total is a second estimate of
the row count, combined with the first by inverse variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.bounds import SEARCH_LOWER, dp_log_range, dp_window
from jobcast.privacy.perfmodel.budget import (
    RowCount,
    count_posterior_mean,
    window_threshold,
    window_width,
)

__all__ = ["RuntimeWindow", "runtime_window"]


@dataclass(frozen=True)
class RuntimeWindow:
    """Where ``log(runtime)`` is clipped and centred.

    Attributes
    ----------
    low, high
        The window in seconds.
    centre, centre_var
        Noisy centre of ``log(runtime)`` and its variance (``None``: no window bought,
        the centre is the window's midpoint and no prior).
    total, n_low
        The combined row estimate and its low guess.
    width
        Bin width of the window's histogram (0: none), the slack of the final clip.
    """

    low: float
    high: float
    centre: float | None
    centre_var: float | None
    total: float
    n_low: float
    width: float


def runtime_window(
    t: np.ndarray,
    lower: float,
    upper: float,
    count: RowCount | None,
    *,
    accountant: Accountant | None,
    epsilon: float | None,
    name: str,
) -> RuntimeWindow:
    """The runtime window with ``epsilon`` (``None``: keep ``[lower, upper]``).

    Without DP (``accountant`` ``None``) the run from the first to the last non-empty
    bin of a histogram with bins of 0.25 log units (bin edges, never raw extremes).
    """
    if accountant is None:
        lo, hi = dp_log_range(
            t, accountant=None, lower=lower, upper=upper, width=0.25, mode="subarray"
        )
        return RuntimeWindow(lo, hi, None, None, float(len(t)), float(len(t)), 0.0)
    assert count is not None
    if epsilon is None:
        return RuntimeWindow(lower, upper, None, None, count.hint, count.low, 0.0)
    n_low = count.low
    width = window_width(n_low, epsilon)
    win = dp_window(
        t, accountant=accountant, label=f"window:{name}", epsilon=epsilon, lower=lower,
        upper=upper, width=width, threshold=window_threshold(n_low, epsilon),
        # The adjacent-bins fallback needs the data's total to stand out of the noise
        # of a 3-bin sum (std sqrt(6) / ε) wherever it lies, else a noise run far from
        # the data wins: then the whole declared range is safer.  Never in the public
        # search range: among its 40 to 170 bins the best block of a run that did not
        # stand out is as often noise as data; the release is refused instead.
        fallback=1 if n_low * epsilon >= 3 * np.sqrt(6.0) and lower > SEARCH_LOWER else None,
    )
    # Inverse-variance combination of the two noisy row counts (post-processing).
    v1, v2 = 2.0 / count.epsilon**2, 2.0 * win.bins / epsilon**2
    n_comb = (count.noisy / v1 + win.total / v2) / (1.0 / v1 + 1.0 / v2)
    total = count_posterior_mean(n_comb, float(np.sqrt(v1 * v2 / (v1 + v2) / 2.0)))
    # The window was bought on the first count's low guess; with both counts the low
    # guess may fall below the window's minimum signal (the first count was too high):
    # then a run that did not stand out of the noise is noise, and the declared range
    # is safer.  A significant run (its noisy total beat its penalties by 3 / ε) is kept:
    # its own rows decide, not the noise of the two totals.
    n_low = max(min(n_low, n_comb - 2.0 * np.sqrt(v1 * v2 / (v1 + v2))), 1.0)
    if not win.significant and n_low * epsilon < 3.0:
        return RuntimeWindow(lower, upper, None, None, total, n_low, width)
    return RuntimeWindow(win.low, win.high, win.centre, win.centre_var, total, n_low, width)
