"""Evaluating the runtime models on jobs of the history (the privacy paper's protocols)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from jobcast.errors import InputError
from jobcast.history import HistoryRepository

if TYPE_CHECKING:
    from jobcast.evaluation.models import ModelEvaluation

__all__ = ["evaluate_models", "mean_over_jobs"]

#: Makes the progress callback of one job's evaluation (a context manager, e.g. a bar).
CallbackFactory = Callable[[str], AbstractContextManager[Any]]


def evaluate_models(
    repo: HistoryRepository,
    jobs: Sequence[str],
    *,
    models: Sequence[str],
    test_size: float = 0.2,
    repeats: int = 10,
    train_sizes: Sequence[int] | None = None,
    min_scale_outs: Mapping[str, int | None] | None = None,
    include_shared: bool = True,
    random_state: int | None = 0,
    progress: CallbackFactory | None = None,
) -> list[ModelEvaluation]:
    """Both protocols (80/20 holdout, small training sets) on every job, in order.

    Parameters
    ----------
    repo
        The history.
    jobs
        The jobs to evaluate.
    models
        Model names.
    test_size, repeats, train_sizes, random_state
        As in :func:`jobcast.evaluation.models.evaluate_models`.
    min_scale_outs
        Per job, executions with a smaller scale-out are left out (None: none).
    include_shared
        Evaluate on collaborators' shared executions too.
    progress
        Given a job's name, a context manager yielding that evaluation's callback.

    Returns
    -------
    list of ModelEvaluation
        One per job; its ``warnings`` say which executions were left out (without a
        value of an attribute) and which training sizes were skipped.

    Raises
    ------
    jobcast.errors.InputError
        When a job is named twice (it would count twice in :func:`mean_over_jobs`).
    jobcast.errors.NotEnoughDataError
        Before any work, naming the job: when a job has no usable executions, too few
        to split, or none of ``train_sizes`` fits into its training split.
    """
    from jobcast.evaluation.models import evaluate_models as evaluate

    twice = sorted({name for name in jobs if list(jobs).count(name) > 1})
    if twice:
        raise InputError(
            f"job {twice[0]!r} is named more than once (--job {twice[0]}); name each job once, "
            "or it counts more than once in the mean over jobs"
        )
    from jobcast.evaluation.models import check_sizes
    from jobcast.models.training_data import training_set

    limits = dict(min_scale_outs or {})
    data = {
        name: training_set(
            repo.job(name),
            repo.executions(name, include_shared=include_shared),
            min_scale_out=limits.get(name),
        )
        for name in jobs
    }
    # every job's sizes before any work: a small job last must not cost the others'
    for name in jobs:
        check_sizes(len(data[name].y), job=name, test_size=test_size, train_sizes=train_sizes)
    results = []
    for name in jobs:
        with progress(name) if progress is not None else nullcontext(None) as callback:
            result = evaluate(
                data[name].X,
                data[name].y,
                job=name,
                models=list(models),
                test_size=test_size,
                repeats=repeats,
                train_sizes=train_sizes,
                random_state=random_state,
                callback=callback,
            )
        notes = (*data[name].warnings(name), *result.warnings)
        results.append(dataclasses.replace(result, warnings=notes))
    return results


def mean_over_jobs(
    results: Sequence[ModelEvaluation], models: Sequence[str]
) -> dict[str, dict[str, float | None]]:
    """Each model's mean MAPE over the jobs, per protocol (None where no job has it).

    The baseline (the median runtime per scale-out) is under ``"baseline"`` in each
    protocol, besides the models.
    """

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) / len(present) if present else None

    holdout = [r.holdout for r in results if r.holdout is not None]
    sizes = [r.training_sizes for r in results if r.training_sizes is not None]
    return {
        "holdout": {
            **{m: mean([h.mean(m) for h in holdout]) for m in models},
            "baseline": mean([h.baseline_mean() for h in holdout]),
        },
        "training_sizes": {
            **{m: mean([t.mean(m) for t in sizes]) for m in models},
            "baseline": mean([t.baseline_mean() for t in sizes]),
        },
    }
