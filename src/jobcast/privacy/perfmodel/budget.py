"""perfmodel's public priors and the budget plan read from the noisy row count.

Everything here is post-processing of DP outputs (the noisy count) and public values
(ε, the declared domain, the shares): choosing a share from the noisy count is
adaptive sequential composition, the shares still sum to the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int

__all__ = [
    "COUNT_MAX_TOP_UP",
    "COUNT_REL_SD",
    "FEW_ROWS",
    "MODEL_MIN_SHARE",
    "PRIOR_SD",
    "RESIDUAL_SD",
    "MARGINAL_SD",
    "Q",
    "SCALE_OUT_ELASTICITY",
    "WINDOW_MIN_SIGNAL",
    "RowCount",
    "count_posterior_mean",
    "count_rows",
    "correction_plan",
    "design_shrink",
    "window_fraction",
    "window_threshold",
    "window_width",
]

Q = 1000  # fixed-point steps per clipping bound
# Public prior: a feature moves log-runtime by ~1 (a factor e) over its range.  Features
# span [-1, 1], so that is a coefficient of standard deviation 0.5 (at 1.0 the prior
# allowed a factor e² per feature and noisy slopes of few-row jobs were shrunk too little).
PRIOR_SD = 0.5
RESIDUAL_SD = 0.2  # public prior: run-to-run and model error in log-runtime
MARGINAL_SD = 0.05  # public prior: what a log-linear model misses per value of a column
# Public prior: runtime ∝ scale-out ** -0.75, between an Amdahl-bound job (-0.5 over the
# usual scale-outs) and linear speed-up (-1); stands in only when neither scale-out
# slope can be released (Ernest, Venkataraman et al., NSDI 2016; C3O, Will et al., 2021).
SCALE_OUT_ELASTICITY = -0.75
COUNT_REL_SD = 0.15  # relative noise of the row count worth a second release
COUNT_MAX_TOP_UP = 0.2  # of the budget: the most a second count may take
WINDOW_MIN_SIGNAL = 12.0  # ε_window n that a run of ~3 bins needs to stand out
WINDOW_MAX_SHARE = 0.4  # of the budget: the most the runtime window may take
MODEL_MIN_SHARE = 0.2  # of the budget: the least the runtime model keeps
# A count's low guess below this leaves open that only a handful of rows lie inside the
# declared domain (a refusal then says the named columns need not be at fault).
FEW_ROWS = 10.0


@dataclass(frozen=True)
class RowCount:
    """The noisy number of executions and what is read from it (post-processing).

    Attributes
    ----------
    noisy
        The discrete-Laplace release (may be negative).
    hint
        Posterior mean of ``n >= 1`` given it (:func:`count_posterior_mean`).
    low
        A low guess, two noise scales below the release (at least 1): it sizes the
        windows, where overestimating the rows would starve them.
    epsilon
        ε spent on the count (its noise variance is ``2 / ε²``).
    """

    noisy: float
    hint: float
    low: float
    epsilon: float


def count_posterior_mean(noisy: float, scale: float) -> float:
    """Posterior mean of a row count ``n >= 1`` given its discrete-Laplace release.

    Flat prior on the integers ``n >= 1``; the likelihood of ``noisy`` is proportional
    to ``exp(-|noisy - n| / scale)``.  Unlike ``max(noisy, 1)`` it does not collapse
    towards 1 when the noise scale is comparable to the count, which would inflate
    every ratio of a noisy sum to the count (post-processing of a DP output).
    """
    top = max(noisy, 1.0) + 40.0 * scale + 10.0
    n = np.arange(1.0, np.ceil(top) + 1.0)
    logw = -np.abs(noisy - n) / scale
    w = np.exp(logw - logw.max())
    return float((w * n).sum() / w.sum())


def count_rows(
    n_rows: int, accountant: Accountant, epsilon: float, *, top_up: float = 0.0
) -> RowCount:
    """Release the number of executions (sensitivity 1; Dwork et al., TCC 2006).

    Every ratio of a noisy sum to the count carries its relative error
    ``sqrt(2) / (ε n)``, and the windows are sized from its low guess.  When the first
    release says that error would exceed ``COUNT_REL_SD`` (few rows for ε), a second
    count of up to ``top_up`` is bought (adaptive sequential composition: the second
    ε depends on the first DP output only; label ``context:count:more``) and the two
    are combined by inverse variance (post-processing); ``epsilon`` of the result is
    the combined precision ``sqrt(ε1² + ε2²)``.
    """
    noisy = _noisy_count(n_rows, accountant, "context:count", epsilon)
    eff = epsilon
    need = np.sqrt(2.0) / (COUNT_REL_SD * count_posterior_mean(noisy, 1.0 / epsilon))
    more = min(need - epsilon, top_up)
    if more >= 0.25 * epsilon:
        second = _noisy_count(n_rows, accountant, "context:count:more", more)
        eff = float(np.sqrt(epsilon**2 + more**2))
        noisy = (noisy * epsilon**2 + second * more**2) / eff**2
    return RowCount(
        noisy=noisy,
        hint=count_posterior_mean(noisy, 1.0 / eff),
        low=max(noisy - 2.0 / eff, 1.0),
        epsilon=eff,
    )


def _noisy_count(n_rows: int, accountant: Accountant, label: str, epsilon: float) -> float:
    return float(
        laplace_int(
            np.array([n_rows]), sensitivity=1, accountant=accountant, label=label,
            epsilon=epsilon,
        )[0]
    )


def design_shrink(epsilon: float, total: float, n_cells: int) -> float:
    """Weight of the uniform prior in a shrunk configuration histogram.

    The noise variance ``2 / ε²`` of a cell's count against its (Poisson) variance
    ``total / n_cells`` around the uniform design.
    """
    var = 2.0 / epsilon**2
    return var / (var + total / n_cells)


def window_fraction(share: float, n_low: float, rest: float, *, searched: bool = False) -> float:
    """Share of the (post-bounds) budget for the runtime window, from the *noisy* count.

    A run of ``k`` bins holding ``n`` rows is kept by the maximum-subarray rule when
    ``n ε_w >= 3 + threshold * k`` (:func:`jobcast.privacy.bounds.dp_window`); with
    ``k`` about 3 that needs ``n ε_w`` of about ``WINDOW_MIN_SIGNAL``.  Few rows
    therefore get a larger share (up to ``WINDOW_MAX_SHARE``) instead of a window that
    is lost in the noise and falls back to the whole declared range (which multiplies
    every later sensitivity).  In the public search range (``searched``: 40 to 170
    bins instead of about 10) the largest noise spike grows with the number of bins
    and a window found in the wrong place is refused or useless: it needs twice the
    signal.
    """
    signal = WINDOW_MIN_SIGNAL * (2.0 if searched else 1.0)
    need = signal / (max(n_low, 1.0) * rest)
    return float(min(max(share, need), max(WINDOW_MAX_SHARE, share)))


def window_threshold(n_low: float, epsilon: float) -> float:
    """Noise penalty per bin of a window, in units of ``1 / ε``: ``ε n / 5`` in [1.5, 3].

    With a strong signal the high penalty keeps noise bins from widening the window;
    with a weak one a run of ``k`` data bins loses ``k`` penalties while a noise spike
    in one empty bin loses only one, so a low penalty keeps a spike from beating the data.
    At 1.5 an empty bin beats the penalty with probability ``exp(-1.5) / 2`` (11 %;
    18 % at 1, which let runs of noise triple the window of a 29-row job).
    """
    return float(np.clip(epsilon * n_low / 5.0, 1.5, 3.0))


def window_width(n_low: float, epsilon: float) -> float:
    """Bin width of a window in log units: ``8 / (ε ñ)`` between 0.25 and 1.

    So that with a runtime range of ~2 (a factor 7) a bin expects more rows than the
    penalty of ``3 / ε``.
    """
    return float(np.clip(8.0 / (epsilon * max(n_low, 1.0)), 0.25, 1.0))


def correction_plan(
    n_low: float, e_corr: float, card: np.ndarray, n_cells: float, rho: float, *, cells: bool
) -> tuple[float, float]:
    """ε per column for the per-value corrections and ε for the per-cell ones (0: skip).

    A stage is worth its budget when the noise of a typical level's mean,
    ``sqrt(2) rho / (ε n_per_level)``, stays below twice its prior standard deviation
    (``MARGINAL_SD`` per value, ``rho / 2`` per cell); otherwise its share goes to the
    runtime model.  ``card`` holds the codes per column that hold rows (effective
    cardinalities); ``cells`` says whether rows map to configuration cells at all.
    """
    if e_corr <= 0:
        return 0.0, 0.0
    multi = card > 1
    cols = int(multi.sum())
    k = float(card[multi].mean()) if cols else 1.0
    e_marg = 0.8 * e_corr / cols if cols else 0.0
    if cols == 0 or np.sqrt(2.0) * rho / (e_marg * n_low / k) > 2.0 * MARGINAL_SD:
        e_marg = 0.0
    e_cells = e_corr - e_marg * cols
    per_cell = max(n_low / n_cells, 1e-9)
    if not cells or e_cells <= 0 or np.sqrt(2.0) * rho / (e_cells * per_cell) > rho:
        e_cells = 0.0
    return e_marg, e_cells
