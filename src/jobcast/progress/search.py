"""The search of one scale-out strength's parameters: thresholds from quality, BOBYQA for the rest.

:func:`jobcast.progress.training.train_report` calls :func:`search_strengths`, which runs
:func:`train_one` per strength and on the chosen one in full, and composes the result
(regularisation, the cross-fitted blend, the report).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.linalg import LinAlgWarning

from jobcast.errors import InputError, MissingExtraError
from jobcast.progress.combine import mean_remaining_error
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.quality import quality_curve, quality_points
from jobcast.progress.similarity import MEASURES
from jobcast.progress.simulation import SimulationCases

__all__ = [
    "EXPONENT_BOUNDS",
    "FINAL_THRESHOLD_GRID",
    "thresholds_from_quality",
    "search_strengths",
    "train_one",
    "without_measure",
]

logger = logging.getLogger(__name__)

#: ``train(cases, starts, random_first, evaluations, final_grid)``: :func:`train_one`
#: with the training's settings bound, returning the error and the parameters.
Train = Callable[[SimulationCases, int, bool, int, bool], tuple[float, ProgressParameters]]

#: Bounds of the exponent b searched by BOBYQA (optimised on a log scale).
EXPONENT_BOUNDS = (1.01, 100.0)

#: Candidate values of T_final tried after the weights are fixed.
FINAL_THRESHOLD_GRID = np.round(np.linspace(0.0, 0.95, 20), 10)


def thresholds_from_quality(
    cases: SimulationCases,
    *,
    a_min: float = 0.9,
    n_min: float = 0.25,
    params: ProgressParameters | None = None,
) -> tuple[float, ...]:
    """Per-measure thresholds: the smallest ``t`` with ``h(t) >= a_min`` and ``n(t) >= n_min``.

    A measure for which no threshold reaches ``a_min`` while keeping the share
    ``n_min`` of the pairs gets threshold 0 (it does not discard anything).

    Parameters
    ----------
    cases
        Leave-one-out simulations.
    a_min
        Required mean accuracy ``1 - relative error`` of the pairs above the threshold.
    n_min
        Smallest share of pairs that must remain above it.
    params
        Adjustment strength used for the accuracies (default parameters when None).

    Returns
    -------
    tuple of float
        In the order of ``MEASURES``.
    """
    if not 0.0 <= a_min <= 1.0 or not 0.0 < n_min <= 1.0:
        raise InputError(f"a_min must lie in [0, 1] and n_min in (0, 1], got {a_min}, {n_min}.")
    out = []
    for measure in MEASURES:
        s, a = quality_points(cases, measure, params=params)
        if s.size == 0:
            out.append(0.0)
            continue
        found = quality_curve(s, a, measure=measure).threshold(a_min, n_min)
        out.append(0.0 if found is None else found)
    return tuple(out)


def _bobyqa() -> Any:
    try:
        import pybobyqa
    except ImportError as e:  # pragma: no cover - a core dependency
        raise MissingExtraError("Py-BOBYQA", "progress", "Training progress parameters") from e
    return pybobyqa


def without_measure(cases: SimulationCases, measure: str) -> SimulationCases:
    """The simulations with one measure's similarities missing (the matching skips it)."""
    sims = cases.similarities.copy()
    sims[:, MEASURES.index(measure), :] = np.nan
    return replace(cases, similarities=sims)


def train_one(
    cases: SimulationCases,
    *,
    starts: int,
    rng: np.random.Generator,
    a_min: float,
    n_min: float,
    maxfun: int,
    train_adjustment: bool,
    random_first: bool = False,
    final_grid: bool = True,
) -> tuple[float, ProgressParameters]:
    """Steps 1-4 of :func:`jobcast.progress.training.train_report` on one strength's simulations.

    ``final_grid`` False skips step 3 (``T_final`` stays 0).
    """
    pybobyqa = _bobyqa()
    strength = cases.strength
    available = [MEASURES.index(m) for m in cases.available_measures]
    quality_thresholds = thresholds_from_quality(cases, a_min=a_min, n_min=n_min)
    lo_b, hi_b = np.log(EXPONENT_BOUNDS[0]), np.log(EXPONENT_BOUNDS[1])
    free_weights = available if len(available) > 1 else []

    def unpack(x: np.ndarray, thresholds: tuple[float, ...]) -> ProgressParameters:
        weights = np.zeros(len(MEASURES))
        weights[available] = 1.0
        if free_weights:
            weights[free_weights] = np.clip(x[: len(free_weights)], 0.0, 1.0)
            if weights.sum() <= 1e-9:
                weights[free_weights] = 1e-3
        rest = x[len(free_weights):]
        exponent = float(np.exp(np.clip(rest[0], lo_b, hi_b)))
        adjustment = float(np.clip(rest[1], 0.0, 1.0)) if train_adjustment else 1.0
        return ProgressParameters(
            thresholds=thresholds,
            weights=tuple(weights),
            exponent=exponent,
            adjustment=adjustment,
            scale_out_strength=strength,
            blend=float(np.clip(rest[-2], 0.0, 1.0)),
            median_share=float(np.clip(rest[-1], 0.0, 1.0)),
        )

    # weights, log b, the adjustment, the blend and the median share
    shares = ([0.0] if train_adjustment else []) + [0.0, 0.0]
    lower = [0.0] * len(free_weights) + [lo_b] + shares
    upper = [1.0] * len(free_weights) + [hi_b] + [1.0] * len(shares)
    lower_a, upper_a = np.array(lower), np.array(upper)
    candidates: list[tuple[float, ProgressParameters]] = []
    # sorted: a set's order would make the random starts depend on hashing
    for thresholds in sorted({quality_thresholds, (0.0,) * len(MEASURES)}):
        best: tuple[float, ProgressParameters] | None = None
        for start in range(starts):
            if start == 0 and not random_first:
                x0 = np.concatenate(
                    [
                        np.full(len(free_weights), 0.5),
                        [np.log(3.0)],
                        [0.5] if train_adjustment else [],
                        [0.0, 0.0],
                    ]
                )
            else:
                x0 = rng.uniform(lower_a, upper_a)

            def objective(x: np.ndarray, thresholds: tuple[float, ...] = thresholds) -> float:
                return mean_remaining_error(cases, unpack(x, thresholds))

            with warnings.catch_warnings():
                # the objective is piecewise constant in places, so BOBYQA's
                # interpolation systems can be singular; it recovers on its own
                warnings.simplefilter("ignore", LinAlgWarning)
                result = pybobyqa.solve(
                    objective,
                    x0,
                    bounds=(lower_a, upper_a),
                    maxfun=maxfun,
                    rhobeg=0.2 * float(np.min(upper_a - lower_a)),
                    objfun_has_noise=False,
                    do_logging=False,
                )
            x = np.asarray(result.x if result.x is not None else x0, dtype=np.float64)
            params = unpack(x, thresholds)
            err = mean_remaining_error(cases, params)
            if best is None or err < best[0]:
                best = (err, params)
        if best is None:  # starts >= 1 always gives one
            raise InputError("No BOBYQA start ran.")
        err, params = best
        for t_final in FINAL_THRESHOLD_GRID if final_grid else ():
            trial = params.with_values(final_threshold=float(t_final))
            trial_err = mean_remaining_error(cases, trial)
            if trial_err < err - 1e-12:
                err, params = trial_err, trial
        candidates.append((err, params))
    return min(candidates, key=lambda c: c[0])


def search_strengths(
    by_strength: Mapping[float, SimulationCases],
    train: Train,
    *,
    n_starts: int,
    maxfun: int,
    step: Callable[[], object],
) -> tuple[float, ProgressParameters, SimulationCases, float]:
    """Steps 1-4 of :func:`jobcast.progress.training.train_report` over the strengths.

    Several strengths: a shorter search (one start, a quarter of ``maxfun``, no
    ``T_final``) ranks them and the best is searched in full from ``n_starts`` starts.
    With context attributes the search runs once more without them (one more weight
    widens BOBYQA's search, which can end in a worse optimum) and the better is kept.
    ``step`` is called after each strength screened, the full search and the search
    without the context attributes.

    Returns
    -------
    tuple
        The error, the parameters, the simulations they were trained on (without the
        context measure when that was better) and the chosen strength.
    """
    screen = maxfun if len(by_strength) == 1 else max(1, maxfun // 4)
    screened = {}
    for s, c in sorted(by_strength.items()):
        screened[s] = train(c, 1, False, screen, screen == maxfun)
        step()
    strength = min(screened, key=lambda k: screened[k][0])
    err, params = screened[strength]
    chosen = by_strength[strength]
    runs = []
    if screen < maxfun:
        runs.append(train(chosen, 1, False, maxfun, True))
    if n_starts > 1:
        runs.append(train(chosen, n_starts - 1, True, maxfun, True))
    for run in runs:
        if run[0] < err:
            err, params = run
    step()
    if "context" in chosen.available_measures:
        plain = without_measure(chosen, "context")
        alt_err, alt = train(plain, n_starts, False, maxfun, True)
        if alt_err < err:
            err, params, chosen = alt_err, alt, plain
            logger.info(
                "Progress training: the context attributes did not lower the leave-one-out "
                "error (%.4f without them): not used.",
                alt_err,
            )
    step()
    return err, params, chosen, strength
