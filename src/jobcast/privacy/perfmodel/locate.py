"""perfmodel's locate stage: where the rows of each bounded context column lie, ε-DP.

A coarse public range (a dataset size declared as "1 GB to 1 TB", or the public search
range of a column without declared bounds) would spread the column's bins, the
synthetic values and the model's features over values the job never ran.
:func:`jobcast.privacy.bounds.dp_window` finds the run of bins holding the rows and the
column is re-binned inside that window (its declared number of bins); the window's
noisy counts are its marginal.  Only DP outputs and public values decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.bounds import SEARCH_LOWER, Window, dp_window
from jobcast.privacy.domain import Domain, NumericDomain
from jobcast.privacy.noise import laplace_int
from jobcast.privacy.perfmodel.budget import RowCount, window_threshold

__all__ = [
    "LOCATE_SHARE", "Located", "clipped_mass", "fine_marginals", "locate_columns", "locate_todo",
    "window_marginal",
]

LOCATE_SHARE = (0.1, 0.3)  # of the budget: windows of the bounded context columns
_LOCATE_MIN_SIGNAL = 12.0  # ε n per column that a window needs
_SEARCH_SHARE = 0.5  # of the budget, at most, when columns have no declared bounds
_SEARCH_MIN_SIGNAL = 8.0  # ε n below which a search range is not located (refused)
_MARGINAL_MIN_SIGNAL = 8.0  # ε n per located column's histogram worth buying
_LINEAR_SPAN = float(np.log(100.0))  # a linear range is binned like two decades


@dataclass(frozen=True)
class Located:
    """The domain with located columns re-binned, and their noisy marginals."""

    domain: Domain
    marginals: dict[str, np.ndarray] = field(default_factory=dict)


def locate_todo(domain: Domain, ctx: tuple[str, ...]) -> list[str]:
    """Context columns with bounds but no grid: the ones the stage locates."""
    return [
        n for n in ctx
        if isinstance(domain[n], NumericDomain) and domain[n].values is None  # type: ignore[union-attr]
    ]


def clipped_mass(win: Window, epsilon: float, count: RowCount) -> tuple[float, float]:
    """Rows below and above a window (clipped to its edge bins), from DP outputs only.

    How many: the noisy row count minus the window's noisy total, shrunk towards 0 by
    its noise variance like the counts inside the window.  Where: in proportion to each
    side's evidence, its noisy counts above one noise scale ``1 / ε`` (the bins beside
    a window of a spread-out column hold clipped groups well above it; the excess of
    an empty bin is ``1 / (2 e ε)`` on average).  Measured on columns of 3 to 5
    separate groups and on a spread-out one, this split errs less than weighted least
    squares over the side totals or over the nearest bins only.
    """
    side = np.array([
        float(np.maximum(np.asarray(v, dtype=float) - 1.0 / epsilon, 0.0).sum())
        for v in (win.below, win.above)
    ])
    out = max(count.hint - float(np.sum(win.counts)), 0.0)
    # Shrunk towards 0 in proportion to its noise, like the counts inside the window:
    # a window holding every row must not shed noise into its edge bins.
    var = 2.0 / count.epsilon**2 + 2.0 * max(len(win.counts), 1) / epsilon**2
    out *= out**2 / (out**2 + var) if out > 0 else 0.0
    if side.sum() <= 0:
        # No evidence for either side: only a side that has bins can hold rows.
        has = np.array([len(win.below) > 0, len(win.above) > 0], dtype=float)
        side = has if has.sum() > 0 else np.zeros(2)
        if side.sum() <= 0:
            return 0.0, 0.0
    split = out * side / side.sum()
    return float(split[0]), float(split[1])


def window_marginal(
    win: Window, dom: NumericDomain, epsilon: float, count: RowCount
) -> np.ndarray:
    """Probabilities of ``dom``'s codes from a window's noisy counts (post-processing).

    Each noisy count inside the window (variance ``2 / ε²``) is shrunk towards the
    window's mean count in proportion to its noise, clipped at 0 and spread over the
    located column's bins by overlap on the transformed scale.  The rows outside the
    window (:func:`clipped_mass`) are encoded into its edge bins, so they go there: the
    design then agrees with the rows behind the model's noisy sums.
    """
    counts = np.asarray(win.counts, dtype=float)
    edges = np.asarray(win.edges, dtype=float)
    prior = max(float(counts.sum()), 1.0) / counts.size
    var = 2.0 / epsilon**2
    w = var / (var + prior)
    mass = np.maximum((1.0 - w) * counts + w * prior, 0.0)
    assert dom.lower is not None and dom.upper is not None
    if dom.log:
        fine = np.linspace(np.log(dom.lower), np.log(dom.upper), dom.bins + 1)
    else:
        fine = np.linspace(dom.lower, dom.upper, dom.bins + 1)
    lo = np.maximum(fine[:-1, None], edges[None, :-1])
    hi = np.minimum(fine[1:, None], edges[None, 1:])
    share = np.maximum(hi - lo, 0.0) / np.diff(edges)[None, :]
    p = share @ mass
    below, above = clipped_mass(win, epsilon, count)
    p[0] += below
    p[-1] += above
    return p / p.sum() if p.sum() > 0 else np.full(dom.bins, 1.0 / dom.bins)


def locate_columns(
    frame: pd.DataFrame,
    domain: Domain,
    todo: list[str],
    *,
    accountant: Accountant,
    epsilon: float,
    count: RowCount,
) -> Located:
    """Narrow each column of ``todo`` to the DP window holding its rows (ε split evenly).

    Bin width ``8 / (ε n)`` between 0.25 and 1 in log units (a linear range is read as
    spanning ``_LINEAR_SPAN`` log units), from the low guess of the noisy count: a bin
    should expect more rows than the penalty.  A log column whose window reaches the
    bottom bin of the public search range holds zeros (or values that small, clipped
    there): it is declared linear from 0 to the window's top (post-processing; no
    private value decides it).  With too few rows for the budget (``ε n < 3``) the
    declared ranges are kept and nothing is spent.  ``count`` (the noisy row count)
    gives that low guess and the rows each window clips to its edges
    (:func:`window_marginal`).
    """
    if not todo:
        return Located(domain)
    e_each = epsilon / len(todo)
    n_low = count.low
    if n_low * e_each < 3.0:
        return Located(domain)
    marginals: dict[str, np.ndarray] = {}
    for name in todo:
        dom = domain[name]
        assert isinstance(dom, NumericDomain) and dom.lower is not None
        upper = float(dom.upper if dom.upper is not None else dom.lower)
        w_log = float(np.clip(8.0 / (e_each * n_low), 0.25, 1.0))
        span = np.log(upper / dom.lower) if dom.log else _LINEAR_SPAN
        width = w_log if dom.log else w_log * (upper - dom.lower) / _LINEAR_SPAN
        if span <= width:
            continue
        if dom.log and dom.lower <= SEARCH_LOWER and n_low * e_each < _SEARCH_MIN_SIGNAL:
            # A run of bins among the search range's 40 to 170 would not stand out of
            # the noise: left unlocated, the release is refused (naming --domain).
            continue
        win = dp_window(
            frame[name].to_numpy(dtype=float), accountant=accountant, label=f"window:{name}",
            epsilon=e_each, lower=float(dom.lower), upper=upper, width=width, log=dom.log,
            threshold=window_threshold(n_low, e_each),
            fallback=1 if n_low * e_each >= 3 * np.sqrt(6.0) else None, cover=True,
            # A spike joined to the data in a search range spreads the column over
            # decades: there a separate group must stand out ten times more surely.
            cover_level=0.0005 if dom.log and dom.lower <= SEARCH_LOWER else 0.005,
        )
        if (win.low, win.high) == (float(dom.lower), upper):
            continue  # nothing stood out: the whole range (a search range is refused)
        if dom.log and dom.lower <= SEARCH_LOWER and win.low <= SEARCH_LOWER * (1 + 1e-9):
            located = NumericDomain(
                lower=0.0, upper=win.high, log=False, integer=dom.integer, bins=dom.bins
            )
            domain = domain.replace(name, located)
            continue
        located = dom.with_bounds(win.low, win.high)  # an integer column keeps an integer
        domain = domain.replace(name, located)
        marginals[name] = window_marginal(win, located, e_each, count)
    return Located(domain, marginals)


def locate_share(n_columns: int, n_low: float, rest: float, *, searched: bool = False) -> float:
    """ε for the windows of ``n_columns`` columns: ``ε n = _LOCATE_MIN_SIGNAL`` each.

    Between the bounds of ``LOCATE_SHARE`` of the (post-bounds) budget ``rest``; up to
    ``_SEARCH_SHARE`` when a column has no declared bounds (``searched``): unlocated,
    it would make the release useless (it is refused).
    """
    top = _SEARCH_SHARE if searched else LOCATE_SHARE[1]
    share = np.clip(n_columns * _LOCATE_MIN_SIGNAL / (n_low * rest), LOCATE_SHARE[0], top)
    return rest * float(share)


def fine_marginals(
    ctx: tuple[str, ...],
    codes: np.ndarray,
    card: np.ndarray,
    marginals: dict[str, np.ndarray],
    *,
    accountant: Accountant,
    epsilon: float,
    n_low: float,
) -> dict[str, np.ndarray]:
    """Noisy one-way histograms of the located columns over their bins (ε split evenly).

    Discrete Laplace, sensitivity 1 per histogram (Dwork et al., TCC 2006).  Counts at
    or below ``2 / ε`` are treated as empty, so the values the job ran stand out of the
    noise (post-processing); a histogram that keeps less than half of the low guess of
    the row count leaves the window's marginal in place, and so do all when ``ε n``
    per histogram is below ``_MARGINAL_MIN_SIGNAL`` (nothing is spent then).
    """
    located = [j for j, n in enumerate(ctx) if n in marginals]
    out = dict(marginals)
    if not located or n_low * epsilon / len(located) < _MARGINAL_MIN_SIGNAL:
        return out
    e_each = epsilon / len(located)
    for j in located:
        noisy = laplace_int(
            np.bincount(codes[:, j], minlength=int(card[j])), sensitivity=1,
            accountant=accountant, label=f"context:marginal:{ctx[j]}", epsilon=e_each,
        ).astype(float)
        kept = np.maximum(noisy - 2.0 / e_each, 0.0)
        if kept.sum() >= 0.5 * n_low:
            out[ctx[j]] = kept / kept.sum()
    return out
