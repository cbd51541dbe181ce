"""Automatic model selection by cross-validated relative error on the training data (C3O)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError, JobcastError, ModelError
from jobcast.models._base import RuntimeRegressor, seed_from
from jobcast.models._data import (
    ColumnSpec,
    check_frame,
    check_scale_out,
    check_target,
    scale_out_column,
)
from jobcast.models.catalog import BASE_MODELS

__all__ = [
    "AutoModel",
    "DEFAULT_CANDIDATES",
    "MAX_ROWS",
    "SCALE_OUT_ONLY",
    "TREE_MODELS",
    "cross_val_errors",
    "cv_splits",
]

logger = logging.getLogger(__name__)

#: Candidates built from regression trees; see ``min_rows_trees`` of :class:`AutoModel`.
TREE_MODELS = frozenset({"gbm", "optimistic-gbm"})

#: Models of runtime on the scale-out alone: they ignore every context attribute.
SCALE_OUT_ONLY = frozenset({"bell", "kernel", "median"})

#: The trivial baseline among the candidates (:class:`jobcast.models.baseline.MedianModel`).
BASELINE = "median"

#: The candidates of :class:`AutoModel`, in order of preference on equal error.
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "loglinear",
    "optimistic",
    "ernest",
    "bell",
    "gbm",
    "optimistic-gbm",
    "median",
)


#: Training rows :class:`AutoModel` uses at most (a random subset beyond).
MAX_ROWS = 20_000


def cv_splits(
    n: int,
    *,
    n_folds: int = 5,
    loo_max: int = 20,
    random_state: int | np.random.Generator | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``(train, test)`` index pairs suited to ``n`` rows.

    Leave-one-out up to ``loo_max`` rows (every row is tested once, on models fitted
    on all others: the least wasteful split of a tiny history), otherwise
    ``n_folds``-fold cross-validation on a shuffled order. Fewer than two rows
    give no split.

    Parameters
    ----------
    n
        Number of training rows.
    n_folds
        Folds for more than ``loo_max`` rows.
    loo_max
        Largest ``n`` that gets leave-one-out.
    random_state
        Seed or Generator of the shuffle.

    Returns
    -------
    list of tuple of numpy.ndarray
    """
    if n < 2:
        return []
    if n <= loo_max:
        everything = np.arange(n)
        return [(np.delete(everything, i), np.array([i])) for i in range(n)]
    order = np.random.default_rng(random_state).permutation(n)
    folds = np.array_split(order, min(n_folds, n))
    return [
        (np.sort(np.concatenate(folds[:i] + folds[i + 1 :])), np.sort(f))
        for i, f in enumerate(folds)
    ]


def cross_val_errors(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions of clones of ``estimator`` on every split.

    Returns
    -------
    tuple of numpy.ndarray
        The runtimes and the predictions, one entry per held-out row of every split.
    """
    truth, predictions = [], []
    for train, test in splits:
        model = clone(estimator).fit(X.iloc[train], y[train])
        predictions.append(np.asarray(model.predict(X.iloc[test]), dtype=np.float64))
        truth.append(y[test])
    if not splits:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(truth), np.concatenate(predictions)


class AutoModel(RuntimeRegressor):
    """Choose the runtime model with the lowest cross-validated error on the training data.

    As in C3O, every candidate is cross-validated on the training executions only
    (leave-one-out up to ``loo_max`` rows, ``n_folds``-fold above) and scored by
    the mean absolute percentage error of its held-out predictions. With few
    executions these scores are noisy, so by default the one-standard-error rule
    (Breiman et al., *Classification and Regression Trees*, 1984, section 3.4.3;
    Hastie et al., *The Elements of Statistical Learning*, section 7.10) picks the
    first candidate in ``candidates`` whose score is within one standard error
    of the lowest; the default order puts the most constrained, shrunken model
    (``loglinear``) first. The baseline ``median`` (the median runtime per
    scale-out), when a candidate, is kept only when its score plus its standard
    error lies below the score of the model the rule chose: a model that loses to
    it clearly is not kept, one within noise of it is. The chosen model is
    refitted on all rows. Its
    held-out errors are kept for confidence bounds (see
    :func:`jobcast.models.configurator.runtime_bound`). A candidate that fails on
    a split is skipped with a logged warning.

    Tree ensembles (``gbm``, ``optimistic-gbm``) are candidates only from
    ``min_rows_trees`` training rows on. Below that, depth-3 trees have barely a
    row per leaf and predict a handful of distinct runtimes, so they cannot
    interpolate between the few configurations seen; they are also by far the
    most expensive candidates to cross-validate (leave-one-out refits them once
    per row). The rule depends only on the size of the training data.

    Parameters
    ----------
    candidates
        The models to choose from: names of :data:`jobcast.models.catalog.BASE_MODELS`
        or ``(name, estimator)`` pairs; None for :data:`DEFAULT_CANDIDATES`. Each is
        cloned; a clone whose ``random_state`` is None gets a seed drawn from
        ``random_state``, and ``scale_out``, when given, is set on every clone.
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    n_folds
        Folds of the cross-validation above ``loo_max`` rows.
    loo_max
        Up to this many rows, leave-one-out.
    min_rows_trees
        Fewest training rows with which tree ensembles are candidates.
    max_rows
        At most this many training rows, drawn uniformly at random (seeded) when there
        are more, are used to choose and fit the model: a history swollen by a large
        share (hundreds of thousands of synthetic rows) would otherwise keep every
        prediction waiting for minutes, and a runtime model gains little beyond it.
    rule
        ``"one-se"``: the first candidate (in the order of ``candidates``) whose
        error is within one standard error of the lowest error; ``"min"``: the
        lowest error.
    random_state
        Seed or Generator: shuffles the folds and seeds the randomised candidates.

    Attributes
    ----------
    chosen_ : str
        Name of the chosen model.
    candidates_ : tuple of str
        The candidates that were cross-validated.
    estimator_ : sklearn.base.BaseEstimator
        The chosen model, fitted on all training rows.
    cv_scores_ : dict of str to float
        Cross-validated mean absolute percentage error of every candidate that
        was evaluated (``inf`` for one that failed).
    cv_standard_errors_ : dict of str to float
        Standard error of every score (of the per-row absolute percentage errors).
    cv_errors_ : numpy.ndarray
        ``runtime / prediction - 1`` of the chosen model on every held-out row:
        by how much the job ran longer than predicted (negative: shorter).
    n_features_in_ : int

    References
    ----------
    Will et al., "C3O" (IC2E 2021), whose per-job choice among runtime models by
    cross-validation this follows; the full reference is in :mod:`jobcast.models.optimistic`.
    """

    def __init__(
        self,
        *,
        candidates: Sequence[str | tuple[str, BaseEstimator]] | None = None,
        scale_out: ColumnSpec | None = None,
        n_folds: int = 5,
        loo_max: int = 20,
        min_rows_trees: int = 50,
        max_rows: int = MAX_ROWS,
        rule: Literal["one-se", "min"] = "one-se",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.candidates = candidates
        self.scale_out = scale_out
        self.n_folds = n_folds
        self.loo_max = loo_max
        self.min_rows_trees = min_rows_trees
        self.max_rows = max_rows
        self.rule = rule
        self.random_state = random_state

    def _templates(self) -> dict[str, BaseEstimator]:
        given = DEFAULT_CANDIDATES if self.candidates is None else tuple(self.candidates)
        if not given:
            raise InputError("candidates must name at least one model.")
        templates: dict[str, BaseEstimator] = {}
        for item in given:
            if isinstance(item, str):
                if item not in BASE_MODELS:
                    raise InputError(
                        f"Unknown candidate model {item!r}; choose among "
                        f"{', '.join(BASE_MODELS)}, or give a (name, estimator) pair."
                    )
                templates[item] = BASE_MODELS[item]()
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                templates[item[0]] = item[1]
            else:
                raise InputError(
                    f"a candidate is a model name or a (name, estimator) pair, got {item!r}."
                )
        return templates

    def _instance(self, template: BaseEstimator, seed: int) -> BaseEstimator:
        model = clone(template)
        params = model.get_params(deep=False)
        update: dict[str, Any] = {}
        if "random_state" in params and params["random_state"] is None:
            update["random_state"] = seed
        if "scale_out" in params and self.scale_out is not None:
            update["scale_out"] = self.scale_out
        return model.set_params(**update)

    def fit(self, X: Any, y: Any) -> AutoModel:
        """Cross-validate the candidates on ``X``, ``y``; keep the best, refitted on all rows.

        ``X`` holds executions (scale-out, context attributes), ``y`` runtimes in seconds
        (> 0); returns ``self``.

        Raises
        ------
        jobcast.errors.ModelError
            If every candidate fails.
        """
        templates = self._templates()
        names = tuple(templates)
        if self.rule not in ("one-se", "min"):
            raise InputError(f"rule must be 'one-se' or 'min', got {self.rule!r}.")
        if not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise InputError(f"n_folds must be an int >= 2, got {self.n_folds!r}.")
        frame = check_frame(self, X, reset=True)
        y_arr = check_target(y, len(frame))
        if not isinstance(self.max_rows, int) or self.max_rows < 2:
            raise InputError(f"max_rows must be an int >= 2, got {self.max_rows!r}.")
        if len(frame) > self.max_rows:
            # drawn before the folds' generator exists: below the cap nothing changes
            draw = np.random.default_rng(self.random_state)
            keep = np.sort(draw.choice(len(frame), size=self.max_rows, replace=False))
            logger.info(
                "auto: %d of the %d training rows, drawn at random (max_rows)",
                self.max_rows,
                len(frame),
            )
            frame, y_arr = frame.iloc[keep].reset_index(drop=True), y_arr[keep]
        # bad input is the caller's error, not a reason to drop every candidate
        label = scale_out_column(frame, self.scale_out)
        check_scale_out(frame[label].to_numpy(), label)
        if len(frame) < self.min_rows_trees and any(n not in TREE_MODELS for n in names):
            names = tuple(n for n in names if n not in TREE_MODELS)
        rng = np.random.default_rng(self.random_state)
        splits = cv_splits(len(frame), n_folds=self.n_folds, loo_max=self.loo_max, random_state=rng)
        # one seed per candidate, in order, whether it is random or not: the draws (and
        # so every result) do not depend on which candidates take a seed
        models = {name: self._instance(templates[name], seed_from(rng)) for name in names}
        self.candidates_ = names
        self.cv_scores_: dict[str, float] = {}
        self.cv_standard_errors_: dict[str, float] = {}
        errors: dict[str, np.ndarray] = {}
        for name, model in models.items():
            try:
                truth, predicted = cross_val_errors(model, frame, y_arr, splits)
            except (JobcastError, ValueError, np.linalg.LinAlgError) as e:
                logger.warning("candidate %s failed in cross-validation: %s", name, e)
                self.cv_scores_[name] = float("inf")
                continue
            predicted = np.maximum(predicted, np.finfo(float).tiny)
            absolute = np.abs(predicted - truth) / truth
            self.cv_scores_[name] = float(np.mean(absolute)) if len(truth) else 0.0
            self.cv_standard_errors_[name] = (
                float(np.std(absolute, ddof=1) / np.sqrt(len(absolute)))
                if len(absolute) > 1
                else 0.0
            )
            errors[name] = truth / predicted - 1.0
        if not errors:
            raise ModelError(
                f"Every candidate model failed on these {len(frame)} executions: "
                f"{', '.join(names)}; see the logged warnings."
            )
        self.chosen_ = self._choose(names, errors)
        self.cv_errors_ = errors[self.chosen_]
        self.estimator_ = models[self.chosen_].fit(frame, y_arr)
        logger.debug("auto chose %s (cv scores %s)", self.chosen_, self.cv_scores_)
        return self

    def _choose(self, names: tuple[str, ...], errors: dict[str, np.ndarray]) -> str:
        """The candidate to keep among those that did not fail (see the class docstring)."""
        scores, ses = self.cv_scores_, self.cv_standard_errors_
        models = [n for n in names if n in errors and n != BASELINE] or [BASELINE]
        best = min(models, key=lambda n: (scores[n], names.index(n)))
        if self.rule == "min":
            best = min(errors, key=lambda n: (scores[n], names.index(n)))
        else:
            # the first candidate (in order of preference) within one standard
            # error of the best: differences smaller than that are noise
            limit = scores[best] + ses[best]
            best = next(n for n in models if scores[n] <= limit)
            # the baseline only when it is better by more than its own noise
            if BASELINE in errors and scores[BASELINE] + ses[BASELINE] < scores[best]:
                best = BASELINE
        return best

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds with the chosen model."""
        check_is_fitted(self, "estimator_")
        frame = check_frame(self, X, reset=False)
        return np.asarray(self.estimator_.predict(frame), dtype=np.float64)
