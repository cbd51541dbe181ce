"""The synthesizer of this package: its stages in order (see the package docstring)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from jobcast.errors import DomainError, InputError
from jobcast.history.values import MAX_SCALE_OUT
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.base import BaseSynthesizer, collapsed_error, few_rows_warning
from jobcast.privacy.bounds import SEARCH_LOWER, SEARCH_UPPER
from jobcast.privacy.discretize import Discretizer
from jobcast.privacy.domain import Domain, NumericDomain
from jobcast.privacy.perfmodel.budget import (
    COUNT_MAX_TOP_UP,
    FEW_ROWS,
    MODEL_MIN_SHARE,
    PRIOR_SD,
    SCALE_OUT_ELASTICITY,
    WINDOW_MIN_SIGNAL,
    RowCount,
    correction_plan,
    count_rows,
    design_shrink,
    window_fraction,
)
from jobcast.privacy.perfmodel.coefficients import Coefficients, release_coefficients
from jobcast.privacy.perfmodel.corrections import Corrections, release_corrections
from jobcast.privacy.perfmodel.design import (
    MAX_CELLS,
    MAX_DESIGN_SHRINK,
    Design,
    exact_design,
    grid_design,
    product_design,
)
from jobcast.privacy.perfmodel.features import feature_spans, features, prior_mean
from jobcast.privacy.perfmodel.locate import (
    Located,
    fine_marginals,
    locate_columns,
    locate_share,
    locate_todo,
)
from jobcast.privacy.perfmodel.window import RuntimeWindow, runtime_window

__all__ = ["PerfModelSynthesizer"]


logger = logging.getLogger(__name__)


class PerfModelSynthesizer(BaseSynthesizer):
    """Exact configurations plus a DP runtime relation (see the module docstring).

    Parameters
    ----------
    domain
        Declared column domains; the runtime column must be numeric and log-scale.
        Numeric columns without bounds are located inside the public search range
        (:data:`jobcast.privacy.bounds.SEARCH_LOWER` .. ``SEARCH_UPPER``) with budget.
    epsilon
        Budget of the release (> 0).
    runtime
        Name of the runtime column.
    scale_out
        Name of the scale-out column (it also gets Ernest's ``1/m`` term), if any.
    count_share, context_share, window_share, correction_share
        Shares of the budget for the number of executions, the configurations, the
        runtime window and the corrections; each in (0, 1), summing to less than 1
        with the locate stage's at most 0.3; the runtime model gets the rest.
    residual_clip
        Clip of log-runtime residuals for the corrections (> 0).
    select_ratio
        Drop slopes whose noise standard deviation exceeds this multiple of the public
        prior's (``None``: keep every feature).
    jitter
        Standard deviation of the log-normal noise added to synthetic runtimes (a public
        modelling choice, not learned; >= 0).
    coverage
        Share (0..1) of the synthetic rows drawn uniformly from the declared grid.
    elasticity
        Declared public beliefs ``{column: e}`` (log-scale context columns): runtime
        grows like ``column**e``; the prior mean of that slope.
    no_dp
        Release without differential privacy (recorded in the manifest).
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
        count_share: float = 0.1,
        context_share: float = 0.05,
        window_share: float = 0.1,
        correction_share: float = 0.2,
        residual_clip: float = 0.3,
        select_ratio: float | None = 0.5,
        jitter: float = 0.0,
        coverage: float = 0.25,
        elasticity: Mapping[str, float] | None = None,
        no_dp: bool = False,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.domain = domain
        self.epsilon = epsilon
        self.runtime = runtime
        self.scale_out = scale_out
        self.count_share = count_share
        self.context_share = context_share
        self.window_share = window_share
        self.correction_share = correction_share
        self.residual_clip = residual_clip
        self.select_ratio = select_ratio
        self.jitter = jitter
        self.coverage = coverage
        self.elasticity = elasticity
        self.no_dp = no_dp
        self.random_state = random_state

    # -- checks ------------------------------------------------------------------------
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
        if any(not 0.0 < float(s) < 1.0 for s in shares) or sum(shares) >= 0.7:
            raise InputError(
                "count_share, context_share, window_share and correction_share must each be "
                "in (0, 1) and sum to less than 0.7 (the locate stage may take 0.3)"
            )
        if not 0.0 <= float(self.coverage) <= 1.0:
            raise InputError(f"coverage must be in [0, 1], got {self.coverage!r}")
        if not float(self.residual_clip) > 0.0 or not float(self.jitter) >= 0.0:
            raise InputError("residual_clip must be > 0 and jitter >= 0")
        if self.select_ratio is not None and not float(self.select_ratio) > 0.0:
            raise InputError(f"select_ratio must be > 0 or None, got {self.select_ratio!r}")
        ctx = tuple(n for n in domain.names if n != self.runtime)
        if not ctx:
            raise DomainError("perfmodel needs at least one configuration column")
        return ctx

    def _resolve_bounds(self, frame: pd.DataFrame, acc: Accountant | None) -> Domain:
        """Columns without bounds get the public search range; the locate stage narrows it.

        Without DP the base class's bin edges around the values are used.
        """
        if acc is None:
            return super()._resolve_bounds(frame, acc)
        assert self.domain is not None
        domain = self.domain
        for name in domain.undeclared:
            dom = domain[name]
            assert isinstance(dom, NumericDomain)
            domain = domain.replace(name, dom.with_bounds(*self._search_range(name)))
        return domain

    def _search_range(self, name: str) -> tuple[float, float]:
        """Where an undeclared column is searched: public, the same for every history.

        The scale-out's is what jobcast accepts as one (1 .. ``MAX_SCALE_OUT``), so that
        a release never holds a scale-out its importer refuses; any other column's is
        :data:`~jobcast.privacy.bounds.SEARCH_LOWER` .. ``SEARCH_UPPER``.
        """
        if name == self.scale_out:
            return 1.0, float(MAX_SCALE_OUT)
        return SEARCH_LOWER, SEARCH_UPPER

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        ctx = self._check_params(self.domain_)
        if acc is None:
            self._fit_exact(frame, ctx)
            return
        # Budget split: every share of `rest` (the whole ε: no bounds are bought apart).
        rest = acc.remaining
        count = count_rows(  # 1. the count (a second one when the rows are few)
            len(frame), acc, rest * float(self.count_share), top_up=rest * COUNT_MAX_TOP_UP
        )
        todo = locate_todo(self.domain_, ctx)
        searched = any(n in self.domain.undeclared for n in todo)  # type: ignore[union-attr]
        e_locate = locate_share(len(todo), count.low, rest, searched=searched) if todo else 0.0
        e_design = rest * float(self.context_share)
        e_window = rest * window_fraction(
            float(self.window_share), count.low, rest,
            searched=self.runtime in self.domain.undeclared,  # type: ignore[union-attr]
        )
        e_corr = rest * float(self.correction_share)
        if not searched:
            # Few rows: the runtime window and the model come first (a coarse range that
            # is not located costs the share nothing but the synthetic values' spread).
            e_locate = min(e_locate, max(acc.remaining - e_window - MODEL_MIN_SHARE * rest, 0.0))
        # the runtime model: what remains after the stages above (unused shares included),
        # at least MODEL_MIN_SHARE: the window and the corrections are capped to leave it

        found = locate_columns(
            frame, self.domain_, todo, accountant=acc, epsilon=e_locate, count=count,
        )  # 2. where the bounded context columns lie
        self._set_domain(found.domain)
        disc = self.discretizer_
        card = np.array([disc.cardinality(n) for n in ctx], dtype=np.int64)
        codes = np.column_stack([disc.encode_column(n, frame[n]) for n in ctx])
        design = self._design(codes, card, ctx, found, count, acc, e_design)  # 3.
        rdom = self.domain_[self.runtime]
        assert isinstance(rdom, NumericDomain) and rdom.lower is not None
        e_window = min(e_window, acc.remaining - MODEL_MIN_SHARE * rest)
        # In the public search range (100+ bins) a run below WINDOW_MIN_SIGNAL is beaten
        # by the largest noise spike as often as not (runtimes of 10^11 s were released):
        # not bought, the range stays unlocated and the release is refused.
        buy = count.hint * e_window >= 3.0 and not (
            self.runtime in self.domain.undeclared  # type: ignore[union-attr]
            and count.low * e_window < WINDOW_MIN_SIGNAL
        )
        win = runtime_window(  # 4. the runtime window
            frame[self.runtime].to_numpy(dtype=float), rdom.lower, float(rdom.upper or 0.0),
            count, accountant=acc, name=self.runtime, epsilon=e_window if buy else None,
        )
        self._check_located(win, acc.spent, count)
        design = design.rescaled(win.total)
        eff = self._effective_card(design, card)
        e_corr = max(min(e_corr, acc.remaining - MODEL_MIN_SHARE * rest), 0.0)
        e_marg, e_cells = correction_plan(
            count.low, e_corr, eff, float(np.prod(card.astype(float))),
            float(self.residual_clip), cells=design.grid,
        )
        e_used = e_marg * int((card > 1).sum()) + e_cells
        self._fit_model(frame, ctx, codes, card, design, win, acc, e_used, e_marg, e_cells)

    def _check_located(self, win: RuntimeWindow, spent: float, count: RowCount) -> None:
        """Refuse when a column declared without bounds was not located (too few rows).

        Its synthetic values would spread over the whole public search range.  Decided
        on the noisy count only (the stages skip a window that ``ε n`` cannot carry).
        """
        assert self.domain is not None
        lost = []
        for name in self.domain.undeclared:
            dom = self.domain_[name]
            at_search = isinstance(dom, NumericDomain) and (
                dom.lower, dom.upper
            ) == self._search_range(name)
            if name == self.runtime:
                at_search = (win.low, win.high) == (SEARCH_LOWER, SEARCH_UPPER)
            if at_search:
                lost.append(name)
        if lost:  # the noisy count (DP, paid for) tells whether rows were there at all
            raise collapsed_error(lost, spent, few_rows=count.low < FEW_ROWS)
        if count.low < FEW_ROWS:
            logger.warning(few_rows_warning(self.method))

    def _set_domain(self, domain: Domain) -> None:
        self.domain_ = domain
        self.discretizer_ = Discretizer(domain)

    def _design(
        self, codes: np.ndarray, card: np.ndarray, ctx: tuple[str, ...], found: Located,
        count: RowCount, acc: Accountant, epsilon: float,
    ) -> Design:
        """The histogram when it would be mostly data, else the product of the marginals."""
        n_cells = float(np.prod(card.astype(float)))
        if n_cells <= MAX_CELLS and design_shrink(epsilon, count.hint, int(n_cells)) <= (
            MAX_DESIGN_SHRINK
        ):
            self.design_ = "histogram"
            cell = np.ravel_multi_index(tuple(codes.T), tuple(card))
            return grid_design(cell, card, count.hint, accountant=acc, epsilon=epsilon)
        margs = fine_marginals(
            ctx, codes, card, found.marginals, accountant=acc, epsilon=epsilon, n_low=count.low
        )
        design = product_design(ctx, card, margs, count.hint, self.rng_)
        self.design_ = "marginals" if design.grid else "sampled marginals"
        return design

    @staticmethod
    def _effective_card(design: Design, card: np.ndarray) -> np.ndarray:
        """Codes per column that hold rows: the inverse Simpson index of its marginal."""
        out = card.astype(float).copy()
        for j, m in enumerate(design.marginals):
            if card[j] > 1:
                out[j] = float(np.clip(1.0 / float((m**2).sum()), 2.0, card[j]))
        return out

    def _fit_model(
        self, frame: pd.DataFrame, ctx: tuple[str, ...], codes: np.ndarray, card: np.ndarray,
        design: Design, win: RuntimeWindow, acc: Accountant, e_after: float, e_marg: float,
        e_cells: float,
    ) -> None:
        """Stages 5 and 6: the coefficients with all but ``e_after``, then the corrections."""
        big_l, big_u = np.log(win.low), np.log(win.high)
        c = (big_l + big_u) / 2 if win.centre is None else float(np.clip(win.centre, big_l, big_u))
        r = max(big_u - c, c - big_l, 1e-9)  # |clip(log t) - c| <= r: every sum's scale
        y = np.log(np.clip(frame[self.runtime].to_numpy(dtype=float), win.low, win.high)) - c
        centers = [self.discretizer_.centers(n) for n in ctx]
        self._spans: list[tuple[float, float] | None] | None = feature_spans(
            self.domain_, ctx, centers, design.marginals
        )
        phi, labels = self._features(design.codes, ctx, centers)
        phi_rows, _ = self._features(codes, ctx, centers)
        g = (phi * design.weights[:, None]).T @ phi
        prior_var = np.full(len(labels), PRIOR_SD**2)
        # The level's prior: the window's noisy centre and its variance, at most a
        # uniform prior on [-R, R] (variance R² / 3).
        prior_var[0] = max(r, 1e-6) ** 2 / 3.0
        if win.centre_var is not None:
            prior_var[0] = min(prior_var[0], max(win.centre_var, 1e-6))
        mean = prior_mean(
            self.domain_, ctx, centers, labels, self.elasticity, spans=self._spans
        )
        coef = release_coefficients(
            phi_rows, y, g, r, labels, prior_var, mean, accountant=acc,
            epsilon=acc.remaining - e_after if e_after > 0 else None,
            select_ratio=self.select_ratio, select_scale=min(1.0, win.n_low / win.total),
            curve=self._scale_out_curve(ctx, centers, labels, design, phi),
        )
        # Post-processing: the mean of the clipped, centred log-runtimes lies in [-R, R].
        coef.beta[0] = float(np.clip(coef.beta[0], big_l - c, big_u - c))
        cell = np.ravel_multi_index(tuple(codes.T), tuple(card)) if design.grid else None
        corr = Corrections(tuple(np.zeros(int(k)) for k in card), None)
        if e_after > 0:
            corr = release_corrections(
                ctx, codes, cell, y - phi_rows @ coef.beta, design.codes, design.weights, card,
                rho=float(self.residual_clip), accountant=acc, e_marg=e_marg, e_cells=e_cells,
            )
        self._finish(ctx, card, design, coef, corr, c, (big_l, big_u), win.width)

    def _scale_out_curve(
        self, ctx: tuple[str, ...], centers: list[np.ndarray], labels: list[str],
        design: Design, phi: np.ndarray,
    ) -> tuple[np.ndarray, tuple[int, ...]] | None:
        """The public scale-out prior ``log t = SCALE_OUT_ELASTICITY log m`` as a curve.

        Fitted on the scale-out's features whether the column is declared on a log scale
        (``log(m)``, ``1/m``) or a linear one (``m``, ``1/m``: a grid of scale-outs
        written without ``"log": true``, whose slopes were otherwise left at 0 when the
        noise swamped them, so that small jobs got one runtime in every row).  ``None``
        when there is no numeric scale-out column or the user declared its elasticity
        (then that is the prior).  Public values and the noisy design only.
        """
        name = self.scale_out
        if name is None or name not in ctx or name in dict(self.elasticity or {}):
            return None
        dom = self.domain_[name]
        idx = {lab: i for i, lab in enumerate(labels)}
        own = f"log({name})" if isinstance(dom, NumericDomain) and dom.log else name
        if not isinstance(dom, NumericDomain) or own not in idx:
            return None
        j = ctx.index(name)
        f = SCALE_OUT_ELASTICITY * np.log(centers[j][design.codes[:, j]].astype(float))
        h = (phi * design.weights[:, None]).T @ f
        group = tuple(idx[lab] for lab in (own, f"1/{name}") if lab in idx)
        return h, group

    def _fit_exact(self, frame: pd.DataFrame, ctx: tuple[str, ...]) -> None:
        """Without DP: least squares on the rows, each configuration's own mean residual."""
        disc = self.discretizer_
        card = np.array([disc.cardinality(n) for n in ctx], dtype=np.int64)
        codes = np.column_stack([disc.encode_column(n, frame[n]) for n in ctx])
        self.design_ = "exact"
        rdom = self.domain_[self.runtime]
        assert isinstance(rdom, NumericDomain) and rdom.lower is not None
        t = frame[self.runtime].to_numpy(dtype=float)
        win = runtime_window(
            t, rdom.lower, float(rdom.upper or 0.0), None, accountant=None, epsilon=None,
            name=self.runtime,
        )
        big_l, big_u = np.log(win.low), np.log(win.high)
        c = (big_l + big_u) / 2
        y = np.log(np.clip(t, win.low, win.high)) - c
        centers = [disc.centers(n) for n in ctx]
        self._spans = None
        phi_rows, labels = self._features(codes, ctx, centers)
        beta = np.linalg.lstsq(phi_rows, y, rcond=None)[0]
        # The mean of the clipped, centred log-runtimes lies in the window; the
        # corrections then absorb what the clipped level leaves.
        beta[0] = float(np.clip(beta[0], big_l - c, big_u - c))
        resid = y - phi_rows @ beta
        if float(np.prod(card.astype(float))) <= MAX_CELLS:
            cell = np.ravel_multi_index(tuple(codes.T), tuple(card))
            design = exact_design(cell, card)
            sums = np.bincount(cell, weights=resid, minlength=design.weights.size)
            cells = np.where(design.weights > 0, sums / np.maximum(design.weights, 1.0), 0.0)
        else:
            margs = {n: np.bincount(codes[:, j], minlength=int(card[j])) / len(frame)
                     for j, n in enumerate(ctx)}
            design = product_design(ctx, card, margs, float(len(frame)), self.rng_)
            cells = None
        corr = Corrections(tuple(np.zeros(int(k)) for k in card), cells)
        coef = Coefficients(beta, tuple(labels))
        self._finish(ctx, card, design, coef, corr, c, (big_l, big_u), 0.0)

    def _finish(
        self, ctx: tuple[str, ...], card: np.ndarray, design: Design, coef: Coefficients,
        corr: Corrections, centre: float, log_window: tuple[float, float], slack: float,
    ) -> None:
        """Keep what sampling needs (all DP outputs or public values)."""
        self.context_ = ctx
        self.cardinalities_ = card
        self.design_model_ = design
        self.coef_ = coef.beta
        self.released_ = coef.released
        self.corrections_ = corr
        self.center_ = float(centre)
        slack = min(float(slack), 0.5)
        # Post-processing: no configuration's runtime leaves the (DP) window by more
        # than a bin.
        self._log_clip = (log_window[0] - slack, log_window[1] + slack)
        centers = [self.discretizer_.centers(n) for n in ctx]
        self._centers = centers
        _, labels = self._features(design.codes[:1], ctx, centers)
        self.features_ = tuple(labels)
        cells = np.arange(design.weights.size)
        self.log_runtime_ = self._log_runtime(design.codes, cells) if design.grid else None

    def _features(
        self, codes: np.ndarray, ctx: tuple[str, ...], centers: list[np.ndarray]
    ) -> tuple[np.ndarray, list[str]]:
        """The model's features of ``codes`` over the spans chosen at fit time."""
        return features(self.domain_, ctx, centers, codes, self.scale_out, spans=self._spans)

    def _log_runtime(self, codes: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
        phi, _ = self._features(codes, self.context_, self._centers)
        t = self.center_ + phi @ self.coef_ + self.corrections_.of(codes, cells)
        return np.clip(t, *self._log_clip)

    # -- sampling ----------------------------------------------------------------------
    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        disc = self.discretizer_
        codes, cells = self.design_model_.sample_codes(n_rows, float(self.coverage), rng)
        out = {n: disc.decode_column(n, codes[:, j], rng) for j, n in enumerate(self.context_)}
        logt = self._log_runtime(codes, cells)
        if float(self.jitter) > 0:
            logt = logt + float(self.jitter) * rng.standard_normal(n_rows)
        out[self.runtime] = disc.finish_numeric(self.runtime, np.exp(logt))
        return pd.DataFrame({n: out[n] for n in disc.names})
