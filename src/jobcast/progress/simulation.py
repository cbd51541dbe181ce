"""Leave-one-out simulations of estimates over a history, for training and evaluation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.progress.arrays import IterationArrays, node_profiles, to_arrays
from jobcast.progress.baseline import (
    elapsed_at,
    history_mean,
    remaining_from,
    scaled_history_mean,
    suffix_runtimes,
)
from jobcast.progress.held_out import held_out_cases
from jobcast.progress.inference import adjusted, combine_estimates
from jobcast.progress.interval import log_spread
from jobcast.progress.lengths import with_lengths
from jobcast.progress.matching import match_masks
from jobcast.progress.parallel import ProgressCallback, run_tasks
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.scaling import ScaleOutModelKind, check_scale_out_model
from jobcast.progress.similarity import MEASURES

__all__ = [
    "STRENGTH_GRID",
    "SimulationCases",
    "SimulationOptions",
    "combined_estimate",
    "sample_iterations",
    "simulate_cases",
    "simulate_history",
    "simulate_strengths",
]

logger = logging.getLogger(__name__)

#: Values of ``scale_out_strength`` simulated for training: from no conversion between
#: scale-outs to the scale-out models' full conversion (the paper's).
STRENGTH_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def sample_iterations(n_iter: int, n_samples: int = 3, padding: float = 0.15) -> np.ndarray:
    """Sample points of the paper's protocol: equally spaced, ``padding`` kept free at both ends.

    A sample point ``i`` is the number of finished iterations when the estimate is
    made; it lies in ``[1, n_iter - 1]`` so that something has run and something
    remains.

    Examples
    --------
    >>> sample_iterations(35).tolist()
    [5, 18, 30]
    >>> sample_iterations(2).tolist()
    [1]
    """
    if n_iter < 2:
        return np.zeros(0, dtype=np.int64)
    points = np.rint(np.linspace(padding, 1.0 - padding, n_samples) * n_iter)
    return np.unique(np.clip(points, 1, n_iter - 1).astype(np.int64))


@dataclass(frozen=True, eq=False)
class SimulationCases:
    """Estimates of every sampled (execution, iteration) from all other executions.

    Everything here is independent of the matching parameters, so that training and
    evaluation can try many parameter sets at the cost of a few array operations.

    Attributes
    ----------
    current
        Shape ``(C,)``: history row of the execution being estimated.
    iteration
        Shape ``(C,)``: finished iterations at the estimate.
    similarities
        Shape ``(C, M, E)``: each measure against every history row (NaN: no data).
    valid
        Shape ``(C, E)``: rows usable as candidates (never the current one).
    raw_remaining
        Shape ``(C, E)``: each candidate's remaining runtime at the current
        scale-out, before the adjustment factor.
    factors
        Shape ``(C, E)``: the adjustment factors ``f_total``.
    elapsed, actual_remaining
        Shape ``(C,)``: seconds run so far and the true remaining seconds.
    executions
        Execution ids of the history rows, shape ``(E,)``.
    strength
        The ``scale_out_strength`` the runtimes were converted with.
    robust_remaining, robust_factor
        Shape ``(C,)``: each case's robust estimate and median adjustment factor
        (see :class:`jobcast.progress.prepared.Candidates`).
    plain_remaining
        Shape ``(C, E)``: each execution's runtime from the case's iteration on, as
        recorded (not converted): with ``valid`` (the candidates: the other
        executions that ran past that iteration) the history-mean estimate
        (:func:`jobcast.progress.baseline.history_mean`).
    plain_elapsed
        Shape ``(C, E)``: each execution's runtime before the case's iteration, as
        recorded: the pace the pace-scaled history mean compares the current run's
        elapsed time with (:func:`jobcast.progress.baseline.scaled_history_mean`).
    length_ratio
        Shape ``(C, E)``: each candidate's remaining iterations converted to the current
        execution's expected count (:mod:`jobcast.progress.lengths`), applied to the
        power ``length_strength``; None where no case has one (every ratio 1).
    """

    current: np.ndarray
    iteration: np.ndarray
    similarities: np.ndarray
    valid: np.ndarray
    raw_remaining: np.ndarray
    factors: np.ndarray
    elapsed: np.ndarray
    actual_remaining: np.ndarray
    executions: np.ndarray
    strength: float = 1.0
    robust_remaining: np.ndarray | None = None
    robust_factor: np.ndarray | None = None
    plain_remaining: np.ndarray | None = None
    plain_elapsed: np.ndarray | None = None
    length_ratio: np.ndarray | None = None

    @property
    def n_cases(self) -> int:
        """Number of simulated estimates ``C``."""
        return int(self.current.shape[0])

    @property
    def actual_total(self) -> np.ndarray:
        """True total runtimes, shape ``(C,)``."""
        return self.elapsed + self.actual_remaining

    @property
    def available_measures(self) -> tuple[str, ...]:
        """Measures with data for at least one valid pair."""
        has = ~np.isnan(self.similarities) & self.valid[:, None, :]
        return tuple(m for m, ok in zip(MEASURES, has.any(axis=(0, 2)), strict=True) if ok)

    def only(self, row: int) -> SimulationCases:
        """Keep the cases in which execution ``row`` is the current one."""
        return self._select(self.current == row)

    def _select(self, keep: np.ndarray) -> SimulationCases:
        return replace(
            self,
            current=self.current[keep],
            iteration=self.iteration[keep],
            similarities=self.similarities[keep],
            valid=self.valid[keep],
            raw_remaining=self.raw_remaining[keep],
            factors=self.factors[keep],
            elapsed=self.elapsed[keep],
            actual_remaining=self.actual_remaining[keep],
            robust_remaining=None if self.robust_remaining is None
            else self.robust_remaining[keep],
            robust_factor=None if self.robust_factor is None else self.robust_factor[keep],
            plain_remaining=None if self.plain_remaining is None
            else self.plain_remaining[keep],
            plain_elapsed=None if self.plain_elapsed is None else self.plain_elapsed[keep],
            length_ratio=None if self.length_ratio is None else self.length_ratio[keep],
        )

    def remaining(self, adjustment: float = 1.0, length: float = 0.0) -> np.ndarray:
        """Per-candidate remaining runtimes with the (damped) adjustment, shape ``(C, E)``.

        ``length``: the power of :attr:`length_ratio` applied (``length_strength``).
        """
        out = self.raw_remaining * adjusted(self.factors, adjustment)
        return with_lengths(out, self.length_ratio, length)

    def converted(self) -> SimulationCases:
        """The cases with every candidate converted to the expected length (strength 1).

        Training on these trains parameters for ``length_strength`` 1; the ratios are
        folded into ``raw_remaining``, so they are not applied twice.
        """
        if self.length_ratio is None:
            return self
        return replace(self, raw_remaining=self.raw_remaining * self.length_ratio,
                       length_ratio=None)

    def robust(self, adjustment: float = 1.0) -> np.ndarray:
        """The robust estimates with the (damped) median adjustment, shape ``(C,)``.

        Without them (older simulations), the plain mean of the candidates' estimates.
        """
        if self.robust_remaining is None or self.robust_factor is None:
            every = np.where(self.valid, self.remaining(adjustment), 0.0).sum(axis=1)
            return every / np.maximum(self.valid.sum(axis=1), 1)
        return self.robust_remaining * adjusted(self.robust_factor, adjustment)

    def history_mean(self) -> np.ndarray:
        """The history-mean baseline's estimate of each case, shape ``(C,)``.

        The candidates (``valid``) are the other executions that ran past the case's
        iteration (or reached it, when none did); a case without any has no estimate (NaN), as
        SMiPE has none. Without ``plain_remaining`` (older simulations), the plain
        mean of the candidates' unadjusted estimates.
        """
        plain = self.raw_remaining if self.plain_remaining is None else self.plain_remaining
        return history_mean(plain, self.valid, self.valid)

    def scaled_history_mean(self) -> np.ndarray:
        """The candidates' mean remaining runtime scaled by the run's pace so far, ``(C,)``.

        :func:`jobcast.progress.baseline.scaled_history_mean` over ``valid``; without
        ``plain_elapsed`` (older simulations), :meth:`history_mean`.
        """
        if self.plain_elapsed is None:
            return self.history_mean()
        plain = self.raw_remaining if self.plain_remaining is None else self.plain_remaining
        return scaled_history_mean(plain, self.plain_elapsed, self.elapsed, self.valid)

    def spread(self, params: ProgressParameters) -> np.ndarray:
        """How much each case's similar executions disagree (see ``log_spread``), ``(C,)``."""
        mask, sim_final, _ = match_masks(self.similarities, self.valid, params)
        weights = np.power(np.clip(sim_final, 0.0, 1.0), params.exponent) * mask
        # a set whose similarities are all 0 is averaged plainly (as the estimates are)
        weights = np.where(weights.sum(axis=1, keepdims=True) > 0, weights, mask * 1.0)
        # shrunk towards all candidates' spread when few match, as the ETA's (log_spread)
        return log_spread(
            self.remaining(params.adjustment, params.length_strength), weights, pool=self.valid
        )

    def pair_accuracy(self, adjustment: float = 1.0) -> np.ndarray:
        """Accuracy of estimating each case from each candidate alone, shape ``(C, E)``.

        ``a = max(0, 1 - |estimated total - actual total| / actual total)``; NaN for
        invalid pairs.
        """
        remaining = self.remaining(adjustment)
        err = np.abs(remaining - self.actual_remaining[:, None]) / self.actual_total[:, None]
        return np.where(self.valid, np.clip(1.0 - err, 0.0, 1.0), np.nan)


class SimulationOptions(TypedDict, total=False):
    """Keyword arguments every ``simulate_*`` function takes (see :func:`simulate_strengths`)."""

    n_samples: int
    padding: float
    scale_out_model: ScaleOutModelKind
    n_jobs: int | None
    callback: ProgressCallback | None


def simulate_strengths(
    arrays: IterationArrays,
    *,
    n_samples: int = 3,
    padding: float = 0.15,
    scale_out_model: ScaleOutModelKind = "bell",
    nodes: dict[str, np.ndarray] | None = None,
    n_jobs: int | None = None,
    callback: ProgressCallback | None = None,
    strengths: Sequence[float] = STRENGTH_GRID,
) -> dict[float, SimulationCases]:
    """Simulate SMiPE's estimates leave-one-out over a history, for several scale-out strengths.

    For every execution and each of its sample iterations
    (:func:`sample_iterations`), all *other* executions are candidates, and the
    per-iteration scale-out models are fitted without the execution being
    estimated. The held-out executions are simulated through one joblib call
    (:func:`jobcast.progress.parallel.run_tasks`): serially, on a process pool, or on
    a Dask cluster when the caller wraps the call in
    :func:`jobcast.progress.parallel.dask_backend` (or sets any
    ``joblib.parallel_config``).

    Parameters
    ----------
    arrays
        The history.
    n_samples, padding
        Sample points per execution (the paper: 3, with 15% padding).
    scale_out_model
        Scale-out model per iteration (see :func:`fit_scale_out_table`).
    nodes
        Optional per-node hardware profiles aligned with the rows of ``arrays``.
    n_jobs
        joblib workers (one pool for the whole call); None defers to the enclosing
        ``joblib.parallel_config`` (serial without one).
    callback
        Called as ``callback(done, total)`` after each held-out execution.
    strengths
        Values of ``scale_out_strength`` to simulate (the scale-out models are
        fitted once per held-out execution and powered to each).

    Returns
    -------
    dict
        ``scale_out_strength`` -> :class:`SimulationCases`.

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        With fewer than two executions, or none of two or more iterations.
    jobcast.errors.InputError
        On bad ``n_samples``, ``padding``, ``strengths`` or ``n_jobs``.
    """
    n_e = arrays.n_executions
    if n_e < 2:
        raise NotEnoughDataError(
            f"Leave-one-out simulations need at least 2 executions, the history has {n_e}."
        )
    check_scale_out_model(scale_out_model)
    if n_samples < 1:
        raise InputError(f"n_samples must be >= 1, got {n_samples}.")
    if not 0.0 <= padding < 0.5:
        raise InputError(f"padding must lie in [0, 0.5), got {padding}.")
    strengths = tuple(float(x) for x in strengths)
    if not strengths or any(not 0.0 <= x <= 1.0 for x in strengths):
        raise InputError(f"strengths must be values in [0, 1], got {strengths}.")
    finite = arrays.scale_out[np.isfinite(arrays.scale_out)]
    max_scale_out = 2 * int(finite.max())
    plan = [
        (row, sample_iterations(int(arrays.n_iter[row]), n_samples, padding))
        for row in range(n_e)
    ]
    plan = [(row, its) for row, its in plan if its.size]
    if not plan:
        raise NotEnoughDataError(
            "No execution in the history has two or more iterations: progress is estimated "
            "between iterations. Import executions whose iterations are recorded (for Spark "
            "event logs, `--iterations jobs` counts every Spark job as one)."
        )
    tasks = [
        (arrays, row, its.tolist(), scale_out_model, nodes, max_scale_out, strengths)
        for row, its in plan
    ]
    results = run_tasks(held_out_cases, tasks, n_jobs=n_jobs, callback=callback)
    current = np.concatenate([np.full(its.size, row) for row, its in plan]).astype(np.int64)
    iteration = np.concatenate([its for _, its in plan]).astype(np.int64)
    elapsed = np.concatenate([r[0].elapsed for r in results])
    total = np.nansum(arrays.runtime, axis=1)[current]
    plain = remaining_from(suffix_runtimes(arrays.runtime), iteration)
    before = elapsed_at(arrays.runtime, iteration)
    logger.info("Simulated %d estimates over %d executions.", len(current), n_e)

    def ratios(k: int) -> np.ndarray | None:
        if all(r[k].length_ratio is None for r in results):
            return None
        return np.concatenate([
            np.ones((len(r[k].elapsed), n_e)) if r[k].length_ratio is None else r[k].length_ratio
            for r in results
        ])

    return {
        strength: SimulationCases(
            current=current,
            iteration=iteration,
            similarities=np.concatenate([r[k].similarities for r in results]),
            valid=np.concatenate([r[k].valid for r in results]),
            raw_remaining=np.concatenate([r[k].raw_remaining for r in results]),
            factors=np.concatenate([r[k].factors for r in results]),
            elapsed=elapsed,
            actual_remaining=total - elapsed,
            executions=arrays.executions,
            strength=strength,
            robust_remaining=np.concatenate([r[k].robust_remaining for r in results]),
            robust_factor=np.concatenate([r[k].robust_factor for r in results]),
            plain_remaining=plain,
            plain_elapsed=before,
            length_ratio=ratios(k),
        )
        for k, strength in enumerate(strengths)
    }


def simulate_cases(
    arrays: IterationArrays,
    *,
    scale_out_strength: float = 1.0,
    nodes: dict[str, np.ndarray] | None = None,
    **options: Unpack[SimulationOptions],
) -> SimulationCases:
    """Simulate SMiPE's estimates leave-one-out over a history, for one scale-out strength.

    For every execution and each of its sample iterations
    (:func:`sample_iterations`), all *other* executions are candidates, and the
    per-iteration scale-out models are fitted without the execution being
    estimated. ``options`` are those of :func:`simulate_strengths` (``n_samples``,
    ``padding``, ``scale_out_model``, ``n_jobs``, ``callback``).

    Returns
    -------
    SimulationCases
    """
    strength = float(scale_out_strength)
    return simulate_strengths(arrays, nodes=nodes, strengths=(strength,), **options)[strength]


def combined_estimate(cases: SimulationCases, index: int, params: ProgressParameters) -> float:
    """Estimate of one case (used to cross-check the batched path)."""
    mask, sim_final, _ = match_masks(cases.similarities[index], cases.valid[index], params)
    remaining = cases.remaining(params.adjustment, params.length_strength)[index]
    return combine_estimates(remaining[mask], sim_final[mask], params.exponent)


def simulate_history(
    history: pd.DataFrame,
    hardware: pd.DataFrame | None = None,
    *,
    strengths: Sequence[float] = STRENGTH_GRID,
    **options: Unpack[SimulationOptions],
) -> tuple[IterationArrays, dict[float, SimulationCases]]:
    """:func:`simulate_strengths` on an iteration frame (and optional hardware samples).

    ``options`` are those of :func:`simulate_strengths` (``n_samples``, ``padding``,
    ``scale_out_model``, ``n_jobs``, ``callback``).

    Returns
    -------
    tuple
        The history's arrays and its simulation cases per scale-out strength.
    """
    arrays = to_arrays(history)
    nodes = None
    if hardware is not None and len(hardware):
        nodes = node_profiles(hardware).lookup(arrays.executions.tolist())
    return arrays, simulate_strengths(arrays, nodes=nodes, strengths=strengths, **options)
