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

from dataclasses import dataclass

import numpy as np

from jobcast.errors import DomainError
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int

__all__ = ["SEARCH_LOWER", "SEARCH_UPPER", "Window", "dp_log_range", "dp_window"]

#: Public search range for undeclared log-scale bounds: 2**-20 .. 2**40.
SEARCH_LOWER = 2.0**-20
SEARCH_UPPER = 2.0**40


@dataclass(frozen=True)
class Window:
    """Where the data lie inside a public range, found by :func:`dp_window`.

    Attributes
    ----------
    low, high
        The window's edges (bin edges of the public range, in the column's units).
    centre, centre_var
        Noisy centre of mass of the rows inside the window, on the transformed scale
        (log or linear), and its variance (``inf`` when the window was not significant,
        so the centre is no prior).
    total
        Noisy total of the histogram: a second, independent estimate of the row count
        with variance ``bins * 2 / ε²``.
    bins
        Number of bins of the public range.
    significant
        Whether a run of bins stood out of the noise.
    edges, counts
        The window's bin edges (transformed scale) and their noisy counts: a noisy
        marginal of the column inside the window, free to use (post-processing).
    below, above
        Noisy counts of the histogram's bins below and above the window, nearest
        first (the rows a window clips to its edges lie there; each count's noise has
        variance ``2 / ε²``): free to use (post-processing).
    """

    low: float
    high: float
    centre: float
    centre_var: float
    total: float
    bins: int
    significant: bool
    edges: tuple[float, ...] = ()
    counts: tuple[float, ...] = ()
    below: tuple[float, ...] = ()
    above: tuple[float, ...] = ()


def _kadane(gain: np.ndarray) -> tuple[float, int, int]:
    """Largest sum of a contiguous run of ``gain`` and its first and last index."""
    best, a, b, run, start = -np.inf, 0, len(gain) - 1, 0.0, 0
    for i, g in enumerate(gain):
        if run <= 0:
            run, start = 0.0, i
        run += float(g)
        if run > best:
            best, a, b = run, start, i
    return best, a, b


def dp_window(
    x: np.ndarray,
    *,
    accountant: Accountant,
    label: str,
    epsilon: float,
    lower: float,
    upper: float,
    width: float,
    log: bool = True,
    threshold: float = 1.0,
    fallback: int | None = 1,
    cover: bool = False,
    cover_level: float = 0.005,
) -> Window:
    """The run of bins of a public range holding the data, ε-DP (the one window mechanism).

    A histogram of ``x`` (``log x`` when ``log``) over public bins of ``width`` between
    ``lower`` and ``upper``, discrete Laplace with sensitivity 1 (a row falls in one bin;
    Dwork et al., TCC 2006; parallel composition, McSherry, SIGMOD 2009), and from it
    (post-processing) the contiguous run of bins with the largest total of noisy count
    minus ``threshold / ε`` per bin (Kadane's maximum subarray): empty bins cost the
    penalty, so noise spikes far from the data are not joined.  A run whose total is
    below ``3 / ε`` is not significant: then the ``2 fallback + 1`` adjacent bins with the
    largest noisy total are the window (the whole range when ``fallback`` is ``None``),
    and so they are when the winning run holds fewer rows than that block (a noise
    spike beating the data's penalties; measured about 1 share in 300 at ε = 1 on grep).

    Parameters
    ----------
    x
        Private values; values outside ``[lower, upper]`` are clipped into the end bins.
    accountant, label, epsilon
        The release's accountant, the label and ε of this histogram.
    lower, upper
        Public range (``0 < lower`` when ``log``).
    width
        Bin width on the transformed scale.
    log
        Bins on ``log x`` (positive columns) or on ``x``.
    threshold
        Penalty per bin in units of ``1 / ε``.
    fallback
        Half width in bins of the block taken when no run is significant.
    cover
        Cover every bin whose noisy count exceeds ``ln(bins / cover_level) / ε`` (by
        default an empty bin passes with probability below 0.25 % anywhere in the
        range: each does with ``exp(-ε t) / 2``), from the first
        to the last, together with the run above when it is significant: a column
        whose values form separate groups (iterations 1 and 25..100) keeps them all.
    cover_level
        The chance that some empty bin passes ``cover``'s threshold
        ``ln(bins / cover_level) / ε`` (smaller: fewer noise spikes joined, and a
        separate group needs more rows to be kept).

    Returns
    -------
    Window
    """
    if not lower < upper or (log and lower <= 0):
        need = "0 < lower < upper" if log else "lower < upper"
        raise DomainError(f"a window needs {need}, got {lower}, {upper}")
    fwd, inv = (np.log, np.exp) if log else (lambda v: v, lambda v: v)
    lo, hi = float(fwd(lower)), float(fwd(upper))
    nbins = max(int(np.ceil((hi - lo) / width - 1e-9)), 1)
    edges = lo + width * np.arange(nbins + 1)
    edges[-1] = hi
    v = fwd(np.clip(np.asarray(x, dtype=float), lower, upper))
    idx = np.clip(((v - lo) / width).astype(np.int64), 0, nbins - 1)
    noisy = laplace_int(
        np.bincount(idx, minlength=nbins), sensitivity=1, accountant=accountant, label=label,
        epsilon=epsilon,
    ).astype(float)
    # Post-processing only from here on.
    gain = noisy - float(threshold) / epsilon
    best, a, b = _kadane(gain)
    significant = best >= 3.0 / epsilon
    k = min(2 * int(1 if fallback is None else fallback) + 1, nbins)
    sums = np.convolve(noisy, np.ones(k), mode="valid")
    block = int(np.argmax(sums))
    # A block that overlaps the run holds the run's own rows plus the noise of its
    # neighbours (positive half the time): it is the data's run widened, not a spike.
    apart = block > b or block + k - 1 < a
    if significant and apart and sums[block] > noisy[a : b + 1].sum():
        significant = False
        a, b = block, block + k - 1
    elif not significant:
        a, b = (0, nbins - 1) if fallback is None else (block, block + k - 1)
    level = float(cover_level)
    passed = np.flatnonzero(noisy > np.log(nbins / level) / epsilon) if cover else np.zeros(0)
    if passed.size:
        # The union with the run: a lone noise spike that passes (1 share in 400)
        # widens the window but never replaces the data's run.
        first, last = int(passed[0]), int(passed[-1])
        a, b = (min(a, first), max(b, last)) if significant else (first, last)
        significant = True
    mids = (edges[a : b + 1] + edges[a + 1 : b + 2]) / 2
    # Signed noisy counts: the zero-mean noise of near-empty bins cancels instead of
    # pulling the centre towards the middle of a wide run; when the run's total is not
    # clearly above its own noise (std sqrt(2 k) / ε), weight by the counts above the
    # penalty instead.
    w = noisy[a : b + 1]
    if w.sum() <= 2.0 * np.sqrt(2.0 * w.size) / epsilon:
        w = np.maximum(gain[a : b + 1], 0.0)
        significant = False
    centre = float((w * mids).sum() / w.sum()) if w.sum() > 0 else float(mids.mean())
    centre = float(np.clip(centre, edges[a], edges[b + 1]))
    # Noise variance of the centre (each count has variance 2 / ε²) plus the spread of a
    # row inside its bin (width² / 12).
    weight = max(float(w.sum()), 1.0)
    var_c = float(((mids - centre) ** 2).sum() * 2.0 / epsilon**2) / weight**2 + width**2 / 12
    return Window(
        low=float(inv(edges[a])),
        high=float(inv(edges[b + 1])),
        centre=centre,
        centre_var=var_c if significant else float("inf"),
        total=float(noisy.sum()),
        bins=nbins,
        significant=bool(significant),
        edges=tuple(float(e) for e in edges[a : b + 2]),
        counts=tuple(float(c) for c in noisy[a : b + 1]),
        below=tuple(float(c) for c in noisy[:a][::-1]),
        above=tuple(float(c) for c in noisy[b + 1 :]),
    )


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
    strict: bool = False,
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
    strict
        In ``"quantile"`` mode, raise instead of falling back to the noisy mode when no
        bin's noisy count passes the threshold: the estimate would be noise (a
        decision on DP outputs only).

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
        best, best_a, best_b = _kadane(noisy - pen)
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
    if kept.sum() <= 0 and strict and eps is not None:
        raise DomainError(
            f"{label}: no bin of the noisy histogram stands out of the noise (too few rows "
            "for this share of the budget)"
        )
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
