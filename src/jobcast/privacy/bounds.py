"""Differentially private range of a positive column, bought with an explicit share of ε.

Mechanism: a histogram of ``log(x)`` over fixed, public bins (log-spaced between a
public search range) is released with discrete Laplace noise; every execution falls in
exactly one bin, so the L1 sensitivity of the whole histogram is 1 under adding or
removing one execution (Dwork et al., TCC 2006; parallel composition, McSherry,
SIGMOD 2009).  The range is then read off the *noisy* histogram (post-processing):
counts below a noise threshold are dropped and the noisy ``q`` and ``1 - q``
quantiles give the bounds.  Nothing about the raw minimum or maximum is used.
"""

from __future__ import annotations

import numpy as np

from jobcast.errors import DomainError
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int

__all__ = ["SEARCH_LOWER", "SEARCH_UPPER", "dp_log_range"]

#: Public search range for undeclared log-scale bounds: 2**-20 .. 2**40.
SEARCH_LOWER = 2.0**-20
SEARCH_UPPER = 2.0**40


def dp_log_range(
    x: np.ndarray,
    *,
    accountant: Accountant | None,
    label: str = "bounds",
    epsilon: float | None = None,
    lower: float = SEARCH_LOWER,
    upper: float = SEARCH_UPPER,
    width: float = float(np.log(2.0)),
    quantile: float = 0.02,
    threshold: float | None = None,
    mode: str = "quantile",
    fallback: int | None = None,
) -> tuple[float, float]:
    """Estimate a range holding most of the positive values ``x`` with ε-DP.

    Parameters
    ----------
    x
        Private positive values (one per execution); values outside
        ``[lower, upper]`` are clipped into the end bins.
    accountant, label, epsilon
        The release's accountant, the label and ε of this estimate's spend (``epsilon``
        ``None``: all that remains); ``accountant=None`` only for an explicit no-DP
        release (no noise, still bin edges, never raw extremes).
    lower, upper
        Public search range.
    width
        Bin width in natural-log units (``log(2)``: bins are powers of two).
    quantile
        Noisy quantile taken at each end.
    threshold
        Noisy counts at or below ``threshold / epsilon`` are treated as empty.  The
        default ``ln(bins / 0.05)`` makes a spurious (empty but kept) bin unlikely
        anywhere in a wide search range; a narrow window may use a lower threshold.
        When no bin passes, the range is the noisy mode's bin widened by three bins
        on each side.  ``threshold <= 0`` reads the quantiles off the *unclamped*
        cumulative noisy counts instead (zero-mean noise of empty bins cancels).
    mode
        ``"quantile"`` as above; ``"subarray"``: the contiguous run of bins with the
        largest total of noisy count minus ``threshold / epsilon`` per bin (no
        ``quantile``); when no run's total reaches ``3 / epsilon`` the whole search
        range is returned, or with ``fallback`` the noisy mode's bin widened by that
        many bins on each side; without noise, the run from the first to the last
        non-empty bin.

    Returns
    -------
    tuple of float
        ``(low, high)`` bin edges with ``lower <= low < high <= upper``.
    """
    if not 0 < lower < upper:
        raise DomainError(f"search range must satisfy 0 < lower < upper, got {lower}, {upper}")
    lo, hi = np.log(lower), np.log(upper)
    nbins = max(int(np.ceil((hi - lo) / width)), 1)
    edges = lo + width * np.arange(nbins + 1)
    edges[-1] = hi
    v = np.log(np.clip(np.asarray(x, dtype=float), lower, upper))
    idx = np.clip(((v - lo) / width).astype(np.int64), 0, nbins - 1)
    counts = np.bincount(idx, minlength=nbins)
    if accountant is None:
        eps: float | None = None
        noisy = counts.astype(float)
        floor = 0.0
    else:
        eps = accountant.remaining if epsilon is None else float(epsilon)
        noisy = laplace_int(
            counts, sensitivity=1, accountant=accountant, label=label, epsilon=epsilon
        ).astype(float)
        t = float(np.log(nbins / 0.05)) if threshold is None else float(threshold)
        floor = t / eps
    # Post-processing only from here on.
    if mode == "subarray":
        # The contiguous run of bins with the largest total of (noisy count - penalty):
        # zero-mean noise of empty bins costs `penalty` per bin, so isolated noise
        # spikes far from the data are not joined, while the data's bins (counts well
        # above the penalty) are (Kadane's maximum-subarray algorithm).
        pen = (1.0 if threshold is None else float(threshold)) * (
            0.0 if eps is None else 1.0 / eps
        )
        gain = noisy - pen
        best, best_a, best_b = -np.inf, 0, 0
        run, start = 0.0, 0
        for i, g in enumerate(gain):
            if run <= 0:
                run, start = 0.0, i
            run += float(g)
            if run > best:
                best, best_a, best_b = run, start, i
        if eps is None:
            nz = np.flatnonzero(counts)
            best_a, best_b = (int(nz[0]), int(nz[-1])) if nz.size else (0, nbins - 1)
        elif best < 3.0 / eps:
            # No run stands out of the noise: the noisy mode's bin widened by
            # `fallback` bins on each side (the whole range when fallback is None).
            if fallback is None:
                return float(lower), float(upper)
            top = int(np.argmax(noisy))
            best_a, best_b = max(top - fallback, 0), min(top + fallback, nbins - 1)
        return float(np.exp(edges[best_a])), float(np.exp(edges[best_b + 1]))
    if threshold is not None and threshold <= 0:
        # Unclamped cumulative counts: the noise of empty bins averages out along the
        # cumulative sum instead of piling up as positive mass after clamping.
        cum = np.maximum.accumulate(np.cumsum(noisy))
        tot = cum[-1]
        if tot > 0:
            a = int(np.searchsorted(cum, quantile * tot, side="left"))
            b = int(np.searchsorted(cum, (1.0 - quantile) * tot, side="left")) + 1
            a = min(max(a, 0), nbins - 1)
            b = min(max(b, a + 1), nbins)
            return float(np.exp(edges[a])), float(np.exp(edges[b]))
    kept = np.maximum(noisy - floor, 0.0)
    if kept.sum() <= 0:
        top = int(np.argmax(noisy))
        a, b = max(top - 3, 0), min(top + 4, nbins)
        return float(np.exp(edges[a])), float(np.exp(edges[b]))
    cdf = np.cumsum(kept) / kept.sum()
    a = int(np.searchsorted(cdf, quantile, side="left"))
    b = int(np.searchsorted(cdf, 1.0 - quantile, side="left")) + 1
    # One more bin on each side: the threshold cuts thinly populated edge bins.
    a = min(max(a - 1, 0), nbins - 1)
    b = min(max(b + 1, a + 1), nbins)
    return float(np.exp(edges[a])), float(np.exp(edges[b]))
