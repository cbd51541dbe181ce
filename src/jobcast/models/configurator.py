"""The cheapest cluster configuration whose runtime bound meets a deadline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError, ModelError, NotEnoughDataError
from jobcast.models.machines import MachineAttribute, machine_attributes, machine_row
from jobcast.models.pricing import PriceTable
from jobcast.models.training_data import check_predictions

__all__ = [
    "Candidate",
    "ConfigurationResult",
    "MachineAttribute",
    "configure",
    "machine_attributes",
    "runtime_bound",
]

#: Cost unit when no machine type is given: machine-hours instead of money.
MACHINE_HOURS = "machine-hours"


def runtime_bound(
    predictions: np.ndarray | Sequence[float],
    errors: np.ndarray | Sequence[float],
    confidence: float,
) -> np.ndarray:
    """Upper runtime bounds from predictions and a model's cross-validated errors.

    With ``errors`` the held-out ``runtime / prediction - 1`` of the model (as in
    ``AutoModel.cv_errors_``), the bound is ``prediction * (1 + q)``, ``q`` the
    empirical ``confidence``-quantile of the errors, rounded up to an observed
    error (``numpy.quantile(..., method="higher")``), so that a fraction of at
    least ``confidence`` of the held-out runs finished within their bound.

    The bound is never below the prediction: where that quantile is negative (at a
    confidence of about 0.5 or less, for a model that tends to over-predict), the
    bound is the prediction itself, which the held-out runs met at least as often.

    Parameters
    ----------
    predictions
        Predicted runtimes in seconds.
    errors
        Held-out relative errors of the model.
    confidence
        In (0, 1), e.g. 0.95.

    Returns
    -------
    numpy.ndarray
        The upper runtime bounds in seconds, one per prediction.

    Raises
    ------
    jobcast.errors.InputError
        If ``confidence`` is not in (0, 1) or an error is not finite.
    jobcast.errors.NotEnoughDataError
        If there are no errors (the model was fitted on a single execution).
    """
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        raise InputError(f"confidence must be a number in (0, 1), e.g. 0.95; got {confidence!r}.")
    err = np.asarray(errors, dtype=np.float64)
    if err.size == 0:
        raise NotEnoughDataError(
            "The model has no cross-validated errors to bound its predictions with; it needs "
            "at least two executions of the job."
        )
    if not np.all(np.isfinite(err)):
        raise InputError("The model's cross-validated errors must be finite numbers.")
    q = max(float(np.quantile(err, float(confidence), method="higher")), 0.0)
    return np.asarray(predictions, dtype=np.float64) * (1.0 + q)


@dataclass(frozen=True)
class Candidate:
    """One cluster configuration with its predicted runtime, bound and cost.

    Attributes
    ----------
    scale_out
        Number of machines.
    machine_type
        The machine type, or None when the job history has none.
    predicted_runtime
        Seconds.
    runtime_bound
        Seconds: the runtime is at most this with the requested confidence.
    cost
        ``scale_out * price(machine_type) * runtime_bound / 3600``.
    feasible
        Whether ``runtime_bound <= deadline``.
    """

    scale_out: int
    machine_type: str | None
    predicted_runtime: float
    runtime_bound: float
    cost: float
    feasible: bool

    def __post_init__(self) -> None:
        if self.scale_out <= 0:
            raise InputError(f"scale_out must be > 0, got {self.scale_out!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the candidate as a JSON-ready dictionary."""
        return {
            "scale_out": self.scale_out,
            "machine_type": self.machine_type,
            "predicted_runtime": self.predicted_runtime,
            "runtime_bound": self.runtime_bound,
            "cost": self.cost,
            "feasible": self.feasible,
        }


@dataclass(frozen=True)
class ConfigurationResult:
    """Every candidate configuration and the cheapest feasible one (None if there is none).

    Attributes
    ----------
    deadline
        Seconds.
    confidence
        Probability with which the runtime bounds hold.
    currency
        Unit of the costs (``"machine-hours"`` when there are no machine types).
    candidates
        All configurations, in the order of the machine types and scale-outs given.
    best
        The cheapest candidate whose bound meets the deadline (ties: the faster,
        then the smaller); None when no candidate does.
    """

    deadline: float
    confidence: float
    currency: str
    candidates: tuple[Candidate, ...]
    best: Candidate | None

    @property
    def feasible(self) -> bool:
        """Whether some configuration meets the deadline."""
        return self.best is not None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dictionary (stable keys)."""
        return {
            "deadline": self.deadline,
            "confidence": self.confidence,
            "currency": self.currency,
            "feasible": self.feasible,
            "best": None if self.best is None else self.best.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
        }


def _feature_names(model: Any) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ModelError(
            "The configurator needs a model fitted on a DataFrame with named columns "
            "(scale_out, context attributes), not on a plain array."
        )
    return [str(n) for n in names]


def configure(
    model: Any,
    context: Mapping[str, Any],
    *,
    scale_outs: Iterable[int],
    deadline: float,
    machine_types: Sequence[str] | None = None,
    confidence: float = 0.95,
    prices: PriceTable | None = None,
    errors: np.ndarray | Sequence[float] | None = None,
    scale_out_column: str = "scale_out",
    machine_type_column: str = "machine_type",
    machine_values: Mapping[str, Mapping[str, MachineAttribute | float]] | None = None,
) -> ConfigurationResult:
    """Return the cheapest configuration whose runtime bound meets ``deadline``.

    Every combination of scale-out and machine type is predicted by ``model``,
    bounded with :func:`runtime_bound` at ``confidence``, and costed as
    ``scale_out * price * bound / 3600``.

    Parameters
    ----------
    model
        A fitted runtime model, fitted on a DataFrame whose columns are the
        scale-out, optionally the machine type, and the context attributes.
    context
        The job's context attribute values (everything but scale-out and machine type).
    scale_outs
        Candidate scale-outs (> 0).
    deadline
        Seconds (> 0).
    machine_types
        Candidate machine types; None or empty when the history has no machine
        type column (costs are then in machine-hours).
    confidence
        In (0, 1).
    prices
        Prices per machine-hour; None for :meth:`PriceTable.default`.
    errors
        The model's held-out relative errors (``runtime / prediction - 1``); None
        for ``model.cv_errors_`` (set by :class:`jobcast.models.AutoModel`).
    scale_out_column, machine_type_column
        Column names in the model's training data.
    machine_values
        Per machine type, attributes that depend on it (see
        :func:`machine_attributes`; a plain number is a fixed value). They fill
        in attributes that ``context`` does not give.

    Returns
    -------
    ConfigurationResult
        ``best`` is None when nothing meets the deadline.

    Raises
    ------
    jobcast.errors.InputError
        On a bad deadline, confidence or scale-out, a missing or unknown context
        attribute (named), a machine type without a price, or a prediction that is
        not a finite number (named).
    jobcast.errors.ModelError
        If the model is not fitted on named columns or has no errors to bound with.
    """
    check_is_fitted(model)
    if not isinstance(deadline, (int, float)) or not np.isfinite(deadline) or deadline <= 0:
        raise InputError(
            f"deadline must be a finite number of seconds > 0 (e.g. 600), got {deadline!r}."
        )
    scale_list = [int(s) for s in scale_outs]
    if not scale_list or any(s <= 0 for s in scale_list):
        raise InputError(f"scale_outs must be a non-empty list of integers > 0, got {scale_list}.")
    if errors is None:
        errors = getattr(model, "cv_errors_", None)
        if errors is None:
            raise ModelError(
                "The model keeps no cross-validated errors (use the 'auto' model) and none "
                "were given; pass errors= to bound its predictions."
            )
    table = PriceTable.default() if prices is None else prices
    types: list[str | None] = list(machine_types) if machine_types else [None]
    names = _feature_names(model)
    known = set(names) - {scale_out_column, machine_type_column}
    unknown = sorted(set(context) - known)
    if unknown:
        raise InputError(
            f"Unknown context attribute(s) {unknown}; the model knows {sorted(known)}."
        )
    rows = []
    for mt in types:
        extra = dict(machine_values.get(mt, {})) if machine_values and mt else {}
        for s in scale_list:
            row: dict[str, Any] = machine_row(extra, s)
            row.update(context)
            row[scale_out_column] = s
            if mt is not None:
                row[machine_type_column] = mt
            rows.append(row)
    missing = sorted(set(names) - set(rows[0]))
    if missing:
        raise InputError(
            f"Missing context attribute(s) {missing}; give a value for each "
            "(e.g. --set NAME=VALUE)."
        )
    frame = pd.DataFrame(rows)[names]
    predicted = check_predictions(model.predict(frame), frame, where="configuration")
    bounds = runtime_bound(predicted, errors, confidence)
    candidates = []
    i = 0
    for mt in types:
        price = 1.0 if mt is None else table.price(mt)
        for s in scale_list:
            candidates.append(
                Candidate(
                    scale_out=s,
                    machine_type=mt,
                    predicted_runtime=float(predicted[i]),
                    runtime_bound=float(bounds[i]),
                    cost=float(s * price * bounds[i] / 3600.0),
                    feasible=bool(bounds[i] <= deadline),
                )
            )
            i += 1
    feasible = [c for c in candidates if c.feasible]
    best = min(feasible, key=lambda c: (c.cost, c.runtime_bound, c.scale_out)) if feasible else None
    return ConfigurationResult(
        deadline=float(deadline),
        confidence=float(confidence),
        currency=MACHINE_HOURS if types == [None] else table.currency,
        candidates=tuple(candidates),
        best=best,
    )
