"""The progress estimator: fit on an iteration history, estimate a running execution's ETA."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.progress.arrays import IterationArrays, check_current, node_profiles, to_arrays
from jobcast.progress.baseline import (
    elapsed_at,
    history_mean,
    remaining_from,
    scaled_history_mean,
    suffix_runtimes,
)
from jobcast.progress.combine import combine, set_weights
from jobcast.progress.interval import log_spread, widen
from jobcast.progress.matching import match
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.prepared import PreparedHistory, prepare_history
from jobcast.progress.scaling import (
    ScaleOutModelKind,
    check_scale_out_model,
    fit_scale_out_table,
)
from jobcast.progress.similarity import MEASURES

__all__ = ["ProgressEstimate", "ProgressEstimator", "resolve_parameters"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressEstimate:
    """The estimated progress of a running execution.

    Attributes
    ----------
    iteration
        Number of finished iterations (the index of the iteration now running).
    elapsed_s
        Sum of the finished iterations' runtimes.
    remaining_s
        Estimated runtime of the iterations still to come.
    total_s
        ``elapsed_s + remaining_s``.
    similar
        ``(execution, weight)`` of the Similar Executions Set, weights summing to 1,
        largest first.
    estimates_s
        Remaining runtime according to each similar execution, in the order of
        ``similar``.
    spread
        How much the similar executions disagree: the weighted standard deviation of
        their log estimates, shrunk towards all candidates' when few match, plus a floor
        (:func:`jobcast.progress.interval.log_spread`); for a scale-out beyond the
        history's, widened by how far the extrapolation moved the estimate.
    best_similarity
        Runtime similarity of the closest execution of the history (1: iterations
        identical so far); low values mean the running execution resembles nothing in
        the history.
    """

    iteration: int
    elapsed_s: float
    remaining_s: float
    total_s: float
    similar: tuple[tuple[Any, float], ...]
    estimates_s: tuple[float, ...] = ()
    spread: float = 0.0
    best_similarity: float = 1.0

    def __post_init__(self) -> None:
        if self.iteration < 1:
            raise InputError(f"iteration must be >= 1, got {self.iteration}.")
        for name in ("elapsed_s", "remaining_s", "total_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, got {value}.")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form of ``jobcast estimate --json``."""
        return {
            "iteration": self.iteration,
            "elapsed_s": self.elapsed_s,
            "remaining_s": self.remaining_s,
            "total_s": self.total_s,
            "similar": [
                {"execution": _plain(e), "weight": w, "remaining_s": r}
                for (e, w), r in zip(self.similar, self._estimates(), strict=True)
            ],
            "spread": self.spread,
            "best_similarity": self.best_similarity,
        }

    def _estimates(self) -> tuple[float | None, ...]:
        return self.estimates_s if self.estimates_s else (None,) * len(self.similar)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def resolve_parameters(params: ProgressParameters | Mapping[str, Any] | None) -> ProgressParameters:
    """Turn ``None``, a mapping (as stored) or parameters into :class:`ProgressParameters`."""
    if params is None:
        return ProgressParameters()
    if isinstance(params, ProgressParameters):
        return params
    if isinstance(params, Mapping):
        return ProgressParameters.from_dict(params)
    raise InputError(
        f"params must be ProgressParameters, a mapping or None, got {type(params).__name__}."
    )


class ProgressEstimator(BaseEstimator):
    """SMiPE: estimate the remaining runtime of a running iterative job from similar executions.

    ``fit`` prepares the history once (padded arrays, one scale-out model per
    iteration tabulated over scale-outs and damped by the trained
    ``scale_out_strength``, runtimes normalised by it); ``estimate``
    computes the five similarities against all previous executions at once,
    selects the Similar Executions Set and averages their adjusted remaining
    runtimes weighted by ``sim_final ** b``.

    Parameters
    ----------
    params
        Trained :class:`ProgressParameters` (or their ``to_dict()`` form); None for
        untrained defaults (all measures weighted equally, no thresholds, ``b = 3``).
    scale_out_model
        ``"bell"`` (the paper's BELL model per iteration), ``"ernest"`` or ``"none"``.
    min_executions
        Fewest executions a history must hold.

    Attributes
    ----------
    params_ : ProgressParameters
    prepared_ : PreparedHistory
    n_executions_ : int
    row_of_ : dict
        The history row of each execution id (a running execution that is also in the
        history is never its own candidate).

    References
    ----------
    Koch, Thamsen, Schmidt, Kao: "SMiPE: Estimating the Progress of Recurring
    Iterative Distributed Dataflows", PDCAT 2017.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(e, j, 10.0 + e, 4) for e in range(3) for j in range(4)]
    >>> history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    >>> est = ProgressEstimator(scale_out_model="none").fit(history)
    >>> current = pd.DataFrame(
    ...     {"iteration": [0, 1], "duration_s": [11.0, 11.0], "scale_out": [4, 4]}
    ... )
    >>> round(est.estimate(current).total_s, 6)
    44.0
    """

    def __init__(
        self,
        params: ProgressParameters | Mapping[str, Any] | None = None,
        *,
        scale_out_model: ScaleOutModelKind = "bell",
        min_executions: int = 2,
    ) -> None:
        self.params = params
        self.scale_out_model = scale_out_model
        self.min_executions = min_executions

    def fit(self, history: pd.DataFrame, hardware: pd.DataFrame | None = None) -> ProgressEstimator:
        """Prepare the history.

        Parameters
        ----------
        history
            Iteration frame of finished executions (``execution, iteration,
            duration_s, scale_out`` and optional measures).
        hardware
            Optional hardware samples (``execution, node, timestamp, cpu, ...``).

        Returns
        -------
        ProgressEstimator
            ``self``.

        Raises
        ------
        jobcast.errors.NotEnoughDataError
            When the history holds fewer than ``min_executions`` executions.
        jobcast.errors.InputError
            On malformed frames or parameters.
        """
        check_scale_out_model(self.scale_out_model)
        if not isinstance(self.min_executions, int) or self.min_executions < 1:
            raise InputError(f"min_executions must be an int >= 1, got {self.min_executions!r}.")
        self.params_ = resolve_parameters(self.params)
        if isinstance(history, pd.DataFrame) and len(history) == 0:
            raise NotEnoughDataError(
                "The history is empty: progress estimation needs finished executions of the "
                "job. Import traces or record runs first."
            )
        arrays = to_arrays(history)
        if arrays.n_executions < self.min_executions:
            raise NotEnoughDataError(
                f"The history holds {arrays.n_executions} execution(s); progress estimation "
                f"needs at least {self.min_executions}. Record more runs of the job first."
            )
        nodes = None
        if hardware is not None and len(hardware):
            nodes = node_profiles(hardware).lookup(arrays.executions.tolist())
        table = fit_scale_out_table(
            arrays.runtime, arrays.scale_out, kind=self.scale_out_model
        ).powered(self.params_.scale_out_strength)
        self.prepared_: PreparedHistory = prepare_history(arrays, table, nodes=nodes)
        self.n_executions_ = arrays.n_executions
        self.row_of_ = {e: i for i, e in enumerate(arrays.executions.tolist())}
        return self

    def scale_out_warning(self, scale_out: float) -> str | None:
        """A warning when ``scale_out`` lies beyond half or twice the history's range.

        The scale-out models are fitted on the history's scale-outs and tabulated up to
        twice its largest (a larger one is looked up there), so such a run's estimate
        rests on extrapolation; a wrong value in the running execution's data looks the
        same.
        """
        check_is_fitted(self, "prepared_")
        seen = self.prepared_.arrays.scale_out
        seen = seen[np.isfinite(seen)]
        if not seen.size or not np.isfinite(scale_out):
            return None
        low, high = float(seen.min()), float(seen.max())
        if low / 2.0 <= scale_out <= 2.0 * high:
            return None
        return (
            f"the running execution's scale-out {scale_out:g} lies far outside the "
            f"history's ({low:g}-{high:g}), so the estimate extrapolates the scale-out "
            "models (check the running execution's scale_out)"
        )

    def estimate(
        self, current: pd.DataFrame, hardware: pd.DataFrame | None = None
    ) -> ProgressEstimate:
        """Estimate the remaining runtime of a running execution.

        Parameters
        ----------
        current
            The running execution's finished iterations ``0..i-1`` (same columns as
            the history; ``execution`` optional). If that execution is also in the
            fitted history, it is never matched with itself.
        hardware
            Optional hardware samples of the running execution.

        Returns
        -------
        ProgressEstimate

        Raises
        ------
        jobcast.errors.NotEnoughDataError
            When no other execution of the history ran that many iterations.
        jobcast.errors.InputError
            On a malformed frame.
        """
        check_is_fitted(self, "prepared_")
        cur = check_current(current)
        prepared = self.prepared_
        current_nodes = None
        if hardware is not None and len(hardware) and prepared.nodes:
            k = next(iter(prepared.nodes.values())).shape[1]
            if "execution" not in hardware.columns:
                hardware = hardware.assign(execution=cur.executions[0])
            elif hardware["execution"].nunique() > 1:
                hardware = hardware[hardware["execution"] == cur.executions[0]]
                if len(hardware) == 0:
                    raise InputError(
                        f"The hardware samples hold several executions but none is the "
                        f"current one ({cur.executions[0]!r}); pass its samples only."
                    )
            profiles = node_profiles(hardware, n_points=k)
            current_nodes = {m: v[0] for m, v in profiles.profiles.items()}
        return self.estimate_arrays(cur, current_nodes=current_nodes)

    def estimate_arrays(
        self, cur: IterationArrays, *, current_nodes: dict[str, np.ndarray] | None = None
    ) -> ProgressEstimate:
        """:meth:`estimate` of a running execution given as a one-row history.

        A latest scale-out outside the history's range rests on extrapolated scale-out
        models: the spread is then at least the one at the nearest scale-out the history
        ran with, and widened by how far the extrapolation moved the estimate from there
        (``|log(estimate / estimate there)|``, added in quadrature), so extrapolating
        never narrows the interval. The point estimate is unchanged.

        Parameters
        ----------
        cur
            The finished iterations as :func:`jobcast.progress.arrays.check_current`
            returns them (or a row of the history cut with
            :meth:`~jobcast.progress.arrays.IterationArrays.head`).
        current_nodes
            Its per-node hardware profiles, metric -> ``(K,)``.

        Returns
        -------
        ProgressEstimate
        """
        check_is_fitted(self, "prepared_")
        result = self._estimate_arrays(cur, current_nodes)
        i = int(cur.n_iter[0])
        seen = self.prepared_.arrays.scale_out
        seen = seen[np.isfinite(seen)]
        latest = float(cur.scale_out[0, i - 1])
        if not seen.size or not np.isfinite(latest):
            return result
        nearest = float(np.clip(latest, seen.min(), seen.max()))
        if nearest == latest:
            return result
        inside = replace(cur, scale_out=np.clip(cur.scale_out, seen.min(), seen.max()))
        there = self._estimate_arrays(inside, current_nodes)
        moved = (
            abs(np.log(result.remaining_s / there.remaining_s))
            if result.remaining_s > 0 and there.remaining_s > 0
            else 0.0
        )
        spread = float(widen(max(result.spread, there.spread), moved))
        return replace(result, spread=spread)

    def _estimate_arrays(
        self, cur: IterationArrays, current_nodes: dict[str, np.ndarray] | None
    ) -> ProgressEstimate:
        """The estimate at the running execution's own scale-outs."""
        prepared = self.prepared_
        exclude = None
        row = self.row_of_.get(cur.executions[0])
        if row is not None:
            exclude = np.zeros(self.n_executions_, dtype=bool)
            exclude[row] = True
        candidates = prepared.candidates(cur, exclude=exclude, current_nodes=current_nodes)
        i = int(cur.n_iter[0])
        if candidates.indices.size == 0:
            longest = int(prepared.arrays.n_iter.max(initial=0))
            raise NotEnoughDataError(
                f"No other execution in the history ran {i} iterations (the longest ran "
                f"{longest}); there is nothing to compare the running execution with."
            )
        valid = np.ones(candidates.indices.size, dtype=bool)
        found = match(candidates.similarities, valid, self.params_)
        pooled = candidates.remaining(self.params_.adjustment, self.params_.length_strength)
        estimates = pooled[found.indices]
        selected = np.ones(found.indices.size, dtype=bool)
        elapsed = float(cur.runtime[0, :i].sum())
        baseline = scaled = None
        if self.params_.fallback > 0 or self.params_.scaled_share > 0:
            # the history means over the candidates (computed only when the blend uses them)
            runtime = prepared.arrays.runtime[candidates.indices]
            plain = remaining_from(suffix_runtimes(runtime), np.array([i]))
            every = np.ones_like(plain, dtype=bool)
            baseline = history_mean(plain, every, every)[0]
            before = elapsed_at(runtime, np.array([i]))
            scaled = scaled_history_mean(plain, before, np.array([elapsed]), every)[0]
        remaining = float(
            combine(estimates, selected, sim_final=found.similarity, params=self.params_,
                    robust=candidates.robust(self.params_.adjustment),
                    history_mean=baseline, scaled_mean=scaled)
        )
        weights = set_weights(selected, found.similarity, self.params_.exponent)
        weights = weights / weights.sum()
        # the set's weights among every candidate: few effective ones lean on the pool
        in_set = np.zeros(pooled.size)
        in_set[found.indices] = weights
        order = np.argsort(-weights, kind="stable")
        ids = prepared.arrays.executions[candidates.indices[found.indices]]
        remaining = max(remaining, 0.0)
        if found.level < 1.0:
            logger.info(
                "No execution passed the thresholds; lowered them to %.0f%%.", 100 * found.level
            )
        return ProgressEstimate(
            iteration=i,
            elapsed_s=elapsed,
            remaining_s=remaining,
            total_s=elapsed + remaining,
            similar=tuple(
                zip(map(_plain, ids[order].tolist()), weights[order].tolist(), strict=True)
            ),
            estimates_s=tuple(float(x) for x in estimates[order]),
            spread=float(log_spread(pooled, in_set, pool=np.ones(pooled.size, dtype=bool))),
            best_similarity=float(
                np.nanmax(candidates.similarities[MEASURES.index("runtime")], initial=0.0)
            ),
        )
