"""The privacy paper's accuracy protocols for runtime models: holdout and small training sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.models.registry import MODEL_NAMES, make_model

__all__ = [
    "DEFAULT_EVALUATION_MODELS",
    "DEFAULT_TRAIN_SIZES",
    "HoldoutEvaluation",
    "ModelEvaluation",
    "TrainingSizeEvaluation",
    "check_sizes",
    "evaluate_models",
    "holdout_evaluation",
    "mape",
    "training_size_evaluation",
]

#: Progress callback: ``callback(done, total, message)``.
ProgressCallback = Callable[[int, int, str], None]

#: The models evaluated by default: every model that uses the context attributes,
#: and BELL (scale-out only) for reference.
DEFAULT_EVALUATION_MODELS: tuple[str, ...] = tuple(n for n in MODEL_NAMES if n != "kernel")

#: The second protocol's training-set sizes: 3, 6, ..., 30 rows.
DEFAULT_TRAIN_SIZES: tuple[int, ...] = tuple(range(3, 31, 3))


def mape(y_true: np.ndarray | Sequence[float], y_pred: np.ndarray | Sequence[float]) -> float:
    """Mean absolute percentage error ``mean(|pred - true| / true)`` (as a fraction)."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(p - t) / t))


def _freeze(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Protocol 1: MAPE of every model on ``repeats`` random holdout splits.

    Attributes
    ----------
    test_size
        Fraction of the rows held out.
    repeats
        Number of random splits.
    n_rows
        Rows of the data set.
    mapes
        Model name to its MAPE on each split (same splits for every model).
    """

    test_size: float
    repeats: int
    n_rows: int
    mapes: Mapping[str, tuple[float, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapes", _freeze(self.mapes))

    def mean(self, model: str) -> float:
        """MAPE of ``model`` averaged over the splits."""
        return float(np.mean(self.mapes[model]))

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (stable keys)."""
        return {
            "test_size": self.test_size,
            "repeats": self.repeats,
            "n_rows": self.n_rows,
            "mape": {m: self.mean(m) for m in self.mapes},
            "mape_per_repeat": {m: list(v) for m, v in self.mapes.items()},
        }


@dataclass(frozen=True)
class TrainingSizeEvaluation:
    """Protocol 2: MAPE of every model trained on few rows, per training-set size.

    Attributes
    ----------
    train_sizes
        The sizes evaluated (sizes larger than the training split are left out).
    skipped_sizes
        Requested sizes larger than the training split.
    test_size, repeats, n_rows
        As in :class:`HoldoutEvaluation`.
    mapes
        Model name to training-set size to MAPE on each repeat.
    """

    train_sizes: tuple[int, ...]
    skipped_sizes: tuple[int, ...]
    test_size: float
    repeats: int
    n_rows: int
    mapes: Mapping[str, Mapping[int, tuple[float, ...]]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapes", _freeze({m: _freeze(v) for m, v in self.mapes.items()}))

    def mean(self, model: str, size: int | None = None) -> float:
        """MAPE of ``model`` averaged over repeats (at ``size``, or also over all sizes)."""
        per_size = self.mapes[model]
        if size is not None:
            return float(np.mean(per_size[size]))
        return float(np.mean([np.mean(per_size[s]) for s in self.train_sizes]))

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (stable keys)."""
        return {
            "train_sizes": list(self.train_sizes),
            "skipped_sizes": list(self.skipped_sizes),
            "test_size": self.test_size,
            "repeats": self.repeats,
            "n_rows": self.n_rows,
            "mape": {m: self.mean(m) for m in self.mapes},
            "mape_per_size": {
                m: {str(s): self.mean(m, s) for s in self.train_sizes} for m in self.mapes
            },
        }


@dataclass(frozen=True)
class ModelEvaluation:
    """Both protocols' results for one job.

    Attributes
    ----------
    job
        Name of the job, if known.
    models
        The models evaluated.
    holdout
        Protocol 1, or None if it was not run.
    training_sizes
        Protocol 2, or None if it was not run.
    random_state
        The seed used, if an int was given.
    warnings
        What was left out: training sizes beyond the training split, executions
        without a value of an attribute.
    """

    job: str | None
    models: tuple[str, ...]
    holdout: HoldoutEvaluation | None
    training_sizes: TrainingSizeEvaluation | None
    random_state: int | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (stable keys)."""
        return {
            "job": self.job,
            "models": list(self.models),
            "random_state": self.random_state,
            "warnings": list(self.warnings),
            "holdout": None if self.holdout is None else self.holdout.to_dict(),
            "training_sizes": (
                None if self.training_sizes is None else self.training_sizes.to_dict()
            ),
        }


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


def _split(n: int, test_size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    n_test = _n_test(n, test_size)
    return order[n_test:], order[:n_test]


def _score(
    name: str, seed: int, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> float:
    model = make_model(name, random_state=seed)
    model.fit(X.iloc[train], y[train])
    return mape(y[test], model.predict(X.iloc[test]))


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
    for r in range(repeats):
        train, test = _split(len(X), test_size, rng)
        seed = seed_from(rng)  # one seed for every model: results do not depend on the list
        for name in models:
            mapes[name].append(_score(name, seed, X, y_arr, train, test))
            done += 1
            if callback is not None:
                callback(done, total, f"holdout repeat {r + 1}/{repeats}: {name}")
    return HoldoutEvaluation(
        test_size=float(test_size),
        repeats=repeats,
        n_rows=len(X),
        mapes={m: tuple(v) for m, v in mapes.items()},
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
    for r in range(repeats):
        pool, test = _split(len(X), test_size, rng)
        for size in kept:
            train = rng.choice(pool, size=size, replace=False)
            seed = seed_from(rng)
            for name in models:
                mapes[name][size].append(_score(name, seed, X, y_arr, train, test))
                done += 1
                if callback is not None:
                    callback(done, total, f"repeat {r + 1}/{repeats}, {size} rows: {name}")
    return TrainingSizeEvaluation(
        train_sizes=kept,
        skipped_sizes=skipped,
        test_size=float(test_size),
        repeats=repeats,
        n_rows=len(X),
        mapes={m: {s: tuple(v) for s, v in per.items()} for m, per in mapes.items()},
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
    return ModelEvaluation(
        job=job,
        models=tuple(models),
        holdout=holdout_evaluation(X, y, random_state=streams[0], **shared) if holdout else None,
        training_sizes=(
            training_size_evaluation(
                X, y, train_sizes=train_sizes, random_state=streams[1], **shared
            )
            if train_sizes
            else None
        ),
        random_state=random_state,
        warnings=tuple(warnings),
    )
