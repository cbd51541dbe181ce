"""The privacy paper's accuracy protocols for runtime models: holdout and small training sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.evaluation.models_results import (
    BASELINE,
    HoldoutEvaluation,
    ModelEvaluation,
    TrainingSizeEvaluation,
    holdout_split,
    mape,
)
from jobcast.models.registry import MODEL_NAMES, make_model

__all__ = [
    "BASELINE",
    "DEFAULT_EVALUATION_MODELS",
    "DEFAULT_TRAIN_SIZES",
    "HoldoutEvaluation",
    "ModelEvaluation",
    "TrainingSizeEvaluation",
    "baseline_notes",
    "check_sizes",
    "evaluate_models",
    "holdout_evaluation",
    "mape",
    "training_size_evaluation",
]

#: Progress callback: ``callback(done, total, message)``.
ProgressCallback = Callable[[int, int, str], None]

#: The models evaluated by default: every model that uses the context attributes,
#: and BELL (scale-out only) for reference; the baseline is scored besides them.
DEFAULT_EVALUATION_MODELS: tuple[str, ...] = tuple(
    n for n in MODEL_NAMES if n not in ("kernel", BASELINE)
)

#: The second protocol's training-set sizes: 3, 6, ..., 30 rows.
DEFAULT_TRAIN_SIZES: tuple[int, ...] = tuple(range(3, 31, 3))


def _check_inputs(
    X: pd.DataFrame, y: Any, models: Sequence[str], test_size: float, repeats: int
) -> np.ndarray:
    if not isinstance(X, pd.DataFrame):
        raise InputError("X must be a DataFrame of executions (scale_out and context columns).")
    y_arr = np.asarray(y, dtype=np.float64)
    if y_arr.ndim != 1 or len(y_arr) != len(X):
        raise InputError(f"y must hold one runtime per row of X ({len(X)}), got {y_arr.shape}.")
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise InputError(f"Unknown model(s) {unknown}; choose among {', '.join(MODEL_NAMES)}.")
    if not isinstance(test_size, (int, float)) or not 0.0 < float(test_size) < 1.0:
        raise InputError(f"test_size must be a fraction in (0, 1), got {test_size!r}.")
    if not isinstance(repeats, int) or repeats < 1:
        raise InputError(f"repeats must be an int >= 1, got {repeats!r}.")
    n_test = _n_test(len(X), test_size)
    if n_test < 1 or len(X) - n_test < 1:
        raise NotEnoughDataError(
            f"{len(X)} executions cannot be split {1 - test_size:.0%}/{test_size:.0%}; "
            "import more executions of the job."
        )
    return y_arr


def _sizes_text(sizes: Sequence[int]) -> str:
    if len(sizes) <= 5:
        return ", ".join(map(str, sizes))
    return f"{sizes[0]}, {sizes[1]}, ..., {sizes[-1]}"


def check_sizes(
    n_rows: int,
    *,
    job: str | None = None,
    test_size: float = 0.2,
    train_sizes: Sequence[int] | None = DEFAULT_TRAIN_SIZES,
) -> tuple[int, ...]:
    """Check that ``n_rows`` executions can be evaluated; return the sizes to skip.

    Called for every job before any is evaluated, so that a job too small for the
    protocols is named before hours of work on the others.

    Parameters
    ----------
    n_rows
        The job's executions.
    job
        Its name, for the messages.
    test_size, train_sizes
        As in :func:`evaluate_models`.

    Returns
    -------
    tuple of int
        The requested training sizes larger than the training split (skipped).

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When the rows cannot be split, or no training size fits into the training
        split (naming the job and the sizes that would fit).
    """
    who = f"job {job!r}" if job is not None else "the data"
    n_test = _n_test(n_rows, test_size)
    if n_test < 1 or n_rows - n_test < 1:
        raise NotEnoughDataError(
            f"{who}: its {n_rows} execution{'s' if n_rows != 1 else ''} cannot be split "
            f"{1 - test_size:.0%}/{test_size:.0%} into training and held-out rows; import "
            "more executions of the job, or leave it out"
        )
    sizes = [int(s) for s in train_sizes or ()]
    available = n_rows - n_test
    skipped = tuple(s for s in sizes if s > available)
    if sizes and len(skipped) == len(sizes):
        fit = "1" if available == 1 else f"1-{available}"
        raise NotEnoughDataError(
            f"{who}: no training size of {_sizes_text(sizes)} fits into its {available} "
            f"training row{'s' if available != 1 else ''} ({1 - test_size:.0%} of its "
            f"{n_rows} executions); give sizes of at most {available} (e.g. --train-sizes "
            f"{fit}), or leave the job out"
        )
    return skipped


def seed_from(rng: np.random.Generator) -> int:
    """Draw an int seed for one model from the protocol's Generator."""
    return int(rng.integers(0, 2**31 - 1))


def _n_test(n: int, test_size: float) -> int:
    return int(round(float(test_size) * n))


def _score(
    name: str, seed: int, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[float, str | None]:
    """MAPE of ``name`` trained on ``train`` and tested on ``test``; the model auto chose."""
    model = make_model(name, random_state=seed)
    model.fit(X.iloc[train], y[train])
    chosen = getattr(model, "chosen_", None) if name == "auto" else None
    return mape(y[test], model.predict(X.iloc[test])), chosen


def _scores(
    models: Sequence[str],
    seed: int,
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    tick: Callable[[str], None],
) -> tuple[dict[str, float], float, str | None]:
    """Every model's MAPE on one split, the baseline's, and the model auto chose (if run)."""
    out: dict[str, float] = {}
    chosen = None
    for name in models:
        out[name], picked = _score(name, seed, X, y, train, test)
        chosen = picked if picked is not None else chosen
        tick(name)
    baseline = out[BASELINE] if BASELINE in out else _score(BASELINE, seed, X, y, train, test)[0]
    return out, baseline, chosen


def holdout_evaluation(
    X: pd.DataFrame,
    y: np.ndarray | Sequence[float],
    *,
    models: Sequence[str] = DEFAULT_EVALUATION_MODELS,
    test_size: float = 0.2,
    repeats: int = 10,
    random_state: int | np.random.Generator | None = None,
    callback: ProgressCallback | None = None,
) -> HoldoutEvaluation:
    """Protocol 1: train on a random ``1 - test_size`` of the rows, MAPE on the rest.

    Every model is trained and tested on the same ``repeats`` random splits and
    gets the same seed, so a model's figures do not depend on which other models
    are evaluated alongside it.

    Parameters
    ----------
    X
        Executions: ``scale_out``, optionally ``machine_type``, context attributes.
    y
        Runtimes in seconds.
    models
        Names from :data:`jobcast.models.MODEL_NAMES`.
    test_size
        Fraction held out.
    repeats
        Number of random splits.
    random_state
        Seed or Generator of the splits and of the models.
    callback
        Called as ``callback(done, total, message)`` after every model fit.

    Returns
    -------
    HoldoutEvaluation

    References
    ----------
    The privacy paper's first protocol (80/20 split, 10 repetitions); C3O's
    evaluation of its models the same way.
    """
    y_arr = _check_inputs(X, y, models, test_size, repeats)
    rng = np.random.default_rng(random_state)
    total = repeats * len(models)
    done = 0
    mapes: dict[str, list[float]] = {m: [] for m in models}
    baseline: list[float] = []
    chosen: list[str] = []
    for r in range(repeats):
        train, test = holdout_split(len(X), test_size, rng)
        seed = seed_from(rng)  # one seed for every model: results do not depend on the list

        def tick(name: str, r: int = r) -> None:
            nonlocal done
            done += 1
            if callback is not None:
                callback(done, total, f"holdout repeat {r + 1}/{repeats}: {name}")

        scores, base, picked = _scores(models, seed, X, y_arr, train, test, tick)
        for name, value in scores.items():
            mapes[name].append(value)
        baseline.append(base)
        chosen += [picked] if picked is not None else []
    return HoldoutEvaluation(
        test_size=float(test_size),
        repeats=repeats,
        n_rows=len(X),
        mapes={m: tuple(v) for m, v in mapes.items()},
        baseline=tuple(baseline),
        chosen=tuple(chosen),
    )


def training_size_evaluation(
    X: pd.DataFrame,
    y: np.ndarray | Sequence[float],
    *,
    models: Sequence[str] = DEFAULT_EVALUATION_MODELS,
    train_sizes: Sequence[int] = DEFAULT_TRAIN_SIZES,
    test_size: float = 0.2,
    repeats: int = 10,
    random_state: int | np.random.Generator | None = None,
    callback: ProgressCallback | None = None,
) -> TrainingSizeEvaluation:
    """Protocol 2: train on a few rows drawn from the training split, MAPE on the held-out rows.

    In every repeat the rows are split at random into ``1 - test_size`` for
    training and ``test_size`` held out; for every size, that many rows are drawn
    without replacement from the training part, every model is trained on them
    and scored on all held-out rows. Sizes larger than the training part are
    skipped (and listed in the result).

    Parameters
    ----------
    X, y, models, test_size, repeats, random_state, callback
        As in :func:`holdout_evaluation`.
    train_sizes
        Numbers of training rows (>= 1).

    Returns
    -------
    TrainingSizeEvaluation
    """
    y_arr = _check_inputs(X, y, models, test_size, repeats)
    sizes = [int(s) for s in train_sizes]
    if not sizes or any(s < 1 for s in sizes):
        raise InputError(f"train_sizes must be integers >= 1, got {list(train_sizes)}.")
    skipped = check_sizes(len(X), test_size=test_size, train_sizes=sizes)
    kept = tuple(s for s in sizes if s not in skipped)
    rng = np.random.default_rng(random_state)
    total = repeats * len(kept) * len(models)
    done = 0
    mapes: dict[str, dict[int, list[float]]] = {m: {s: [] for s in kept} for m in models}
    baseline: dict[int, list[float]] = {s: [] for s in kept}
    chosen: dict[int, list[str]] = {s: [] for s in kept}
    for r in range(repeats):
        pool, test = holdout_split(len(X), test_size, rng)
        for size in kept:
            train = rng.choice(pool, size=size, replace=False)
            seed = seed_from(rng)

            def tick(name: str, r: int = r, size: int = size) -> None:
                nonlocal done
                done += 1
                if callback is not None:
                    callback(done, total, f"repeat {r + 1}/{repeats}, {size} rows: {name}")

            scores, base, picked = _scores(models, seed, X, y_arr, train, test, tick)
            for name, value in scores.items():
                mapes[name][size].append(value)
            baseline[size].append(base)
            chosen[size] += [picked] if picked is not None else []
    return TrainingSizeEvaluation(
        train_sizes=kept,
        skipped_sizes=skipped,
        test_size=float(test_size),
        repeats=repeats,
        n_rows=len(X),
        mapes={m: {s: tuple(v) for s, v in per.items()} for m, per in mapes.items()},
        baseline={s: tuple(v) for s, v in baseline.items()},
        chosen={s: tuple(v) for s, v in chosen.items() if v},
    )


def evaluate_models(
    X: pd.DataFrame,
    y: np.ndarray | Sequence[float],
    *,
    job: str | None = None,
    models: Sequence[str] = DEFAULT_EVALUATION_MODELS,
    test_size: float = 0.2,
    repeats: int = 10,
    train_sizes: Sequence[int] | None = DEFAULT_TRAIN_SIZES,
    holdout: bool = True,
    random_state: int | None = 0,
    callback: ProgressCallback | None = None,
) -> ModelEvaluation:
    """Run both protocols (what ``jobcast evaluate models`` does).

    Parameters
    ----------
    X, y, models, test_size, repeats, callback
        As in :func:`holdout_evaluation`.
    job
        Name of the job, for the report.
    train_sizes
        Sizes of protocol 2; None or empty to skip it.
    holdout
        Run protocol 1.
    random_state
        Seed of both protocols (each gets its own stream from it).

    Returns
    -------
    ModelEvaluation

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        Before any work, when the rows cannot be split or no training size fits
        (see :func:`check_sizes`).
    """
    y_arr = _check_inputs(X, y, models, test_size, repeats)
    skipped = check_sizes(len(y_arr), job=job, test_size=test_size, train_sizes=train_sizes)
    warnings = []
    if skipped:
        available = len(y_arr) - _n_test(len(y_arr), test_size)
        warnings.append(
            f"{'job ' + repr(job) if job is not None else 'the data'}: training size"
            f"{'s' if len(skipped) > 1 else ''} {_sizes_text(skipped)} skipped: the "
            f"training split holds {available} rows"
        )
    # each protocol draws from its own stream of the seed
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(random_state).spawn(2)]
    shared: dict[str, Any] = {
        "models": models,
        "test_size": test_size,
        "repeats": repeats,
        "callback": callback,
    }
    first = holdout_evaluation(X, y, random_state=streams[0], **shared) if holdout else None
    second = (
        training_size_evaluation(X, y, train_sizes=train_sizes, random_state=streams[1], **shared)
        if train_sizes
        else None
    )
    return ModelEvaluation(
        job=job,
        models=tuple(models),
        holdout=first,
        training_sizes=second,
        random_state=random_state,
        warnings=(*warnings, *baseline_notes(first, second, job=job)),
    )


def baseline_notes(
    holdout: HoldoutEvaluation | None,
    sizes: TrainingSizeEvaluation | None,
    *,
    job: str | None = None,
) -> list[str]:
    """Which models did no better than the baseline (the median runtime per scale-out).

    On the holdout, every model whose mean MAPE is not below the baseline's; on the
    small training sets, the sizes at which ``auto`` (when evaluated) did worse than
    the baseline: its cross-validation on so few rows can pick a model that loses.
    """
    who = f"job {job!r}" if job is not None else "the data"
    notes = []
    what = f"the baseline ({BASELINE} runtime per scale-out of the training rows"
    if holdout is not None and holdout.baseline:
        base = float(np.mean(holdout.baseline))
        # worse as shown: to the three digits of the tables (equal there is no worse)
        losing = [
            f"{m} ({holdout.mean(m):.3f})"
            for m in holdout.mapes
            if m != BASELINE and round(holdout.mean(m), 3) > round(base, 3)
        ]
        if losing:
            notes.append(
                f"{who}: on the 80/20 holdout, {', '.join(losing)} did worse than "
                f"{what}, MAPE {base:.3f})"
            )
    if sizes is not None and sizes.baseline and "auto" in sizes.mapes:
        pairs = [(s, sizes.mean("auto", s), sizes.baseline_mean(s)) for s in sizes.train_sizes]
        worse = [
            f"{s} (MAPE {a:.3f} against {b:.3f})"
            for s, a, b in pairs
            if b is not None and round(a, 3) > round(b, 3)
        ]
        if worse:
            notes.append(
                f"{who}: with {', '.join(worse)} training rows, auto did worse than {what}); "
                "with so few executions prefer the baseline (--model median) or import more"
            )
    return notes
