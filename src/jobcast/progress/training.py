"""Parameter training: thresholds from similarity quality, the rest by BOBYQA on the LOO error."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import partial
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.progress.combine import mean_remaining_error, mean_total_error
from jobcast.progress.fallback import learn_fallback
from jobcast.progress.few_runs import (
    SMALL_HISTORY,
    out_of_fold_errors,
    simple_choice,
    simple_fit,
    simple_options,
)
from jobcast.progress.lengths import chosen_length
from jobcast.progress.parallel import ProgressCallback, StepCounter
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.prepared import learn_relevance
from jobcast.progress.report import (
    MAX_TRAINING_EXECUTIONS,
    MIN_TRAINING_EXECUTIONS,
    TrainingReport,
    regularise,
    training_steps,
    training_subset,
    with_baseline,
)
from jobcast.progress.scaling import ScaleOutModelKind
from jobcast.progress.search import (
    EXPONENT_BOUNDS,
    search_strengths,
    thresholds_from_quality,
    train_one,
)
from jobcast.progress.simulation import STRENGTH_GRID, SimulationCases, simulate_history

__all__ = [
    "MAX_TRAINING_EXECUTIONS",
    "MIN_TRAINING_EXECUTIONS",
    "CaseOptions",
    "HistoryOptions",
    "TrainingReport",
    "notes_not_logged",
    "thresholds_from_quality",
    "train_on_cases",
    "train_history",
    "train_parameters",
    "train_report",
    "training_steps",
    "training_subset",
]

logger = logging.getLogger(__name__)

# Set within notes_not_logged: per thread (and per asyncio task), unlike a logger's level.
_NOTES_NOT_LOGGED: ContextVar[bool] = ContextVar("jobcast_notes_not_logged", default=False)


class _NotesFilter(logging.Filter):
    """Drops this module's records below ERROR where :func:`notes_not_logged` is active."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not _NOTES_NOT_LOGGED.get()


logger.addFilter(_NotesFilter())


@contextmanager
def notes_not_logged() -> Iterator[None]:
    """Within it, training notes go to the report only, not to the log as warnings.

    For callers that show the report's notes themselves (``jobcast train progress``)
    or sum them up (the nested evaluation's dozens of trainings). It holds for the
    calling thread only: a training running concurrently in another thread still logs.
    """
    token = _NOTES_NOT_LOGGED.set(True)
    try:
        yield
    finally:
        _NOTES_NOT_LOGGED.reset(token)


class CaseOptions(TypedDict, total=False):
    """Keyword arguments of :func:`train_report` (and :func:`train_on_cases`)."""

    a_min: float
    n_min: float
    n_starts: int
    maxfun: int
    train_adjustment: bool
    random_state: int | np.random.Generator | None


def train_on_cases(
    cases: SimulationCases | Mapping[float, SimulationCases], **options: Unpack[CaseOptions]
) -> ProgressParameters:
    """Train parameters on precomputed leave-one-out simulations.

    :func:`train_report` with the parameters only; see there.
    """
    return train_report(cases, **options).params


def _simple_report(
    by_strength: Mapping[float, SimulationCases], executions: int, why: str
) -> TrainingReport:
    """The defaults but for the simple choices of :mod:`jobcast.progress.few_runs`.

    Of the parameters, only the scale-out strength (among the simulated ones) and how
    the similar executions' estimates are combined (their weighted mean, the paper's,
    or the weighted median that minimises the relative error, ``median_share`` 0 or 1)
    are chosen, by the leave-one-out error; ties keep the mean and the stronger
    conversion (the paper's). A handful of options, where a dozen parameters would
    follow single runs. The per-iteration scale-out models, fitted on a few runs, can
    convert worse than they help (on 4 or 5 runs of either Ellis history, the full
    conversion is the worst of the five strengths); the weighted median does not let
    one candidate that ran much longer pull the estimate up, as happens near the end
    of runs whose lengths vary. Then, as after training, the blend with the
    pace-scaled history mean (:func:`jobcast.progress.fallback.learn_fallback`; it
    needs two executions per fold). ``why`` starts the notes.
    """
    first = by_strength[max(by_strength)]
    defaults = ProgressParameters(scale_out_strength=max(by_strength))
    (strength, share), _ = simple_choice(by_strength)
    chosen = by_strength[strength]
    params, error, blend_notes = learn_fallback(
        chosen, simple_options(by_strength)[strength, share], fit=simple_fit
    )
    changed = [f"scale-out strength {strength:g}"] if strength != max(by_strength) else []
    if share > 0:
        changed.append("the similar executions' weighted median (median_share 1)")
    note = (
        f"{why}: kept the default parameters"
        + (" but " + " and ".join(changed) if changed else "")
        + (", the choice with the least leave-one-out error" if changed else "")
    )
    notes = (note, *blend_notes)
    for text in notes:
        logger.warning("Progress training: %s.", text)
    return TrainingReport(
        params,
        mean_remaining_error(first, defaults),
        error,
        mean_total_error(first, defaults),
        mean_total_error(chosen, params),
        chosen.n_cases,
        executions,
        notes,
    )


def train_report(
    cases: SimulationCases | Mapping[float, SimulationCases],
    *,
    a_min: float = 0.9,
    n_min: float = 0.25,
    n_starts: int = 3,
    maxfun: int = 200,
    train_adjustment: bool = True,
    random_state: int | np.random.Generator | None = None,
    lengths: bool = True,
    steps: StepCounter | None = None,
) -> TrainingReport:
    """Train parameters on precomputed leave-one-out simulations and report on them.

    1. Thresholds per measure from the quality curves (:func:`thresholds_from_quality`).
    2. Weights of the measures with data, the exponent ``b``, the share of the
       weighted median, the blend with the robust estimate and (with
       ``train_adjustment``) the adjustment strength,
       minimising the mean relative error of the simulated estimates' remaining
       runtime (the paper's metric) with BOBYQA from ``n_starts`` starting points
       (equal weights first, then random ones).
    3. ``T_final`` by a grid search on the same error.
    4. The quality thresholds are kept only if they do not raise the error
       compared with no thresholds (they are a filter BOBYQA cannot undo).
    5. An exponent at its bound (a flat objective) is replaced by the smallest
       (largest) exponent within 2 % of the error, and said so in the notes.
    6. The share ``scaled_share`` of the pace-scaled history mean and the scale
       of the blend, chosen on estimates cross-fitted over folds of executions
       (:func:`jobcast.progress.fallback.learn_fallback`; a large share or a small
       scale is said in the notes).
    7. Below :data:`jobcast.progress.few_runs.SMALL_HISTORY` executions, the trained
       parameters are kept only if, each execution left out in turn, they estimate
       it better than the defaults' simple choices (the scale-out strength and the
       weighted mean or median, :func:`jobcast.progress.few_runs.simple_choice`);
       else those are kept and the notes say so. With fewer than
       :data:`MIN_TRAINING_EXECUTIONS` executions nothing is trained and the simple
       choices are kept.
    8. From :data:`jobcast.progress.few_runs.SMALL_HISTORY` executions on, where the
       runs differ in length, steps 1-6 run again on the candidates converted to the
       expected length (:mod:`jobcast.progress.lengths`); ``length_strength`` 1 is
       kept if that lowers the leave-one-out error by
       :data:`jobcast.progress.lengths.MIN_LENGTH_GAIN`.

    Given simulations for several scale-out strengths
    (:func:`jobcast.progress.simulation.simulate_strengths`), steps 1-4 run from the
    first starting point with a quarter of ``maxfun`` for each strength; the
    strength with the lowest error then gets the full search from all starting
    points.

    Parameters
    ----------
    cases
        Leave-one-out simulations of the history, or a mapping
        ``scale_out_strength -> simulations``.
    a_min, n_min
        Threshold rule.
    n_starts
        BOBYQA starting points.
    maxfun
        Objective evaluations per start.
    train_adjustment
        Also train the damping of ``f_total``; False keeps the paper's full factor.
    random_state
        Seed or generator of the random starting points.
    lengths
        Step 8 (False: the candidates as they ran).
    steps
        Told each search's end: one step per strength screened, then one each for the
        full search, the search without the context attributes, the blend and the
        check against the simple choices (skipped ones too), per pass
        (:func:`training_steps` counts them).

    Returns
    -------
    TrainingReport
        Parameters with ``scale_out_strength`` set to the strength of the chosen
        simulations.

    Raises
    ------
    jobcast.errors.InputError
        When there are no simulated cases.
    """
    by_strength = {cases.strength: cases} if isinstance(cases, SimulationCases) else dict(cases)
    if not by_strength or any(c.n_cases == 0 for c in by_strength.values()):
        raise InputError("There are no simulated estimates to train on (history too short).")
    if n_starts < 1 or maxfun < 1:
        raise InputError(f"n_starts and maxfun must be >= 1, got {n_starts}, {maxfun}.")
    rng = np.random.default_rng(random_state)
    first = by_strength[max(by_strength)]
    defaults = ProgressParameters(scale_out_strength=max(by_strength))
    executions = int(np.unique(first.current).size)
    if lengths and executions >= SMALL_HISTORY and first.length_ratio is not None:
        again = partial(
            train_report,
            a_min=a_min,
            n_min=n_min,
            n_starts=n_starts,
            maxfun=maxfun,
            train_adjustment=train_adjustment,
            random_state=random_state,
            lengths=False,
            steps=steps,
        )
        return chosen_length(
            again(by_strength), again({s: c.converted() for s, c in by_strength.items()})
        )
    if executions < MIN_TRAINING_EXECUTIONS:
        return _simple_report(
            by_strength,
            executions,
            f"only {executions} execution(s) to train on (at least "
            f"{MIN_TRAINING_EXECUTIONS} needed)",
        )

    def train(
        c: SimulationCases, starts: int, random_first: bool, evaluations: int, grid: bool = True
    ) -> tuple[float, ProgressParameters]:
        return train_one(
            c,
            starts=starts,
            rng=rng,
            a_min=a_min,
            n_min=n_min,
            maxfun=evaluations,
            train_adjustment=train_adjustment,
            random_first=random_first,
            final_grid=grid,
        )

    step = steps.step if steps is not None else (lambda units=1: None)
    err, params, chosen, strength = search_strengths(
        by_strength, train, n_starts=n_starts, maxfun=maxfun, step=step
    )
    params, err, notes = regularise(chosen, params, err, bounds=EXPONENT_BOUNDS)

    def fit(c: SimulationCases) -> ProgressParameters:  # one start, for folds of runs
        return train(c, 1, False, maxfun)[1]

    params, err, fallback_notes = learn_fallback(chosen, params, fit=fit)
    notes += fallback_notes
    step()
    if executions < SMALL_HISTORY:
        trained, simple = out_of_fold_errors(by_strength, chosen, fit)
        step()
        logger.info(
            "Progress training on %d executions, leaving each out: trained %.4f, the "
            "defaults' simple choice %.4f.",
            executions,
            trained,
            simple,
        )
        if simple < trained:
            # errors equal to the shown digits are "no better", not "worse"
            than = "worse than" if f"{trained:.4f}" != f"{simple:.4f}" else "no better than"
            return _simple_report(
                by_strength,
                executions,
                f"on {executions} executions, parameters trained without a run estimated "
                f"it {than} the defaults did ({trained:.4f} against {simple:.4f}, "
                "each execution left out)",
            )
    else:
        step()  # the check's slot: nothing to check from SMALL_HISTORY executions on
    before = mean_remaining_error(first, defaults)
    logger.info(
        "Trained progress parameters: leave-one-out MRE of the remaining runtime %.4f "
        "(untrained %.4f), scale-out strength %.2f.",
        err,
        before,
        strength,
    )
    for note in notes:
        logger.warning("Progress training: %s.", note)
    return TrainingReport(
        params=params,
        error_before=before,
        error_after=err,
        total_error_before=mean_total_error(first, defaults),
        total_error_after=mean_total_error(chosen, params),
        estimates=chosen.n_cases,
        executions=executions,
        notes=tuple(notes),
    )


class HistoryOptions(CaseOptions, total=False):
    """Keyword arguments of :func:`train_history` (and :func:`train_parameters`)."""

    hardware: pd.DataFrame | None
    scale_out_model: ScaleOutModelKind
    strengths: Sequence[float]
    n_samples: int
    padding: float
    max_executions: int | None
    n_jobs: int | None
    callback: ProgressCallback | None


def train_parameters(
    history: pd.DataFrame, **options: Unpack[HistoryOptions]
) -> ProgressParameters:
    """Train SMiPE's parameters on a job's history; :func:`train_history` without the report."""
    return train_history(history, **options).params


def train_history(
    history: pd.DataFrame,
    *,
    hardware: pd.DataFrame | None = None,
    scale_out_model: ScaleOutModelKind = "bell",
    strengths: Sequence[float] = STRENGTH_GRID,
    n_samples: int = 3,
    padding: float = 0.15,
    a_min: float = 0.9,
    n_min: float = 0.25,
    n_starts: int = 3,
    maxfun: int = 200,
    train_adjustment: bool = True,
    max_executions: int | None = MAX_TRAINING_EXECUTIONS,
    n_jobs: int | None = None,
    random_state: int | np.random.Generator | None = None,
    callback: ProgressCallback | None = None,
) -> TrainingReport:
    """Train SMiPE's parameters on a job's history (leave-one-out simulations + BOBYQA).

    Parameters
    ----------
    history
        Iteration frame of the job's finished executions.
    hardware
        Optional hardware samples.
    scale_out_model
        Scale-out model per iteration used in the simulations (use the same in
        the estimator).
    strengths
        Candidate values of ``scale_out_strength``; training keeps the one with the
        lowest leave-one-out error.
    n_samples, padding
        Sample iterations per execution in the simulations.
    max_executions
        Simulate at most this many executions, spread evenly over the history
        (:func:`training_subset`; said in the report's notes); None: all.
    a_min, n_min, n_starts, maxfun, train_adjustment, random_state
        See :func:`train_on_cases`.
    n_jobs
        joblib workers for the simulations (one pool for the call).
    callback
        ``callback(done, total)`` after each simulated execution, then after each
        step of the training (``total`` counts both, :func:`training_steps`).

    Returns
    -------
    TrainingReport
        The parameters, the errors before and after, and what training had to fix.

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        With fewer than two executions.
    """
    history, hardware, note = training_subset(history, hardware, max_executions)
    simulated = int(history["execution"].nunique()) if "execution" in history else 0
    steps = StepCounter(
        callback,
        offset=simulated,
        total=simulated + training_steps(simulated, strengths=len(strengths)),
    )

    def simulating(done: int, _total: int) -> None:
        if callback is not None:
            callback(min(done, simulated), steps.total)

    arrays, cases = simulate_history(
        history,
        hardware,
        n_samples=n_samples,
        padding=padding,
        scale_out_model=scale_out_model,
        strengths=strengths,
        n_jobs=n_jobs,
        callback=simulating,
    )
    report = train_report(
        cases,
        a_min=a_min,
        n_min=n_min,
        n_starts=n_starts,
        maxfun=maxfun,
        train_adjustment=train_adjustment,
        random_state=random_state,
        steps=steps,
    )
    steps.finish()
    # the history mean's error on the same sample points, for the report only
    report = with_baseline(report, arrays, next(iter(cases.values())))
    relevance = learn_relevance(arrays)
    if relevance is not None and arrays.context is not None:
        pairs = tuple(zip(arrays.context.names, (float(r) for r in relevance), strict=True))
        report = replace(report, context_relevance=pairs)
    if note is None:
        return report
    logger.info("Progress training: %s.", note)
    return replace(report, notes=(note, *report.notes))
