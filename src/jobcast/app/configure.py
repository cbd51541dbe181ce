"""Choosing the cheapest cluster configuration whose runtime bound meets a deadline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobcast.app.fitting import (
    FittedJob,
    ModelAnswer,
    check_machine_types,
    check_scale_outs,
    fitted_or_fit,
    settings_query,
)
from jobcast.app.json_fields import field_dict
from jobcast.history import HistoryRepository
from jobcast.models import PriceTable
from jobcast.models import configure as choose
from jobcast.models.configurator import Candidate
from jobcast.models.training_data import held_out_errors

__all__ = ["ConfigurationResult", "configure"]

#: The result's attributes in the order of its JSON (``warnings`` follows, as a list).
_RESULT_FIELDS = (
    "model",
    "chosen",
    "deadline_s",
    "confidence",
    "currency",
    "feasible",
    "best",
    "candidates",
    "message",
)
#: A candidate's JSON is :meth:`Candidate.to_dict` with the runtimes keyed as in the CLI.
_CANDIDATE_KEYS = {"predicted_runtime": "predicted_s", "runtime_bound": "bound_s"}


@dataclass(frozen=True, kw_only=True)
class ConfigurationResult(ModelAnswer):
    """The cheapest configuration meeting the deadline, every candidate, and why.

    Besides :class:`ModelAnswer`'s ``model``, ``chosen`` and ``warnings``:

    Attributes
    ----------
    feasible
        Whether some candidate meets the deadline.
    best
        The cheapest feasible candidate (``scale_out``, ``machine_type``,
        ``predicted_s``, ``bound_s``, ``cost``, ``feasible``), or None.
    candidates
        Every candidate, as ``best``, in the order of machine types and scale-outs.
    message
        One sentence saying what was chosen, or why nothing was.
    deadline_s, confidence, currency
        The deadline, the probability of meeting it, the unit of ``cost``.
    """

    feasible: bool
    best: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    message: str
    deadline_s: float = 0.0
    confidence: float = 0.95
    currency: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        """The result as stable JSON (``jobcast configure --json``)."""
        return {**field_dict(self, _RESULT_FIELDS), "warnings": list(self.warnings)}


def _price_table(prices: PriceTable | Mapping[str, float] | str | Path | None) -> PriceTable:
    if prices is None:
        return PriceTable.default()
    if isinstance(prices, PriceTable):
        return prices
    if isinstance(prices, str | Path):
        return PriceTable.from_json(prices)
    return PriceTable.default().with_prices(prices)


def _candidate(c: Candidate) -> dict[str, Any]:
    return {_CANDIDATE_KEYS.get(k, k): v for k, v in c.to_dict().items()}


def configure(
    repo: HistoryRepository,
    job: str,
    *,
    deadline_s: float,
    confidence: float = 0.95,
    settings: Mapping[str, Any] | None = None,
    prices: PriceTable | Mapping[str, float] | str | Path | None = None,
    scale_outs: Sequence[int] | None = None,
    machine_types: Sequence[str] | None = None,
    model: str = "auto",
    include_shared: bool = True,
    random_state: int | None = 0,
    fitted: FittedJob | None = None,
) -> ConfigurationResult:
    """The cheapest scale-out and machine type whose runtime bound meets ``deadline_s``.

    Every candidate is predicted, bounded by the ``confidence`` quantile of the
    model's held-out relative errors and costed (see
    :func:`jobcast.models.configure`). Attributes fixed by the machine type are
    derived from it and the scale-out, as :func:`jobcast.app.predict.predict` does.

    Parameters
    ----------
    repo, job
        The history and the job.
    deadline_s
        Seconds (> 0).
    confidence
        Probability of meeting the deadline, in (0, 1). A bound is never below its
        prediction (see :func:`jobcast.models.runtime_bound`).
    settings
        Context attribute values.
    prices
        A price table, ``{machine_type: price per machine-hour}`` over the defaults,
        or a JSON file of them; None for the defaults.
    scale_outs
        Candidate scale-outs (default: those in the history).
    machine_types
        Candidate machine types (default: the history's); each must be in the history.
    model, include_shared, random_state
        As in :func:`jobcast.app.fitting.fit_job`.
    fitted
        A model of this job already fitted with these options (see
        :func:`jobcast.app.fitting.fitted_or_fit`), used instead of fitting one.

    Returns
    -------
    ConfigurationResult
        ``feasible`` is False (and ``best`` None) when nothing meets the deadline.

    Raises
    ------
    jobcast.errors.InputError
        On a bad deadline or confidence, an unknown machine type, bad or too many
        scale-outs, a missing or unknown attribute, or a numeric one that is not a
        finite number within ±1e15.

    Notes
    -----
    ``warnings`` names given values of machine-fixed attributes (replaced) and query
    values outside the history, as :func:`jobcast.app.predict.predict` does.
    """
    fitted = fitted_or_fit(
        repo, job, fitted, model=model, include_shared=include_shared, random_state=random_state
    )
    candidates = (
        check_scale_outs(list(scale_outs))
        if scale_outs is not None
        else sorted(int(m) for m in fitted.X["scale_out"].unique())
    )
    types = check_machine_types(fitted, machine_types)
    query, warnings = settings_query(fitted, dict(settings or {}), candidates, types)
    # the checked values (numbers as floats), without the machine-fixed attributes
    context = {k: query[k].iloc[0] for k in dict(settings or {}) if k not in fitted.derived}
    errors = held_out_errors(fitted.estimator, fitted.X, fitted.y, random_state=random_state)
    result = choose(
        fitted.estimator,
        context,
        scale_outs=candidates,
        deadline=deadline_s,
        machine_types=types or None,
        confidence=confidence,
        prices=_price_table(prices),
        machine_values=fitted.machine_values or None,
        errors=errors,
    )
    best = None if result.best is None else _candidate(result.best)
    if best is None:
        message = (
            f"No configuration meets the deadline of {deadline_s:g} s at {confidence:.0%} "
            "confidence. Relax the deadline, lower --confidence, or allow larger --scale-out "
            "values."
        )
    else:
        where = f" of {best['machine_type']}" if best["machine_type"] else ""
        message = (
            f"Cheapest: {best['scale_out']} machines{where}, predicted "
            f"{best['predicted_s']:.0f} s (at most {best['bound_s']:.0f} s), cost "
            f"{best['cost']:.4g} {result.currency}."
        )
    return ConfigurationResult(
        feasible=result.feasible,
        best=best,
        candidates=[_candidate(c) for c in result.candidates],
        message=message,
        model=model,
        chosen=fitted.chosen,
        deadline_s=float(deadline_s),
        confidence=float(confidence),
        currency=result.currency,
        warnings=tuple(warnings),
    )
