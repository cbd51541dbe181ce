"""The SMiPE paper's evaluation protocol for progress estimation, with two baselines and plots.

Protocol: for every execution, up to three sample iterations equally spaced with 15%
padding at both ends; each is estimated from all *other* executions. The headline error
is the paper's: the relative error of the *remaining* runtime,
``|estimated remaining - actual remaining| / actual remaining`` ("compare this to the
known actual remaining runtime"), averaged over all estimates (``mre_remaining``), also
per sample position (early, middle, late). The relative error of the predicted total
runtime, ``|elapsed + estimated remaining - actual total| / actual total``, is 2-3x
smaller on the same estimates and reported beside it (``mre``). Each estimate's 80 %
prediction interval is calibrated on the other executions' estimates only
(:mod:`jobcast.progress.interval`) and its empirical coverage reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from jobcast.errors import ImportFormatError, InputError, NotEnoughDataError
from jobcast.evaluation.progress_nested import NestedResult, log_nested_notes, nested_estimates
from jobcast.progress.arrays import IterationArrays
from jobcast.progress.baseline import history_mean, remaining_from, suffix_runtimes
from jobcast.progress.combine import case_estimates, remaining_errors
from jobcast.progress.estimator import resolve_parameters
from jobcast.progress.interval import calibrate, scores
from jobcast.progress.parallel import run_tasks
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.quality import QualityCurve, plot_quality, similarity_quality
from jobcast.progress.scaling import ScaleOutModelKind
from jobcast.progress.simulation import STRENGTH_GRID, simulate_history

__all__ = [
    "POSITIONS",
    "NestedResult",
    "ProgressEvaluation",
    "position_of",
    "baseline_estimates",
    "evaluate_progress",
    "evaluate_similarity",
    "plot_progress_errors",
    "read_ellis_trace",
]

logger = logging.getLogger(__name__)

Training = Literal["nested", "given", "none"]

#: Sample positions of the protocol, by the share of the run done at the estimate.
POSITIONS = ("early", "middle", "late")

_ELLIS_COLUMNS = {"ID": "execution", "JOB_ID": "iteration", "DURATION_MS": "duration_s",
                  "SCALE_OUT": "scale_out"}


def read_ellis_trace(path: str | Path) -> pd.DataFrame:
    """Read one of the Ellis/Enel iteration traces (``|``-separated, one row per Spark job).

    ``ID`` is the execution, ``JOB_ID`` the iteration, ``DURATION_MS / 1000`` the
    runtime and ``SCALE_OUT`` the executors; ``APP_ID`` is kept as ``app``.

    Raises
    ------
    jobcast.errors.ImportFormatError
        When the file lacks one of those columns.
    """
    frame = pd.read_csv(path, sep="|")
    missing = [c for c in _ELLIS_COLUMNS if c not in frame.columns]
    if missing:
        raise ImportFormatError(str(path), f"missing column(s) {missing}", line=1)
    out = pd.DataFrame({new: frame[old] for old, new in _ELLIS_COLUMNS.items()})
    out["duration_s"] = out["duration_s"] / 1000.0
    if "APP_ID" in frame.columns:
        out["app"] = frame["APP_ID"]
    return out


def baseline_estimates(
    arrays: IterationArrays, current: np.ndarray, iteration: np.ndarray
) -> dict[str, np.ndarray]:
    """Remaining-runtime estimates of the two baselines for the given cases.

    ``history_mean``: the mean remaining runtime (from the same iteration on) of
    the other executions that reached that iteration (all other executions if none
    did; those count as finished), runs that ended right there counting 0 s; SMiPE's
    candidates are those that ran past it, when there are any. ``linear``: the
    elapsed time per iteration extrapolated to the median iteration count of the
    other executions.
    """
    runtime = np.nan_to_num(arrays.runtime, nan=0.0)
    current = np.asarray(current, dtype=np.int64)
    iteration = np.asarray(iteration, dtype=np.int64)
    others = np.arange(arrays.n_executions)[None, :] != current[:, None]
    reached = arrays.n_iter[None, :] >= iteration[:, None]
    remaining = remaining_from(suffix_runtimes(runtime), iteration)
    hist_mean = history_mean(remaining, reached, others)
    linear = np.empty(len(current))
    for c, (row, i) in enumerate(zip(current, iteration, strict=True)):
        n_hat = max(float(np.median(arrays.n_iter[others[c]])), float(i))
        linear[c] = runtime[row, :i].sum() / i * (n_hat - i)
    return {"history_mean": hist_mean, "linear": linear}


@dataclass(frozen=True, eq=False)
class ProgressEvaluation:
    """Result of :func:`evaluate_progress`.

    Attributes
    ----------
    job
        Job name.
    mre
        Mean relative error of the total runtime predicted by SMiPE.
    baselines
        The same for ``history_mean`` and ``linear``.
    estimates
        Number of estimates.
    mre_remaining, baselines_remaining
        Mean relative errors of the remaining runtime (the paper's metric).
    training
        ``"nested"`` (parameters trained for each execution on the others only),
        ``"given"`` (parameters passed in) or ``"none"`` (untrained defaults).
    cases
        Per estimate: execution, iteration, n_iter, progress, position, actual and
        estimated totals, errors of every method, the interval and whether it covers.
    level
        Nominal coverage of the prediction intervals.
    coverage
        Share of estimates whose interval holds the actual remaining runtime.
    without_estimate
        Sample points at which no other execution had run as many iterations, so SMiPE
        had nothing to compare with (a user gets no ETA there): scored as an estimate of
        0 s remaining (relative error 1, as the history mean's there) and not covered.
    """

    job: str
    mre: float
    baselines: Mapping[str, float]
    estimates: int
    mre_remaining: float
    baselines_remaining: Mapping[str, float]
    training: Training
    cases: pd.DataFrame = field(repr=False)
    level: float = 0.8
    coverage: float = float("nan")
    without_estimate: int = 0

    def by_position(self) -> dict[str, dict[str, Any]]:
        """Errors and coverage per sample position (early, middle, late)."""
        out: dict[str, dict[str, Any]] = {}
        for pos in POSITIONS:
            part = self.cases[self.cases["position"] == pos]
            if part.empty:
                continue
            out[pos] = {
                "estimates": int(len(part)),
                "mre_remaining": float(part["smipe_error_remaining"].mean()),
                "baselines_remaining": {
                    k: float(part[f"{k}_error_remaining"].mean()) for k in self.baselines
                },
                "mre": float(part["smipe_error"].mean()),
                "coverage": float(part["covered"].mean()),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON of ``jobcast evaluate progress --json``.

        ``mre_remaining``/``baselines_remaining``: the paper's metric (relative error
        of the remaining runtime); ``mre``/``baselines``: relative error of the total
        runtime; ``by_position``: both per sample position; ``interval``: nominal
        level and empirical coverage of the prediction intervals; ``without_estimate``:
        sample points no other execution had reached (scored as 0 s remaining).
        """
        return {
            "job": self.job,
            "training": self.training,
            "estimates": self.estimates,
            "mre_remaining": self.mre_remaining,
            "baselines_remaining": {k: float(v) for k, v in self.baselines_remaining.items()},
            "mre": self.mre,
            "baselines": {k: float(v) for k, v in self.baselines.items()},
            "by_position": self.by_position(),
            "interval": {"level": self.level, "coverage": self.coverage},
            "without_estimate": self.without_estimate,
        }


def _intervals(
    remaining: np.ndarray, spread: np.ndarray, actual: np.ndarray, current: np.ndarray,
    level: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each execution's intervals calibrated on the other executions' scores only."""
    score = scores(remaining, actual, spread)
    low = np.empty(len(remaining))
    high = np.empty(len(remaining))
    for row in np.unique(current):
        own = current == row
        # each execution counts once, its sample points together (as the ETA calibrates)
        cal = calibrate(score[~own], level=level, groups=current[~own], spreads=spread[~own])
        down, up = cal.exponents(spread[own])
        low[own], high[own] = remaining[own] * np.exp(down), remaining[own] * np.exp(up)
    return low, high


def position_of(progress: np.ndarray) -> np.ndarray:
    """``early`` (< 1/3 done), ``middle`` (< 2/3) or ``late`` per estimate."""
    p = np.asarray(progress, dtype=np.float64)
    return np.select([p < 1 / 3, p < 2 / 3], list(POSITIONS[:2]), POSITIONS[2])


def evaluate_progress(
    history: pd.DataFrame,
    *,
    job: str = "",
    params: ProgressParameters | Mapping[str, Any] | None = None,
    training: Training = "nested",
    hardware: pd.DataFrame | None = None,
    scale_out_model: ScaleOutModelKind = "bell",
    n_samples: int = 3,
    padding: float = 0.15,
    train_options: Mapping[str, Any] | None = None,
    n_jobs: int | None = None,
    random_state: int | None = 0,
    callback: Callable[[int, int], None] | None = None,
    level: float = 0.8,
) -> ProgressEvaluation:
    """Run the paper's protocol on a job's history.

    Parameters
    ----------
    history
        Iteration frame of the job's executions.
    job
        Job name for the report.
    params
        Parameters to use with ``training="given"`` (for example the stored ones).
        Trained on the same history they leak: the evaluated execution helped pick
        them. ``training="nested"`` avoids that.
    training
        ``"nested"``: for each execution, the history without it is simulated and
        parameters (including the scale-out strength) are trained on that alone, so
        it is neither estimated nor a candidate nor used in any candidate's estimate
        (one more simulation per execution); ``"given"``: ``params``;
        ``"none"``: defaults.
    hardware
        Optional hardware samples.
    scale_out_model
        Per-iteration scale-out model (``"bell"``, the paper's).
    n_samples, padding
        Sample iterations per execution (3 and 15% in the paper).
    train_options
        Keyword arguments of :func:`jobcast.progress.training.train_on_cases`.
    n_jobs
        joblib workers for the simulations and the nested trainings.
    random_state
        Seed of the training's random starting points.
    callback
        ``callback(done, total)`` during the simulations.
    level
        Nominal coverage of the prediction intervals.

    Returns
    -------
    ProgressEvaluation

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        With fewer than three executions, or none of two or more iterations.
    """
    if training not in ("nested", "given", "none"):
        raise InputError(f"training must be 'nested', 'given' or 'none', got {training!r}.")
    n_executions = history["execution"].nunique() if "execution" in history.columns else 0
    if n_executions < 3:
        raise NotEnoughDataError(
            f"Evaluating progress estimates needs at least 3 executions, the history has "
            f"{n_executions}."
        )
    used = resolve_parameters(params) if training == "given" else ProgressParameters()
    simulation: dict[str, Any] = {
        "n_samples": n_samples, "padding": padding, "scale_out_model": scale_out_model,
        "strengths": STRENGTH_GRID if training == "nested" else (used.scale_out_strength,),
    }
    # one count over both phases: the simulations, then (nested) one training per run
    phases = 2 if training == "nested" else 1

    def simulated(done: int, total: int) -> None:
        if callback is not None:
            callback(done, phases * total)

    arrays, by_strength = simulate_history(
        history, hardware, **simulation, n_jobs=n_jobs, callback=simulated
    )
    cases = next(iter(by_strength.values()))
    if training == "nested":
        kwargs = {"random_state": random_state, **dict(train_options or {})}
        rows = np.unique(cases.current)
        tasks = [
            (history, hardware, simulation, by_strength, int(r), arrays.executions[r], kwargs)
            for r in rows
        ]
        first = n_executions

        def trained(done: int, total: int) -> None:
            if callback is not None:
                callback(first + done, first + total)

        results = run_tasks(nested_estimates, tasks, n_jobs=n_jobs, callback=trained)
        log_nested_notes(results)
        remaining = np.empty(cases.n_cases)
        spread = np.empty(cases.n_cases)
        for res in results:
            remaining[cases.current == res.row] = res.remaining
            spread[cases.current == res.row] = res.spread
    else:
        remaining = case_estimates(cases, used)
        spread = cases.spread(used)
    # No other execution ran as many iterations: no estimate (no ETA for a user), which
    # counts as 0 s remaining, the history mean's there, not as a case left out.
    missing = ~np.isfinite(remaining)
    if missing.any():
        logger.info(
            "%d of %d sample points had no other execution that ran as many iterations: "
            "scored as 0 s remaining.", int(missing.sum()), cases.n_cases,
        )
        remaining = np.where(missing, 0.0, remaining)
        spread = np.where(missing, 0.0, spread)
    low, high = _intervals(remaining, spread, cases.actual_remaining, cases.current, level)
    base = baseline_estimates(arrays, cases.current, cases.iteration)
    total = cases.actual_total
    methods = {"smipe": remaining, **base}
    frame = pd.DataFrame(
        {
            "execution": arrays.executions[cases.current],
            "iteration": cases.iteration,
            "n_iter": arrays.n_iter[cases.current],
            "progress": cases.iteration / arrays.n_iter[cases.current],
            "position": position_of(cases.iteration / arrays.n_iter[cases.current]),
            "actual_total_s": total,
            "actual_remaining_s": cases.actual_remaining,
            "interval_low_s": low,
            "interval_high_s": high,
            "covered": (low <= cases.actual_remaining) & (cases.actual_remaining <= high),
        }
    )
    for name, rem in methods.items():
        frame[f"{name}_total_s"] = cases.elapsed + rem
        frame[f"{name}_error"] = np.abs(rem - cases.actual_remaining) / total
        frame[f"{name}_error_remaining"] = remaining_errors(rem, cases.actual_remaining)
    result = ProgressEvaluation(
        job=job,
        mre=float(frame["smipe_error"].mean()),
        baselines={k: float(frame[f"{k}_error"].mean()) for k in base},
        estimates=int(len(frame)),
        mre_remaining=float(frame["smipe_error_remaining"].mean()),
        baselines_remaining={k: float(frame[f"{k}_error_remaining"].mean()) for k in base},
        training=training,
        cases=frame,
        level=level,
        coverage=float(frame["covered"].mean()),
        without_estimate=int(missing.sum()),
    )
    logger.info(
        "Progress evaluation %s: MRE of the remaining runtime %.4f (history mean %.4f, "
        "linear %.4f), of the total %.4f; %.0f%% interval coverage %.2f (%d estimates).",
        job, result.mre_remaining, result.baselines_remaining["history_mean"],
        result.baselines_remaining["linear"], result.mre, 100 * level, result.coverage,
        result.estimates,
    )
    return result


def plot_progress_errors(evaluation: ProgressEvaluation, path: str | Path) -> Path:
    """Iteration-wise error plot: relative error of each method against the sample iteration.

    Points are single estimates of the remaining runtime (the paper's metric); lines
    the mean error per finished-iteration count.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = evaluation.cases
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = {"smipe": "SMiPE", "history_mean": "history mean", "linear": "linear extrapolation"}
    for (name, label), marker in zip(labels.items(), "o^s", strict=True):
        err = frame[f"{name}_error_remaining"]
        ax.scatter(frame["iteration"], err, s=10, alpha=0.35, marker=marker)
        means = err.groupby(frame["iteration"]).mean()
        mre = (
            evaluation.mre_remaining
            if name == "smipe"
            else evaluation.baselines_remaining[name]
        )
        ax.plot(means.index, means.to_numpy(), marker=marker, label=f"{label} (MRE {mre:.3f})")
    ax.set(
        xlabel="finished iterations at the estimate",
        ylabel="relative error of the remaining runtime",
        title=f"Progress estimates{': ' + evaluation.job if evaluation.job else ''}",
    )
    ax.set_yscale("symlog", linthresh=0.1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def evaluate_similarity(
    history: pd.DataFrame,
    *,
    job: str = "",
    params: ProgressParameters | Mapping[str, Any] | None = None,
    hardware: pd.DataFrame | None = None,
    scale_out_model: ScaleOutModelKind = "bell",
    n_samples: int = 3,
    padding: float = 0.15,
    n_jobs: int | None = None,
    plot: str | Path | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> dict[str, QualityCurve]:
    """Similarity quality of each measure and of ``sim_final`` (``jobcast evaluate similarity``).

    Simulates the estimates leave-one-out, takes every (current, candidate) pair as
    a point (similarity, accuracy of estimating the current execution from that
    candidate alone) and returns h(t), n(t) and q(x) per measure; with ``plot``
    also draws them.

    Returns
    -------
    dict
        Measure name (and ``"final"``) -> :class:`QualityCurve` (``to_dict()`` for JSON).
    """
    used = resolve_parameters(params)
    _, by_strength = simulate_history(
        history,
        hardware,
        n_samples=n_samples,
        padding=padding,
        scale_out_model=scale_out_model,
        strengths=(used.scale_out_strength,),
        n_jobs=n_jobs,
        callback=callback,
    )
    curves = similarity_quality(by_strength[used.scale_out_strength], params=used)
    if plot is not None:
        title = f"Similarity quality{': ' + job if job else ''}"
        plot_quality(curves, plot, title=title)
    return curves
