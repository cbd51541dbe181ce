"""Performance-model-aware DP synthesizer: exact configurations plus a DP runtime model.

Runtime metrics are a *relation*: the runtime of a Spark job is a smooth function of its
configuration (scale-out, sizes, parameters).  PrivBayes spends its budget on many
noisy tables and loses that relation at small ε; this method spends it where it matters:

Budget split (after any undeclared bounds), each line one entry of the ledger, every
entry charged by the mechanism that draws its noise:
``count_share`` 0.10; ``locate`` 0.10 to 0.30 for the bounded (non-grid) context
columns, enough for ``ε n = window_min_signal`` per column (each a DP window inside its
coarse public range, :meth:`PerfModelSynthesizer._locate`; skipped when ``ε n < 3``);
``context_share`` 0.05 (the configuration histogram when it would not be more than 90 %
prior, judged from the noisy count and the number of cells; else the located columns'
noisy marginals when ``ε n`` per column reaches 8; else it goes to the model),
``window_share`` 0.20 (up to 0.40 when the noisy count says the rows are
few), ``correction_share`` 0.20 (only the stages whose noise would not swamp them,
judged from the noisy count; the rest goes to the model), the runtime model the rest
(0.45 to 0.90).  On the c3o-paper jobs at ε = 1 that is count 0.1, window 0.2 (0.4 for
sort's 29 rows) and the model the rest: every job has more grid cells than rows, so its
configuration histogram would be noise.

Robustness for few rows (all post-processing of DP outputs and public values):

* the row count used in every ratio combines the noisy count with the window
  histogram's noisy total (inverse variance) and is the posterior mean of ``n >= 1``
  given them, not ``max(noisy, 1)``;
* the window's share, bin width and noise penalty follow ``ε_window * n`` (with a low
  guess of ``n``): a window lost in the noise would multiply every later sensitivity,
  and with a weak signal a noise spike in one empty bin must not outweigh a run of data
  bins; when no run of bins is significant the window is the three adjacent bins with
  the largest noisy total (``window_fallback``), not the whole declared range, and so
  it is when the winning run holds fewer rows than those three bins (a noise spike);
* the model is centred at the window histogram's noisy centre of mass, not the
  window's midpoint, so its intercept sum is small and the row count's error matters
  little;
* slopes whose noise would exceed the public prior are not fitted (fewer parameters,
  less noise each), collinear pairs such as ``log m`` and ``1/m`` first, judged with
  the design scaled to the low guess of ``n``;
* the level (intercept) has the window's noisy centre as its prior (variance from the
  histogram's noise), at most a uniform prior on the window, and is clipped to it.

Post-processing for the users of a share: a ``coverage`` share (0.25) of the synthetic
rows is spread uniformly over the declared grid, so a model trained on the share also
sees configurations the owner never ran (their runtimes come from the model).  Public
beliefs such as "runtime grows linearly with the input size" can be declared as
``elasticity={column: 1.0}``: the prior mean of that slope (kept when the slope is not
worth releasing).

1. **Context** (``count_share`` + ``context_share``): the number of executions (one
   noisy count, sensitivity 1) and the histogram of configurations over the declared
   grid (one cell per combination of context codes), discrete Laplace with sensitivity 1
   (a row falls in one cell; Dwork et al., TCC 2006).  Noisy counts are shrunk towards
   the uniform design in proportion to their noise and rescaled to the noisy total
   (post-processing); synthetic configurations are drawn from it, so they are always
   exact grid values.  When that shrinkage would leave less than 10 % of weight on
   the noisy counts (``_MAX_DESIGN_SHRINK``: few rows per cell), the histogram is not
   bought and the design is uniform over the grid.
2. **Runtime window** (``window_share``, only when the runtime bounds are declared): a
   noisy histogram of ``log(runtime)`` inside the declared bounds, with a bin width
   adapted to the noisy count; the window ``[L, U]`` is the run of bins with the largest
   total noisy count minus ``window_threshold / ε`` per bin (maximum subarray, the
   mechanism of :func:`jobcast.privacy.bounds.dp_log_range`, see
   :func:`jobcast.privacy.bounds.dp_window`) -- the clipping interval of ``log(runtime)``, never the
   raw extremes; ``c`` is the noisy centre of mass inside it.
3. **Runtime model** (the rest): noisy sufficient statistics ``b = Σ φ(x) (y - c)`` of a
   log-linear model ``log t = c + φ(x)·β`` with ``φ`` = normalised (log) context
   attributes in ``[-1, 1]`` plus ``1/scale-out`` (Ernest's serial term; Venkataraman et
   al., NSDI 2016).  Each coordinate has sensitivity ``max|φ_j| * R`` with
   ``R = max(U - c, c - L)`` (so ``|clip(log t) - c| <= R``)
   (Sheffet, "Private approximations of the 2nd-moment matrix using existing techniques
   in linear regression", 2015; Wang, "Revisiting differentially private linear
   regression", UAI 2018, for noisy sufficient statistics).  One execution moves
   *every* coordinate by at most its sensitivity at once, so the vector gets the
   K-norm mechanism of that cube (Hardt & Talwar, STOC 2010;
   :func:`jobcast.privacy.noise.linf_laplace_int`), not per-coordinate Laplace noise
   calibrated to the sum of the sensitivities: 2 to 4 times less variance for 2 to 6
   coefficients; measured on the c3o-paper jobs at ε = 1, gradient boosting's mean
   MAPE on grep, kmeans, linearregression and pagerank fell from 0.18 to 0.16
   (``model_noise="laplace"`` restores the old split, where each coordinate got its
   own share, the intercept ``intercept_weight`` of it).  ``β`` is the posterior mean given the
   noisy ``b`` and the design of step 1, with a weak public prior (post-processing).
4. **Corrections** (``correction_share``), what the log-linear model misses: first per
   value of each context column (0.8 of the share, split over the columns), then per
   configuration (the rest): the sum of the residuals clipped to ``±residual_clip``,
   discrete Laplace with sensitivity ``residual_clip`` (a row falls in one value of a
   column, one cell of the grid: parallel composition, McSherry SIGMOD 2009), shrunk
   towards 0 by their noise (empirical Bayes, post-processing).  A stage runs only when
   the noise of a typical level is below twice its prior (``_correction_plan``);
   measured on the c3o-paper jobs, the per-value stage takes gradient boosting's mean
   MAPE at ε = 10 from about 0.10 to 0.09.  Without DP the per-configuration stage
   recovers each configuration's own mean runtime.

Real-valued sums are released in fixed point (:func:`jobcast.privacy.noise.quantize`).
The synthetic runtime of a configuration is ``exp(c + φβ + correction + jitter * z)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobcast.errors import DomainError, InputError
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.base import BaseSynthesizer
from jobcast.privacy.bounds import Window, dp_log_range, dp_window
from jobcast.privacy.discretize import Discretizer
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain
from jobcast.privacy.noise import laplace_int, linf_laplace_int, linf_noise_variance, quantize

__all__ = ["PerfModelSynthesizer"]

_Q = 1000  # fixed-point steps per clipping bound
_PRIOR_SD = 1.0  # public prior: a coefficient changes log-runtime by ~1 over a feature's range
_RESIDUAL_SD = 0.2  # public prior: run-to-run and model error in log-runtime
_MARGINAL_SD = 0.05  # public prior: what a log-linear model misses per value of a column
_MAX_DESIGN_SHRINK = 0.9  # skip the configuration histogram when it would be >90 % prior
_CUBE_MAX_D = 16  # more coefficients get Laplace shares (exact shell counts grow like m^d)
_LOCATE_SHARE = (0.1, 0.3)  # of the budget: windows of the bounded context columns
_MARGINAL_MIN_SIGNAL = 8.0  # ε n per located column's histogram worth buying
_LINEAR_SPAN = float(np.log(100.0))  # a linear range is binned like two decades


def _features(
    domain: Domain,
    names: tuple[str, ...],
    centers: list[np.ndarray],
    cell_codes: np.ndarray,
    scale_out: str | None,
    interactions: bool,
) -> tuple[np.ndarray, list[str]]:
    """Design matrix (cells x features) in [-1, 1], intercept first, and feature labels."""
    cols = [np.ones(cell_codes.shape[0])]
    labels = ["intercept"]
    numeric: list[np.ndarray] = []
    for j, name in enumerate(names):
        dom = domain[name]
        k = len(centers[j])
        if k < 2:
            continue
        code = cell_codes[:, j]
        if isinstance(dom, CategoricalDomain):
            for v in range(1, k):
                cols.append((code == v).astype(float))
                labels.append(f"{name}=={dom.values[v]!r}")
            continue
        t = np.log(centers[j]) if dom.log else centers[j].astype(float)
        lo, hi = float(t.min()), float(t.max())
        z = (2 * t[code] - lo - hi) / (hi - lo)
        cols.append(z)
        numeric.append(z)
        labels.append(f"log({name})" if dom.log else name)
        if name == scale_out and centers[j].min() > 0:
            w = 1.0 / centers[j]
            wl, wh = float(w.min()), float(w.max())
            cols.append((2 * w[code] - wl - wh) / (wh - wl))
            labels.append(f"1/{name}")
    if interactions:
        for a in range(len(numeric)):
            for b in range(a + 1, len(numeric)):
                cols.append(numeric[a] * numeric[b])
                labels.append(f"interaction{a}x{b}")
    return np.column_stack(cols), labels


def _design_shrink(epsilon: float, total: float, n_cells: int) -> float:
    """Weight of the uniform prior in a shrunk configuration histogram.

    The noise variance ``2 / ε²`` of a cell's count against its (Poisson) variance
    ``total / n_cells`` around the uniform design.
    """
    var = 2.0 / epsilon**2
    return var / (var + total / n_cells)


def _window_marginal(win: Window, dom: NumericDomain, epsilon: float) -> np.ndarray:
    """Probabilities of ``dom``'s bins from a window's noisy counts (post-processing).

    Each noisy count (variance ``2 / ε²``) is shrunk towards the window's mean count in
    proportion to its noise, clipped at 0 and spread over the located column's bins by
    overlap on the transformed scale.
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
    return p / p.sum() if p.sum() > 0 else np.full(dom.bins, 1.0 / dom.bins)


def _noisy_levels(
    group: np.ndarray,
    resid: np.ndarray,
    n_groups: int,
    sizes: np.ndarray,
    *,
    rho: float,
    accountant: Accountant,
    label: str,
    epsilon: float | None,
    tau: float,
) -> np.ndarray:
    """Per-group mean residual, released with ε-DP and shrunk towards 0.

    Residuals clipped to ``±rho`` and summed per group (a row falls in one group:
    sensitivity ``rho``, parallel composition; McSherry, SIGMOD 2009), discrete Laplace
    in fixed point.  The level of a group of (noisy) size ``w`` is the posterior mean
    of ``μ ~ N(0, tau²)`` given its noisy sum ``S = w μ + e``, ``Var e = w σ² + 2 (rho /
    ε)²`` with ``σ = _RESIDUAL_SD`` (empirical Bayes; post-processing).
    """
    q = quantize(np.clip(resid, -rho, rho), resolution=rho / _Q)
    sums = np.bincount(group, weights=q, minlength=n_groups).astype(np.int64)
    eps = accountant.remaining if epsilon is None else float(epsilon)
    noisy = laplace_int(
        sums, sensitivity=_Q, accountant=accountant, label=label, epsilon=epsilon
    ) * (rho / _Q)
    nvar = 2.0 * (rho / eps) ** 2
    tau2 = tau**2
    return tau2 * sizes * noisy / (sizes**2 * tau2 + nvar + sizes * _RESIDUAL_SD**2)


def _count_posterior_mean(noisy: float, scale: float) -> float:
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


def _coordinate_shares(
    labels: list[str], scale_out: str | None, intercept: float, scale_out_weight: float | None
) -> np.ndarray:
    """Share of the model's budget per coefficient (intercept first)."""
    d = len(labels)
    if d == 1:
        return np.ones(1)
    level = np.array([lab == "intercept" for lab in labels])
    slopes = ~level
    share = np.full(d, (1 - intercept) / max(int(slopes.sum()), 1))
    if not level.any():
        share[:] = 1.0 / d
    else:
        share[level] = intercept
    if scale_out_weight is not None and scale_out is not None:
        so = np.array([scale_out in lab and not lv for lab, lv in zip(labels, level, strict=True)])
        rest = slopes & ~so
        if so.any() and rest.any():
            total = 1.0 if not level.any() else 1 - intercept
            share[so] = total * scale_out_weight / so.sum()
            share[rest] = total * (1 - scale_out_weight) / rest.sum()
    return share


class PerfModelSynthesizer(BaseSynthesizer):
    """Exact configurations plus a DP runtime relation (see the module docstring).

    Parameters
    ----------
    domain
        Declared column domains; the runtime column must be numeric and log-scale.
    epsilon
        Budget of the release (> 0).
    runtime
        Name of the runtime column.
    scale_out
        Name of the scale-out column, if present.
    inverse_scale_out
        Add Ernest's ``1/m`` term for the scale-out column.
    count_share, context_share, window_share, correction_share
        Shares of the (post-bounds) budget for the number of executions, the
        configuration histogram, the runtime window and the cell corrections; the
        runtime model gets the rest.
    intercept_weight
        Share of the model's budget for the intercept (the runtime level).
    scale_out_weight
        Share of the slopes' budget for the scale-out terms (``None``: every
        coefficient but the intercept gets the same share).
    residual_clip
        Clip of log-runtime residuals for the cell corrections.
    interactions
        Add pairwise products of numeric context features to the model.
    window_quantile
        Noisy quantile cut at each end of the runtime window.
    window_width
        Bin width (natural-log units) of the window's noisy histogram.
    window_mode
        ``"quantile"`` or ``"subarray"`` (:func:`jobcast.privacy.bounds.dp_log_range`).
    window_fallback
        Bins kept on each side of the noisy mode when no run of bins is significant
        (``None``: the whole declared range).
    window_threshold
        Noise threshold of the window's histogram in units of ``1 / ε``
        (``None``: :func:`jobcast.privacy.bounds.dp_log_range`'s robust default;
        ``"auto"``: from the noisy count, see ``_threshold``).
    window_min_signal
        Target of ``ε_window * n`` (noisy, low guess of ``n``): few rows raise the
        window's share up to ``window_max_share`` (see ``_window_fraction``).
    window_max_share
        Largest share of the (post-bounds) budget the window may take.
    estimator
        ``"gls"``: posterior mean of the coefficients given the noisy statistics (noise
        and residual covariance); ``"ridge"``: ridge regression with the noise
        variance as penalty.
    model_noise
        ``"cube"``: the model's sums get the K-norm noise of their L-infinity
        sensitivity (up to 16 coefficients; more get Laplace shares); ``"laplace"``:
        per-coordinate discrete Laplace shares (``intercept_weight``,
        ``scale_out_weight``) of the L1 sensitivity.
    select_ratio
        Drop slopes whose noise standard deviation exceeds this multiple of the public
        prior's (``None``: keep every feature; see ``_select_features``).
    jitter
        Standard deviation of the log-normal noise added to synthetic runtimes (a public
        modelling choice, not learned).
    max_cells
        Largest number of configuration cells (product of context cardinalities).
    coverage
        Share (0..1) of the synthetic rows drawn uniformly from the declared grid
        rather than from the noisy configuration histogram (post-processing).
    elasticity
        Declared public beliefs ``{column: e}`` (log-scale context columns): runtime
        grows like ``column**e``; the prior mean of that slope.
    level_prior
        Use the window's noisy centre (and its noise variance) as the level's prior.
    no_dp
        Release without differential privacy (recorded in the manifest).
    bounds_share
        Share of ε for undeclared bounds.
    random_state
        Seed or generator.
    """

    method = "perfmodel"

    def __init__(
        self,
        *,
        domain: Domain | None = None,
        epsilon: float | None = 1.0,
        runtime: str = "gross_runtime",
        scale_out: str | None = "instance_count",
        inverse_scale_out: bool = True,
        count_share: float = 0.1,
        context_share: float = 0.05,
        window_share: float = 0.2,
        correction_share: float = 0.2,
        intercept_weight: float = 0.3,
        scale_out_weight: float | None = None,
        residual_clip: float = 0.3,
        interactions: bool = False,
        window_quantile: float = 0.05,
        window_width: float | None = None,
        window_threshold: float | str | None = "auto",
        window_min_signal: float = 12.0,
        window_max_share: float = 0.4,
        window_mode: str = "subarray",
        window_fallback: int | None = 1,
        jitter: float = 0.0,
        estimator: str = "gls",
        model_noise: str = "cube",
        select_ratio: float | None = 0.5,
        max_cells: int = 1_000_000,
        coverage: float = 0.25,
        elasticity: dict[str, float] | None = None,
        level_prior: bool = True,
        no_dp: bool = False,
        bounds_share: float = 0.1,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.domain = domain
        self.epsilon = epsilon
        self.runtime = runtime
        self.scale_out = scale_out
        self.inverse_scale_out = inverse_scale_out
        self.count_share = count_share
        self.context_share = context_share
        self.window_share = window_share
        self.correction_share = correction_share
        self.intercept_weight = intercept_weight
        self.scale_out_weight = scale_out_weight
        self.residual_clip = residual_clip
        self.interactions = interactions
        self.window_quantile = window_quantile
        self.window_width = window_width
        self.window_threshold = window_threshold
        self.window_min_signal = window_min_signal
        self.window_max_share = window_max_share
        self.window_mode = window_mode
        self.window_fallback = window_fallback
        self.jitter = jitter
        self.estimator = estimator
        self.model_noise = model_noise
        self.select_ratio = select_ratio
        self.max_cells = max_cells
        self.coverage = coverage
        self.elasticity = elasticity
        self.level_prior = level_prior
        self.no_dp = no_dp
        self.bounds_share = bounds_share
        self.random_state = random_state

    def _check_params(self, domain: Domain) -> tuple[str, ...]:
        if self.runtime not in domain:
            raise DomainError(f"the runtime column {self.runtime!r} is not in the domain")
        rdom = domain[self.runtime]
        if not isinstance(rdom, NumericDomain) or not rdom.log or rdom.values is not None:
            raise DomainError(
                f"the runtime column {self.runtime!r} must be numeric, log-scale, with bounds "
                "(declared or estimated), not a grid"
            )
        shares = (self.count_share, self.context_share, self.window_share, self.correction_share)
        if any(not 0.0 < float(s) < 1.0 for s in shares) or sum(shares) >= 1.0:
            raise InputError("the budget shares must each be in (0, 1) and sum to less than 1")
        if self.model_noise not in ("cube", "laplace"):
            raise InputError(f"model_noise must be 'cube' or 'laplace', got {self.model_noise!r}")
        if not 0.0 < float(self.intercept_weight) < 1.0:
            raise InputError(f"intercept_weight must be in (0, 1), got {self.intercept_weight}")
        if not 0.0 <= float(self.coverage) <= 1.0:
            raise InputError(f"coverage must be in [0, 1], got {self.coverage!r}")
        if not float(self.residual_clip) > 0.0 or not float(self.jitter) >= 0.0:
            raise InputError("residual_clip must be > 0 and jitter >= 0")
        ctx = tuple(n for n in domain.names if n != self.runtime)
        if not ctx:
            raise DomainError("perfmodel needs at least one configuration column")
        return ctx

    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        domain = self.domain_
        ctx = self._check_params(domain)
        self._width_used = 0.0  # set by the window's bin width, if a window is bought
        self._marginals: dict[str, np.ndarray] = {}  # located columns' noisy marginals
        disc = self.discretizer_
        card = np.array([disc.cardinality(n) for n in ctx], dtype=np.int64)
        n_cells = int(np.prod(card))
        if n_cells > int(self.max_cells):
            raise DomainError(
                f"{n_cells} configuration cells exceed max_cells={self.max_cells}; declare "
                "coarser grids/bins or use method='privbayes'"
            )
        runtime_declared = self.domain is not None and self.domain[self.runtime].declared
        # Budget split, after any bounds (see the module docstring).
        if acc is None:
            e_total = e_ctx = e_win = e_cell = e_fit = None
            n_low = 1.0
        else:
            rest = acc.remaining
            e_total = rest * self.count_share
            # The noisy count sizes the window's share: adaptive sequential
            # composition, the shares still sum to the budget.
            n_noisy = float(
                laplace_int(
                    np.array([len(frame)]), sensitivity=1, accountant=acc,
                    label="context:count", epsilon=e_total,
                )[0]
            )
            n_hint = _count_posterior_mean(n_noisy, 1.0 / e_total)
            # A low guess (two noise scales below) sizes the window: overestimating the
            # rows would starve the window and let a noise spike outweigh the data.
            n_low = max(n_noisy - 2.0 / e_total, 1.0)
            # Bounded context columns: where the data lie inside their declared range.
            self._locate(frame, ctx, acc, rest, n_low)
            disc = self.discretizer_
            e_ctx = rest * self.context_share
            if _design_shrink(e_ctx, n_hint, n_cells) > _MAX_DESIGN_SHRINK:
                # The configuration histogram would be mostly prior: the share buys the
                # located columns' marginals instead (before the corrections' plan,
                # which counts the bins their rows fill).
                located = np.column_stack([disc.encode_column(n, frame[n]) for n in ctx])
                self._fine_marginals(ctx, located, card, acc, e_ctx, n_low)
            e_win = rest * self._window_fraction(n_low, rest) if runtime_declared else None
            if e_win is not None and n_low * e_win < 3.0:
                # Too few rows for this budget: any run of bins the window found would
                # be noise (a noise run far from the data then clips every row); keep
                # the declared range and give the share to the model.
                e_win = None
            # Corrections only where their noise would not swamp them (from the noisy
            # count and public values); an unused share goes to the model.
            e_marg, e_cells = self._correction_plan(
                n_low, rest * self.correction_share, self._effective_card(ctx, card), n_cells
            )
            e_cell = e_marg * int((card > 1).sum()) + e_cells
            e_fit = acc.remaining - e_cell

        codes = np.column_stack([disc.encode_column(n, frame[n]) for n in ctx])
        cell = np.ravel_multi_index(tuple(codes.T), tuple(card))

        # 1. configurations
        counts = np.bincount(cell, minlength=n_cells).astype(float)
        total: float | None = None
        if e_ctx is None:
            design = counts
        else:
            assert e_total is not None and acc is not None
            # The total has its own noisy count: summing many noisy cells would add
            # their noise up (std sqrt(2 * cells) / ε instead of sqrt(2) / ε).
            total = n_hint
            prior = total / n_cells
            w = _design_shrink(e_ctx, total, n_cells)
            if w > _MAX_DESIGN_SHRINK:
                # The noisy histogram would be almost all prior (many cells, few rows
                # each): spend the share on the located columns' marginals instead
                # and use their product (uniform elsewhere).
                design = total * self._product_design(ctx, card)
            else:
                noisy = laplace_int(
                    counts.astype(np.int64), sensitivity=1, accountant=acc,
                    label="context:histogram", epsilon=e_ctx,
                )
                shrunk = np.maximum((1 - w) * noisy + w * prior, 0.0)
                design = (
                    total * shrunk / shrunk.sum() if shrunk.sum() > 0 else np.full(n_cells, prior)
                )
        weights = np.maximum(design, 0.0)
        probs = weights / weights.sum() if weights.sum() > 0 else np.full(n_cells, 1.0 / n_cells)
        # Post-processing: a share of the rows covers the whole declared grid, so models
        # trained on the share also see configurations the owner did not run.
        alpha = float(self.coverage)
        self.cell_probs_ = (1.0 - alpha) * probs + alpha / n_cells

        # 2. runtime window
        rdom = domain[self.runtime]
        assert isinstance(rdom, NumericDomain) and rdom.lower is not None
        t = frame[self.runtime].to_numpy(dtype=float)
        c_hat: float | None = None
        c_var: float | None = None
        if runtime_declared and self.window_mode == "subarray" and e_win is not None:
            assert acc is not None
            win = dp_window(
                t,
                accountant=acc,
                label=f"window:{self.runtime}",
                epsilon=e_win,
                lower=rdom.lower,
                upper=float(rdom.upper or rdom.lower),
                width=self._window_width(n_low, e_win),
                threshold=float(self._threshold(n_low, e_win) or 1.0),
                # The adjacent-bins fallback needs the data's total to stand out of the
                # noise of a 3-bin sum (std sqrt(6) / ε) wherever it lies, else a noise
                # run far from the data wins: then the whole declared range is safer.
                fallback=self.window_fallback if n_low * e_win >= 3 * np.sqrt(6.0) else None,
            )
            lo, hi, c_hat, c_var, n_win, nbins = (
                win.low, win.high, win.centre, win.centre_var, win.total, win.bins
            )
            # Inverse-variance combination of the two noisy row counts (post-processing);
            # the design is rescaled to it.
            assert e_total is not None and total is not None
            v1, v2 = 2.0 / e_total**2, 2.0 * nbins / e_win**2
            n_comb = (n_noisy / v1 + n_win / v2) / (1.0 / v1 + 1.0 / v2)
            new_total = _count_posterior_mean(n_comb, float(np.sqrt(v1 * v2 / (v1 + v2) / 2.0)))
            design = design * (new_total / total)
            weights = weights * (new_total / total)
            total = new_total
            # The window was bought on the first count's low guess; with both counts the
            # low guess may fall below the window's minimum signal (the first count was
            # too high): then the run it found is noise (measured: 6 rows of grep at
            # ε = 1 got a window at 12,000 s and a level 50 times too high), and the
            # declared range is safer.  Post-processing of the two noisy counts.
            n_low = max(min(n_low, n_comb - 2.0 * np.sqrt(v1 * v2 / (v1 + v2))), 1.0)
            if n_low * e_win < 3.0:
                lo, hi = rdom.lower, float(rdom.upper or rdom.lower)
                c_hat = c_var = None
        elif runtime_declared and (acc is None or e_win is not None):
            lo, hi = dp_log_range(
                t,
                accountant=acc,
                label=f"window:{self.runtime}",
                epsilon=e_win,
                lower=rdom.lower,
                upper=float(rdom.upper or rdom.lower),
                width=self._window_width(None if total is None else n_low, e_win),
                quantile=float(self.window_quantile) if e_win is not None else 0.0,
                threshold=self._threshold(n_low, e_win),
                mode=self.window_mode,
                fallback=self.window_fallback,
            )
        else:
            lo, hi = rdom.lower, float(rdom.upper or rdom.lower)
        big_l, big_u = np.log(lo), np.log(hi)
        c = (big_l + big_u) / 2 if c_hat is None else float(np.clip(c_hat, big_l, big_u))
        # |clip(log t) - c| <= r: the sensitivity scale of every later sum.
        r = max(big_u - c, c - big_l, 1e-9)
        self.center_ = float(c)

        # 3. runtime model on noisy sufficient statistics
        cell_codes = np.column_stack(np.unravel_index(np.arange(n_cells), tuple(card)))
        centers = [disc.centers(n) for n in ctx]
        phi, labels = _features(
            domain,
            ctx,
            centers,
            cell_codes,
            self.scale_out if self.inverse_scale_out else None,
            bool(self.interactions),
        )
        d = phi.shape[1]
        y = np.log(np.clip(t, lo, hi)) - c
        g = (phi * design[:, None]).T @ phi
        self.released_ = tuple(labels)
        if e_fit is None:
            b = phi[cell].T @ y
            beta = np.linalg.lstsq(g, b, rcond=None)[0]
        else:
            assert acc is not None and e_cell is not None
            gpos = (phi * weights[:, None]).T @ phi
            prior_var = np.full(d, _PRIOR_SD**2)
            # Prior of the level: the window's noisy centre and its variance, at most a
            # uniform prior on [-R, R] (the window's half width), variance R²/3.
            prior_var[0] = max(r, 1e-6) ** 2 / 3.0
            if c_var is not None and self.level_prior:
                prior_var[0] = min(prior_var[0], max(c_var, 1e-6))
            prior_mean = self._prior_mean(domain, ctx, centers, labels)
            # Features are selected with the design scaled to the low guess of the row
            # count: an overestimated count would make noisy slopes look precise.
            low = min(1.0, n_low / total) if total else 1.0
            beta = self._release_coefficients(
                phi, g, gpos, cell, y, r, acc.remaining - e_cell, labels, prior_var,
                prior_mean, acc, select_scale=low,
            )
        # Post-processing: the mean of the clipped, centred log-runtimes lies in [-R, R].
        beta[0] = float(np.clip(beta[0], big_l - c, big_u - c))
        self.features_ = tuple(labels)
        self.coef_ = beta
        pred = phi @ beta

        # 4. corrections: per value of each context column, then per configuration
        rho = float(self.residual_clip)
        corr = np.zeros(n_cells)
        if acc is None:
            sums = np.bincount(cell, weights=y - pred[cell], minlength=n_cells)
            corr = np.where(counts > 0, sums / np.maximum(counts, 1.0), 0.0)
        else:
            assert acc is not None
            last = max((j for j in range(len(ctx)) if card[j] > 1), default=-1)
            for j, name in enumerate(ctx):
                if e_marg > 0 and card[j] > 1:
                    level = _noisy_levels(
                        codes[:, j], y - (pred + corr)[cell], int(card[j]),
                        np.bincount(cell_codes[:, j], weights=weights, minlength=int(card[j])),
                        rho=rho, accountant=acc, label=f"corrections:{name}",
                        epsilon=None if j == last and e_cells == 0 else e_marg,
                        tau=_MARGINAL_SD,
                    )
                    corr = corr + level[cell_codes[:, j]]
            if e_cells > 0:
                corr = corr + _noisy_levels(
                    cell, y - (pred + corr)[cell], n_cells, weights, rho=rho, accountant=acc,
                    label="corrections:cells", epsilon=None,
                    tau=rho / 2,
                )
        # Post-processing: no configuration's runtime leaves the (DP) window.
        slack = min(float(self._width_used), 0.5) if runtime_declared else 0.0
        self.log_runtime_ = np.clip(c + pred + corr, big_l - slack, big_u + slack)
        self.cardinalities_ = card
        self.context_ = ctx

    def _fine_marginals(
        self, ctx: tuple[str, ...], codes: np.ndarray, card: np.ndarray, acc: Accountant,
        epsilon: float, n_low: float,
    ) -> None:
        """Noisy one-way histograms of the located columns over their bins (ε split evenly).

        Discrete Laplace, sensitivity 1 per histogram (Dwork et al., TCC 2006).  Counts
        at or below ``2 / ε`` are treated as empty, so the values the job ran stand
        out of the noise (post-processing); a histogram that keeps less than half of
        the low guess of the row count leaves the window's marginal in place, and so
        do all when ``ε n`` per histogram is below ``_MARGINAL_MIN_SIGNAL`` (then
        the threshold exceeds what a value's rows can hold).
        """
        located = [j for j, n in enumerate(ctx) if n in self._marginals]
        if not located or n_low * epsilon / len(located) < _MARGINAL_MIN_SIGNAL:
            return
        e_each = epsilon / len(located)
        for j in located:
            noisy = laplace_int(
                np.bincount(codes[:, j], minlength=int(card[j])), sensitivity=1,
                accountant=acc, label=f"context:marginal:{ctx[j]}", epsilon=e_each,
            ).astype(float)
            kept = np.maximum(noisy - 2.0 / e_each, 0.0)
            if kept.sum() >= 0.5 * n_low:
                self._marginals[ctx[j]] = kept / kept.sum()

    def _product_design(self, ctx: tuple[str, ...], card: np.ndarray) -> np.ndarray:
        """Cell probabilities: the located columns' noisy marginals, uniform elsewhere."""
        p = np.ones(1)
        for j, name in enumerate(ctx):
            m = self._marginals.get(name)
            col = m if m is not None and m.size == card[j] else np.full(card[j], 1.0 / card[j])
            p = np.multiply.outer(p, col).ravel()
        return p

    def _locate(
        self, frame: pd.DataFrame, ctx: tuple[str, ...], acc: Accountant, rest: float,
        n_low: float,
    ) -> None:
        """Narrow each bounded context column to the DP window holding its rows.

        A coarse public range (a dataset size declared as "1 GB to 1 TB") would spread
        the column's bins, the synthetic values and the model's features over values
        the job never ran; :func:`jobcast.privacy.bounds.dp_window` finds the run of
        bins holding the rows with ``_LOCATE_SHARE`` of the (post-bounds) budget, split
        evenly over those columns, and the column is re-binned inside the window (its
        declared number of bins).  Bin width ``8 / (ε n)`` between 0.25 and 1 in log
        units (a linear range is read as spanning ``_LINEAR_SPAN`` log units), from
        the low guess of the noisy count: a bin should expect more rows than the
        penalty.  With too few rows for the budget (``ε n < 3``) the declared range is
        kept.  Only DP outputs and public values decide (post-processing).
        """
        todo = [
            n for n in ctx
            if isinstance(self.domain_[n], NumericDomain) and self.domain_[n].values is None
        ]
        if not todo:
            return
        share = np.clip(
            len(todo) * float(self.window_min_signal) / (n_low * rest), *_LOCATE_SHARE
        )
        e_each = rest * float(share) / len(todo)
        if n_low * e_each < 3.0:
            return
        domain = self.domain_
        for name in todo:
            dom = domain[name]
            assert isinstance(dom, NumericDomain) and dom.lower is not None
            upper = float(dom.upper if dom.upper is not None else dom.lower)
            w_log = float(np.clip(8.0 / (e_each * n_low), 0.25, 1.0))
            span = np.log(upper / dom.lower) if dom.log else _LINEAR_SPAN
            width = w_log if dom.log else w_log * (upper - dom.lower) / _LINEAR_SPAN
            if span <= width:
                continue
            win = dp_window(
                frame[name].to_numpy(dtype=float), accountant=acc, label=f"window:{name}",
                epsilon=e_each, lower=float(dom.lower), upper=upper, width=width, log=dom.log,
                threshold=float(self._threshold(n_low, e_each) or 1.0),
                fallback=1 if n_low * e_each >= 3 * np.sqrt(6.0) else None, cover=True,
            )
            located = NumericDomain(
                lower=win.low, upper=win.high, log=dom.log, integer=dom.integer, bins=dom.bins
            )
            domain = domain.replace(name, located)
            self._marginals[name] = _window_marginal(win, located, e_each)
        self.domain_ = domain
        self.discretizer_ = Discretizer(domain)

    def _release_coefficients(
        self,
        phi: np.ndarray,
        g: np.ndarray,
        gpos: np.ndarray,
        cell: np.ndarray,
        y: np.ndarray,
        r: float,
        e_stage: float,
        labels: list[str],
        prior_var: np.ndarray,
        prior_mean: np.ndarray,
        acc: Accountant,
        *,
        select_scale: float = 1.0,
    ) -> np.ndarray:
        """Posterior mean of ``β`` given one noisy ``Σ φ(x) y`` (|y| <= r).

        One vector release: coordinate j is quantized in steps of ``r / q_j``, so one
        execution moves it by at most ``q_j`` steps (``|φ_j| <= 1``, ``|y| <= r``).
        ``model_noise="cube"``: all ``q_j`` are equal and the vector gets the K-norm
        noise of that cube (Hardt & Talwar, STOC 2010); ``"laplace"``: the L1
        sensitivity is ``Σ q_j`` and coordinate j effectively gets
        ``e_stage * q_j / Σ q_j`` (Laplace mechanism, Dwork et al., TCC 2006).  Noisy
        sufficient statistics as in Wang, UAI 2018.  Slopes whose noise would swamp
        the prior are not released (``_select_features``); their posterior stays the
        prior.  The estimate is the Gaussian posterior given the noise and residual
        covariance (post-processing).
        """
        d = phi.shape[1]
        keep = self._select_features(labels, g * select_scale, r, e_stage, np.sqrt(prior_var))
        last = e_stage >= acc.remaining
        e = acc.remaining if last else e_stage
        steps, noise_var = self._steps_and_noise([labels[j] for j in keep], r, e)
        pk = phi[:, keep]
        q = np.rint(pk[cell] * y[:, None] * (steps / r)[None, :]).astype(np.int64)
        # cube: every coordinate moves by at most its steps (L-infinity, K-norm noise);
        # laplace: the coordinates' steps add up (L1).
        release = linf_laplace_int if self._cube(len(keep)) else laplace_int
        sens = int(steps.max()) if release is linf_laplace_int else int(steps.sum())
        b = release(
            q.sum(axis=0), sensitivity=sens, accountant=acc,
            label="model:coefficients", epsilon=None if last else e,
        ) * (r / steps)
        gk = g[np.ix_(keep, keep)]
        # Features not released stay at their prior mean; their part of the sums is
        # taken out (post-processing with the noisy design).
        drop = [j for j in range(d) if j not in keep]
        b = b - g[np.ix_(keep, drop)] @ prior_mean[drop]
        sigma = np.diag(noise_var) + _RESIDUAL_SD**2 * gpos[np.ix_(keep, keep)]
        pv = prior_var[keep]
        if self.estimator == "ridge":
            a = gk + np.diag(noise_var / pv)
            beta_k = np.linalg.solve(a, b + noise_var / pv * prior_mean[keep])
        else:
            gs = gk @ np.linalg.solve(sigma, np.eye(len(keep)))
            beta_k = np.linalg.solve(gs @ gk + np.diag(1.0 / pv), gs @ b + prior_mean[keep] / pv)
        beta = prior_mean.astype(float).copy()
        beta[keep] = beta_k
        self.released_ = tuple(labels[j] for j in keep)
        return beta

    def _prior_mean(
        self, domain: Domain, ctx: tuple[str, ...], centers: list[np.ndarray], labels: list[str]
    ) -> np.ndarray:
        """Prior means of the coefficients from declared elasticities (public beliefs).

        ``elasticity={column: e}`` says runtime grows like ``column**e`` (1: linear in an
        input size, as Ernest and C3O assume).  On the normalised feature
        ``φ = (2 log x - lo - hi) / (hi - lo)`` that is a coefficient ``e (hi - lo) / 2``.
        """
        mean = np.zeros(len(labels))
        for name, e in dict(self.elasticity or {}).items():
            if name not in ctx:
                raise DomainError(f"elasticity given for {name!r}, which is not a context column")
            dom = domain[name]
            if not isinstance(dom, NumericDomain) or not dom.log:
                raise DomainError(f"elasticity needs a log-scale numeric column; {name!r} is not")
            label = f"log({name})"
            if label in labels:
                t = np.log(centers[ctx.index(name)].astype(float))
                mean[labels.index(label)] = float(e) * (float(t.max()) - float(t.min())) / 2.0
        return mean

    def _effective_card(self, ctx: tuple[str, ...], card: np.ndarray) -> np.ndarray:
        """Codes per column that hold rows: a located column's inverse Simpson index.

        The rows of a located column fill only some of its bins; ``1 / Σ p²`` of its
        noisy marginal counts the bins they fill (post-processing).
        """
        out = card.astype(float).copy()
        for j, name in enumerate(ctx):
            m = self._marginals.get(name)
            if m is not None and card[j] > 1:
                out[j] = float(np.clip(1.0 / float((m**2).sum()), 2.0, card[j]))
        return out

    def _correction_plan(
        self, n_low: float, e_corr: float, card: np.ndarray, n_cells: int
    ) -> tuple[float, float]:
        """ε per column for the per-value corrections and ε for the per-cell ones (0: skip).

        A stage is worth its budget when the noise of a typical level's mean,
        ``sqrt(2) rho / (ε n_per_level)``, stays below twice its prior standard
        deviation (``_MARGINAL_SD`` per value, ``rho / 2`` per cell); otherwise its
        share goes to the runtime model.  ``n_low`` is the low guess of the noisy
        count, so the plan uses only DP outputs and public values.
        """
        rho = float(self.residual_clip)
        cols = int((card > 1).sum())
        k = float(card[card > 1].mean()) if cols else 1.0
        e_marg = 0.8 * e_corr / cols if cols else 0.0
        if cols == 0 or np.sqrt(2.0) * rho / (e_marg * n_low / k) > 2.0 * _MARGINAL_SD:
            e_marg = 0.0
        e_cells = e_corr - e_marg * cols
        if np.sqrt(2.0) * rho / (e_cells * max(n_low / n_cells, 1e-9)) > rho:
            e_cells = 0.0
        return e_marg, e_cells

    def _steps_and_noise(
        self, labels: list[str], r: float, epsilon: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point steps per coefficient and the noise variance of each released sum.

        Cube (K-norm) noise: equal steps, variance :func:`linf_noise_variance`.
        Coordinate j is quantized in steps of ``r / q_j`` (``q_j`` proportional to its
        share), so the L1 sensitivity is ``Σ q_j`` and coordinate j effectively gets
        ``ε q_j / Σ q_j``: variance ``2 (r / ε_j)²``.
        """
        if self._cube(len(labels)):
            d = len(labels)
            return np.full(d, _Q, dtype=np.int64), np.full(d, linf_noise_variance(d, r, epsilon))
        share = self._shares(labels)
        steps = np.maximum(np.rint(_Q * share / share.max()), 1).astype(np.int64)
        eps_j = epsilon * steps / steps.sum()
        return steps, 2.0 * (r / eps_j) ** 2

    def _cube(self, d: int) -> bool:
        """Whether ``d`` released sums get the cube's K-norm noise (see ``model_noise``)."""
        return self.model_noise == "cube" and 1 < d <= _CUBE_MAX_D

    def _shares(self, labels: list[str]) -> np.ndarray:
        return _coordinate_shares(
            labels, self.scale_out, float(self.intercept_weight), self.scale_out_weight
        )

    def _select_features(
        self, labels: list[str], g: np.ndarray, r: float, e_fit: float, prior_sd: np.ndarray
    ) -> list[int]:
        """Indices of the model's coefficients worth their share of ``e_fit``.

        For the kept set, the noise standard deviation of each least-squares coefficient
        is ``sqrt(diag(G⁻¹ N G⁻¹))`` with ``G`` the noisy design's Gram matrix and ``N``
        the Laplace variances of the released statistics (``2 (R / ε_j)²``).  While some
        coefficient's noise standard deviation exceeds ``select_ratio`` times its prior's
        (``prior_sd``: then its estimate is mostly prior, and collinear pairs such as
        ``log m`` and ``1/m`` amplify each other's noise), the worst one is dropped and
        its budget goes to the rest; a dropped coefficient keeps its prior mean.  The
        level (intercept) is always released (measured: letting the window's noisy
        centre stand in for it with few rows made sort at ε = 1 worse).  Only DP outputs
        and public values are used (post-processing).
        """
        keep = list(range(len(labels)))
        if self.select_ratio is None:
            return keep
        while len(keep) > 1:
            _, nvar = self._steps_and_noise([labels[j] for j in keep], r, e_fit)
            ginv = np.linalg.pinv(g[np.ix_(keep, keep)])
            sd = np.sqrt(np.maximum(np.einsum("ij,j,ij->i", ginv, nvar, ginv), 0.0))
            ratio = sd / prior_sd[keep]
            ratio[[labels[j] == "intercept" for j in keep]] = 0.0
            worst = int(np.argmax(ratio))
            if ratio[worst] <= float(self.select_ratio):
                break
            keep.pop(worst)
        return keep

    def _threshold(self, n_low: float, e_win: float | None) -> float | None:
        """Noise penalty per bin of the window (units of ``1 / ε``), see ``window_threshold``.

        ``"auto"``: ``ε_window * n_low / 5`` between 1 and 3.  With a strong signal
        the high penalty keeps noise bins from widening the window; with a weak one a
        run of ``k`` data bins loses ``k`` penalties while a noise spike in one empty
        bin loses only one, so a low penalty keeps a spike from beating the data.
        """
        if self.window_threshold != "auto":
            return None if self.window_threshold is None else float(self.window_threshold)
        if e_win is None:
            return 3.0
        return float(np.clip(e_win * n_low / 5.0, 1.0, 3.0))

    def _window_fraction(self, n_hint: float, rest: float) -> float:
        """Share of the (post-bounds) budget for the runtime window, from the *noisy* count.

        A run of ``k`` bins holding ``n`` rows is kept by the maximum-subarray rule when
        ``n ε_w >= 3 + threshold * k`` (:func:`jobcast.privacy.bounds.dp_log_range`);
        with ``k`` about 3 that needs ``n ε_w`` of about ``window_min_signal``.  Few rows
        therefore get a larger share (up to ``window_max_share``) instead of a window
        that is lost in the noise and falls back to the whole declared range (which
        multiplies every later sensitivity).  Uses only a DP output and public values.
        """
        need = float(self.window_min_signal) / (max(n_hint, 1.0) * rest)
        cap = max(float(self.window_max_share), float(self.window_share))
        return float(min(max(float(self.window_share), need), cap))

    def _window_width(self, total: float | None, e_win: float | None) -> float:
        """Bin width of the runtime window: fixed, or adapted to the *noisy* row count.

        Adaptive rule (``window_width=None``): ``8 / (ε_window * ñ)`` in log units,
        between 0.25 and 1, so that with a runtime range of ~2 (a factor 7) a bin
        expects more rows than the default penalty of ``3 / ε``.  Uses only DP outputs
        and public values.
        """
        if self.window_width is not None:
            w = float(self.window_width)
        elif total is None or e_win is None:
            w = 0.25
        else:
            w = float(np.clip(8.0 / (e_win * max(total, 1.0)), 0.25, 1.0))
        self._width_used = w
        return w

    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        disc = self.discretizer_
        cells = rng.choice(len(self.cell_probs_), size=n_rows, p=self.cell_probs_)
        codes = np.column_stack(np.unravel_index(cells, tuple(self.cardinalities_)))
        out = {n: disc.decode_column(n, codes[:, j], rng) for j, n in enumerate(self.context_)}
        logt = self.log_runtime_[cells]
        if float(self.jitter) > 0:
            logt = logt + float(self.jitter) * rng.standard_normal(n_rows)
        out[self.runtime] = disc.finish_numeric(self.runtime, np.exp(logt))
        return pd.DataFrame({n: out[n] for n in disc.names})
