"""Results of the runtime models' accuracy protocols, with the baseline and auto's choices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "BASELINE",
    "HoldoutEvaluation",
    "ModelEvaluation",
    "TrainingSizeEvaluation",
    "holdout_split",
    "mape",
]

#: The baseline every protocol scores besides the models: the median runtime per
#: scale-out of the training rows (the global median for other scale-outs).
BASELINE = "median"


def mape(y_true: np.ndarray | Sequence[float], y_pred: np.ndarray | Sequence[float]) -> float:
    """Mean absolute percentage error ``mean(|pred - true| / true)`` (as a fraction)."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(p - t) / t))


def holdout_split(
    n: int, test_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random split of ``n`` rows: ``(train, test)`` positions, ``round(test_size n)`` held out.

    At least one row is held out: the models' protocols refuse a data set whose share
    rounds to none before they split (:func:`jobcast.evaluation.models.check_sizes`);
    the privacy evaluation splits whatever it is given.

    Examples
    --------
    >>> train, test = holdout_split(10, 0.2, np.random.default_rng(0))
    >>> len(train), len(test)
    (8, 2)
    """
    order = rng.permutation(n)
    n_test = max(int(round(float(test_size) * n)), 1)
    return order[n_test:], order[:n_test]


def _freeze(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


def _counts(names: Sequence[str]) -> dict[str, int]:
    """How often each name occurs, most often first (then by name)."""
    unique, counts = np.unique(np.asarray(list(names), dtype=object), return_counts=True)
    pairs = sorted(zip(unique.tolist(), counts.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    return {str(k): int(v) for k, v in pairs}


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
    baseline
        The MAPE of :data:`BASELINE` on each split.
    chosen
        The model ``auto`` chose on each split (empty when ``auto`` is not evaluated).
    """

    test_size: float
    repeats: int
    n_rows: int
    mapes: Mapping[str, tuple[float, ...]]
    baseline: tuple[float, ...] = ()
    chosen: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapes", _freeze(self.mapes))

    def mean(self, model: str) -> float:
        """MAPE of ``model`` averaged over the splits."""
        return float(np.mean(self.mapes[model]))

    def baseline_mean(self) -> float | None:
        """MAPE of the baseline averaged over the splits (None when not scored)."""
        return float(np.mean(self.baseline)) if self.baseline else None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (stable keys)."""
        return {
            "test_size": self.test_size,
            "repeats": self.repeats,
            "n_rows": self.n_rows,
            "mape": {m: self.mean(m) for m in self.mapes},
            "mape_per_repeat": {m: list(v) for m, v in self.mapes.items()},
            "baseline": {
                "model": BASELINE,
                "mape": self.baseline_mean(),
                "mape_per_repeat": list(self.baseline),
            },
            "auto_chosen": _counts(self.chosen),
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
    baseline
        Training-set size to the MAPE of :data:`BASELINE` on each repeat.
    chosen
        Training-set size to the model ``auto`` chose on each repeat (empty when
        ``auto`` is not evaluated).
    """

    train_sizes: tuple[int, ...]
    skipped_sizes: tuple[int, ...]
    test_size: float
    repeats: int
    n_rows: int
    mapes: Mapping[str, Mapping[int, tuple[float, ...]]]
    baseline: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    chosen: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapes", _freeze({m: _freeze(v) for m, v in self.mapes.items()}))
        object.__setattr__(self, "baseline", _freeze(self.baseline))
        object.__setattr__(self, "chosen", _freeze(self.chosen))

    def mean(self, model: str, size: int | None = None) -> float:
        """MAPE of ``model`` averaged over repeats (at ``size``, or also over all sizes)."""
        per_size = self.mapes[model]
        if size is not None:
            return float(np.mean(per_size[size]))
        return float(np.mean([np.mean(per_size[s]) for s in self.train_sizes]))

    def baseline_mean(self, size: int | None = None) -> float | None:
        """MAPE of the baseline, as :meth:`mean` (None when not scored)."""
        if not self.baseline:
            return None
        if size is not None:
            return float(np.mean(self.baseline[size]))
        return float(np.mean([np.mean(self.baseline[s]) for s in self.train_sizes]))

    def auto_chosen(self) -> dict[str, int]:
        """How often ``auto`` chose each model, over every size and repeat."""
        return _counts([c for s in self.train_sizes for c in self.chosen.get(s, ())])

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
            "baseline": {
                "model": BASELINE,
                "mape": self.baseline_mean(),
                "mape_per_size": (
                    {str(s): self.baseline_mean(s) for s in self.train_sizes}
                    if self.baseline
                    else {}
                ),
            },
            "auto_chosen": self.auto_chosen(),
            "auto_chosen_per_size": (
                {str(s): _counts(self.chosen[s]) for s in self.train_sizes} if self.chosen else {}
            ),
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
        What was left out (training sizes beyond the training split, executions
        without a value of an attribute) and which models did not beat the baseline.
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
