"""What progress training found: errors before and after, and what it had to regularise."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.progress.arrays import IterationArrays
from jobcast.progress.baseline import history_mean, remaining_from, suffix_runtimes
from jobcast.progress.combine import mean_remaining_error, remaining_error
from jobcast.progress.few_runs import SMALL_HISTORY
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import STRENGTH_GRID, SimulationCases

__all__ = [
    "FEW_EXECUTIONS",
    "MAX_TRAINING_EXECUTIONS",
    "MIN_TRAINING_EXECUTIONS",
    "TrainingReport",
    "history_mean_error",
    "regularise",
    "training_steps",
    "training_subset",
    "two_kinds",
    "with_baseline",
]


@dataclass(frozen=True)
class TrainingReport:
    """What training found and how well: errors before and after, and what it had to fix.

    Attributes
    ----------
    params
        The trained parameters.
    error_before, error_after
        Leave-one-out mean relative error of the remaining runtime (the paper's
        metric) with the untrained defaults and with ``params``.
    total_error_before, total_error_after
        The same for the relative error of the total runtime.
    estimates, executions
        Simulated estimates and executions trained on.
    notes
        What training regularised or fell back from, in words (empty when nothing).
    context_relevance
        ``(attribute, relevance)`` of each context attribute of the history, as the
        context measure weighs them (learned from the trained-on executions; 0: not
        relevant beyond chance); empty without context attributes.
    error_history_mean
        The same leave-one-out error of the history-mean baseline (the other runs' mean
        remaining runtime, as ``evaluate progress`` reports it) on the same sample
        points; None when not computed.
    """

    params: ProgressParameters
    error_before: float
    error_after: float
    total_error_before: float
    total_error_after: float
    estimates: int
    executions: int
    notes: tuple[str, ...] = ()
    context_relevance: tuple[tuple[str, float], ...] = ()
    error_history_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``jobcast train progress --json``)."""
        return {
            "parameters": self.params.to_dict(),
            "error_before": self.error_before,
            "error_after": self.error_after,
            "error_history_mean": self.error_history_mean,
            "total_error_before": self.total_error_before,
            "total_error_after": self.total_error_after,
            "estimates": self.estimates,
            "executions": self.executions,
            "notes": list(self.notes),
            "context_relevance": dict(self.context_relevance),
        }


#: Fewest executions whose leave-one-out simulations are worth training on; below, the
#: trained parameters would follow single runs, so the defaults are kept.
MIN_TRAINING_EXECUTIONS = 5

#: Below this many executions a leave-one-out error rests on too few runs to tell a
#: trained estimator from the history mean: ``train progress`` says so in its notes.
FEW_EXECUTIONS = 10


def history_mean_error(arrays: IterationArrays, cases: SimulationCases) -> float:
    """Leave-one-out error of the history-mean baseline on the simulated sample points.

    The mean relative error of the remaining runtime of the other executions' mean
    remaining runtime from the same iteration (those that reached it; runs that ended
    there count 0 s), as ``evaluate progress`` scores its history-mean baseline
    (:func:`jobcast.progress.combine.remaining_errors`); a few array operations on what
    the simulation already holds.
    """
    current = np.asarray(cases.current, dtype=np.int64)
    iteration = np.asarray(cases.iteration, dtype=np.int64)
    if not len(current):
        return float("nan")
    others = np.arange(arrays.n_executions)[None, :] != current[:, None]
    reached = arrays.n_iter[None, :] >= iteration[:, None]
    remaining = remaining_from(suffix_runtimes(arrays.runtime), iteration)
    return remaining_error(history_mean(remaining, reached, others), cases.actual_remaining)


#: Two kinds of runs under one job: the run totals split in two groups, each at least
#: this share of the runs, that explain at least :data:`TWO_KINDS_SPLIT` of the variance
#: of their logarithms (a single job's spread of speeds, even a few slow outliers split
#: off, stays below: uniform totals explain 0.75), while the defaults err at least
#: :data:`TWO_KINDS_RATIO` times as much as the trained parameters.
TWO_KINDS_SHARE = 0.2
TWO_KINDS_SPLIT = 0.85
TWO_KINDS_RATIO = 3.0


def two_kinds(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The two groups of run totals when they split clearly in two (see above), else None."""
    x = np.sort(np.log(np.asarray(totals, dtype=np.float64)[np.asarray(totals) > 0]))
    n = len(x)
    least = max(3, int(np.ceil(TWO_KINDS_SHARE * n)))
    spread = float(((x - x.mean()) ** 2).sum())
    if n < 2 * least or spread <= 0:
        return None
    # within-group sums of squares of every split into a lower and an upper group
    k = np.arange(least, n - least + 1)
    csum, csq = np.cumsum(x), np.cumsum(x**2)
    low = csq[k - 1] - csum[k - 1] ** 2 / k
    high = (csq[-1] - csq[k - 1]) - (csum[-1] - csum[k - 1]) ** 2 / (n - k)
    best = int(np.argmin(low + high))
    if 1.0 - (low[best] + high[best]) / spread < TWO_KINDS_SPLIT:
        return None
    return np.exp(x[: k[best]]), np.exp(x[k[best] :])


def with_baseline(
    report: TrainingReport, arrays: IterationArrays, cases: SimulationCases
) -> TrainingReport:
    """``report`` with the history mean's error beside it and what the history looks like.

    Notes: on fewer than :data:`FEW_EXECUTIONS` runs, that the errors are rough; where
    the runs look like two different jobs (:func:`two_kinds`), that too.
    """
    baseline = history_mean_error(arrays, cases)
    report = replace(report, error_history_mean=baseline)
    groups = two_kinds(np.nansum(arrays.runtime, axis=1))
    if groups is not None and report.error_before >= TWO_KINDS_RATIO * report.error_after:
        low, high = groups
        note = (
            f"the history looks like two different jobs: {len(low)} runs of about "
            f"{np.median(low):.0f} s and {len(high)} of about {np.median(high):.0f} s (in "
            f"iteration time), and the default parameters err far more than the trained ones "
            f"({report.error_before:.4f} against {report.error_after:.4f}); if they are, "
            "import them under separate --job names, each estimates its own runs better"
        )
        report = replace(report, notes=(*report.notes, note))
    if report.executions >= FEW_EXECUTIONS:
        return report
    note = (
        f"only {report.executions} executions: leave-one-out errors on so few runs are "
        "rough, and the estimates may not beat the history mean (here "
        f"{report.error_after:.4f} stored against {baseline:.4f} for the history mean); "
        "`jobcast evaluate progress` compares them, and more runs make both firmer"
    )
    return replace(report, notes=(*report.notes, note))


#: Exponents tried when BOBYQA ends at a bound of b (the objective is flat there).
_EXPONENT_GRID = (1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0)

#: A smaller exponent within this share of the best error is preferred (it averages
#: over more executions, so it generalises better than the near-nearest-neighbour).
_TOLERANCE = 0.02


def regularise(
    cases: SimulationCases,
    params: ProgressParameters,
    err: float,
    *,
    bounds: tuple[float, float],
) -> tuple[ProgressParameters, float, list[str]]:
    """Replace an exponent at its search bound by one within 2 % of the error, off the bound.

    At the upper bound the smallest exponent within 2 % is kept, at the lower bound the
    largest: the one farthest from the bound.

    Returns
    -------
    tuple
        The parameters, their error and notes saying what was changed or found.
    """
    notes: list[str] = []
    lo, hi = bounds
    b = params.exponent
    if b >= hi / 1.05 or b <= lo * 1.05:
        scored = [
            (g, mean_remaining_error(cases, params.with_values(exponent=g))) for g in _EXPONENT_GRID
        ]
        within = [(g, e) for g, e in scored if e <= err * (1.0 + _TOLERANCE) + 1e-12]
        if within:
            g, e = (
                min(within, key=lambda t: t[0])
                if b >= hi / 1.05
                else max(within, key=lambda t: t[0])
            )
            notes.append(
                f"the exponent b ended at its bound ({b:.3g}), where the error no longer "
                f"changes; kept b = {g:g}, the {'smallest' if b >= hi / 1.05 else 'largest'} "
                f"within {_TOLERANCE:.0%} of its error ({e:.4f} against {err:.4f})"
            )
            params, err = params.with_values(exponent=g), e
        else:
            notes.append(
                f"the exponent b is at its bound ({b:.3g}): every other value of b "
                "does noticeably worse on this history"
            )
    if not any(params.thresholds) and params.final_threshold == 0.0 and params.exponent >= 34:
        notes.append(
            "no thresholds and a large b: the estimate follows the few most similar executions"
        )
    return params, err, notes


#: Executions simulated for training by default: the parameters are a dozen numbers, and
#: the leave-one-out error over this many executions ranks them as well as over more,
#: while the cost grows with the square of the executions.
MAX_TRAINING_EXECUTIONS = 200


def training_steps(executions: int, *, strengths: int = len(STRENGTH_GRID)) -> int:
    """Steps :func:`train_history` reports after simulating ``executions`` executions.

    Per pass of :func:`train_report` (two from
    :data:`~jobcast.progress.few_runs.SMALL_HISTORY` executions on: as run and
    converted to the expected length), one per strength screened and four more (the
    full search, the one without the context attributes, the blend, the check).
    """
    return (strengths + 4) * (2 if executions >= SMALL_HISTORY else 1)


def training_subset(
    history: pd.DataFrame, hardware: pd.DataFrame | None, max_executions: int | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, str | None]:
    """At most ``max_executions`` executions spread evenly over the history, and a note.

    Evenly spaced in the order of first appearance (so over the history's time span),
    deterministic; None keeps every execution.
    """
    if max_executions is None or "execution" not in history.columns:
        return history, hardware, None
    if max_executions < MIN_TRAINING_EXECUTIONS:
        raise InputError(
            f"max_executions must be None or >= {MIN_TRAINING_EXECUTIONS}, got {max_executions}."
        )
    ids = np.asarray(pd.unique(history["execution"]), dtype=object)
    if len(ids) <= max_executions:
        return history, hardware, None
    rows = np.unique(np.round(np.linspace(0, len(ids) - 1, max_executions)).astype(np.int64))
    keep = set(ids[rows].tolist())
    history = history[history["execution"].isin(keep)]
    if hardware is not None and "execution" in hardware.columns:
        hardware = hardware[hardware["execution"].isin(keep)]
    note = (
        f"trained on {len(rows)} of the {len(ids)} executions, spread evenly over the "
        "history (max_executions)"
    )
    return history, hardware, note
