"""Choosing the cheapest cluster configuration whose runtime bound meets a deadline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jobcast.app.fitting import (
    FittedJob,
    ModelAnswer,
    check_machine_types,
    check_scale_outs,
    fitted_or_fit,
    settings_query,
)
from jobcast.app.json_fields import field_dict
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.history.values import MAX_SCALE_OUT
from jobcast.models import PriceTable
from jobcast.models import configure as choose
from jobcast.models.configurator import Candidate
from jobcast.models.selection import TREE_MODELS
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
        The deadline, the probability of meeting it, the unit of ``cost``: ``USD``
        for the built-in prices, the price file's ``"currency"`` or else ``price
        units`` for the user's own, ``machine-hours`` for a job without machine types.
        A candidate's ``cost`` is ``scale_out × price per machine-hour × bound_s /
        3600``: priced at the bound, not at the prediction.
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
    return PriceTable.of(prices)


def _price_warnings(
    prices: PriceTable | Mapping[str, float] | str | Path | None,
    table: PriceTable,
    machine_types: Sequence[str],
    job: str,
) -> list[str]:
    """What the user's prices did not price, or that they are not used at all."""
    if prices is None:
        return []
    if not machine_types:
        return [
            f"--prices is not used: job {job!r} records no machine types, so costs are "
            "machine-hours (scale-out × bound / 3600); leave out --prices"
        ]
    defaulted = [m for m in machine_types if m in table.defaulted]
    if not defaulted or len(table.defaulted) == len(table.prices):
        return []
    its = "it" if len(defaulted) == 1 else "them"
    source = f" {prices}" if isinstance(prices, str | Path) else ""
    return [
        f"--prices{source} gives no price for {', '.join(defaulted)}: priced by the "
        f"built-in AWS on-demand price{'s' if len(defaulted) > 1 else ''} (USD per "
        f"machine-hour, us-east-1), while costs are labelled {table.currency!r}; add "
        f"{its} to the price file to price {its} yourself"
    ]


def _check_deadline(deadline_s: Any) -> None:
    ok = isinstance(deadline_s, int | float) and not isinstance(deadline_s, bool)
    if not ok or not math.isfinite(deadline_s) or deadline_s <= 0:
        raise InputError(
            f"--deadline must be a finite number of seconds > 0, e.g. --deadline 600; "
            f"got {deadline_s!r}"
        )


def _message(
    best: dict[str, Any] | None,
    deadline_s: float,
    confidence: float,
    currency: str,
    single_scale_out: int | None,
    beyond: str | None = None,
) -> str:
    """One sentence: the cheapest configuration, or why there is none and what to do.

    ``beyond`` says why larger scale-outs would not help (see :func:`_beyond`), None
    when they are predicted to.
    """
    if best is not None:
        where = f" of {best['machine_type']}" if best["machine_type"] else ""
        machines = "machine" if best["scale_out"] == 1 else "machines"
        return (
            f"Cheapest: {best['scale_out']} {machines}{where}, predicted "
            f"{best['predicted_s']:.0f} s (at most {best['bound_s']:.0f} s), cost "
            f"{best['cost']:.4g} {currency} (at the bound)."
        )
    none = (
        f"No configuration meets the deadline of {deadline_s:g} s at {confidence:.0%} "
        "confidence."
    )
    if single_scale_out is not None:
        # other scale-outs cannot help: the model cannot tell them apart
        return (
            f"{none} Relax the deadline or lower --confidence; the history holds only "
            f"scale-out {single_scale_out}, so import or run executions on other scale-outs "
            "before larger ones can be told apart."
        )
    if beyond is not None:
        return f"{none} Relax the deadline or lower --confidence; {beyond}."
    return f"{none} Relax the deadline, lower --confidence, or allow larger --scale-out values."


def _beyond(
    fitted: FittedJob,
    settings: Mapping[str, Any],
    candidates: Sequence[int],
    types: Sequence[str],
) -> str | None:
    """Why larger scale-outs than ``candidates`` would not help, or None if they are predicted to.

    The model is asked at the largest candidate and at twice it (within the import
    limit); the advice to allow larger scale-outs is only given when the larger one
    is predicted faster on some machine type.
    """
    largest = max(candidates)
    seen = int(fitted.X["scale_out"].max())
    name = fitted.answering
    # a tree's "speed-up" beyond the seen range is an artefact (a machine-fixed total
    # such as slots still grows there): it cannot tell, so it is not asked
    tree_beyond = largest >= seen and name in TREE_MODELS
    probe = min(2 * largest, MAX_SCALE_OUT)
    if probe > largest and not tree_beyond:
        query, _ = settings_query(fitted, settings, [largest, probe], types)
        predicted = np.asarray(fitted.estimator.predict(query), dtype=float).reshape(-1, 2)
        if bool((predicted[:, 1] < 0.99 * predicted[:, 0]).any()):
            return None
    if tree_beyond:
        return (
            f"the history has no runs beyond scale-out {seen} and the model ({name}) cannot "
            "extrapolate beyond it (tree models are flat outside the seen range), so allowing "
            "larger --scale-out would not help before executions on larger scale-outs are "
            "imported"
        )
    unseen = f" (the history has no runs beyond scale-out {seen})" if largest > seen else ""
    return (
        f"the model ({name}) predicts no speed-up beyond scale-out {largest}{unseen}, so "
        "allowing larger --scale-out would not help"
    )


def _judgeable(fitted: FittedJob, candidates: list[int]) -> tuple[list[int], list[str]]:
    """The candidates the model can judge, and a warning naming those it cannot.

    A tree model (gbm) predicts a scale-out below the history's smallest as that one's
    runtime, so fewer machines would look as fast and cheaper: such candidates are left
    out (with all of them below, the call is refused naming models that extrapolate).
    """
    name = fitted.answering
    smallest = int(fitted.X["scale_out"].min())
    if name not in TREE_MODELS or min(candidates) >= smallest:
        return candidates, []
    below = [m for m in candidates if m < smallest]
    kept = [m for m in candidates if m >= smallest]
    why = (
        f"the model ({name}) cannot judge scale-outs below {smallest}, the history's "
        "smallest (a tree model predicts them as fast as that one)"
    )
    if not kept:
        raise InputError(
            f"{why}; give --scale-out values from {smallest} on, or --model loglinear or "
            "--model ernest, which extrapolate"
        )
    listed = ", ".join(str(m) for m in below)
    return kept, [
        f"{why}: scale-out {listed} left out of the candidates (--model loglinear or "
        "--model ernest extrapolate to them)"
    ]


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
        A price table, ``{machine_type: price per machine-hour}`` (costs in ``price
        units``), or a JSON file of them (optionally with ``"currency": "EUR"``; see
        :meth:`jobcast.models.PriceTable.from_json`); None for the built-in AWS
        prices in USD. Machine types the user's prices leave out are priced by the
        built-in ones, with a warning naming them; prices for a job without machine
        types are warned to be unused.
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
        On a deadline that is not a finite number > 0, a bad confidence, an unknown
        machine type, bad or too many scale-outs, a bad price file, a missing or
        unknown attribute, or a numeric one that is not a finite number within ±1e15.

    Notes
    -----
    A candidate's cost is ``scale_out × price × bound_s / 3600``: the bound, not the
    prediction, is what the deadline is checked against and what is paid for.
    ``warnings`` names given values of machine-fixed attributes (replaced), query
    values outside the history and a history of a single scale-out, as
    :func:`jobcast.app.predict.predict` does, and machine types priced by the
    built-in prices although the user gave prices.
    """
    _check_deadline(deadline_s)
    table = _price_table(prices)
    fitted = fitted_or_fit(
        repo, job, fitted, model=model, include_shared=include_shared, random_state=random_state
    )
    candidates = (
        check_scale_outs(list(scale_outs))
        if scale_outs is not None
        else sorted(int(m) for m in fitted.X["scale_out"].unique())
    )
    types = check_machine_types(fitted, machine_types)
    for machine_type in types:
        table.price(machine_type)  # a missing price before the cross-validation
    candidates, below = _judgeable(fitted, candidates)
    query, warnings = settings_query(fitted, dict(settings or {}), candidates, types)
    warnings = below + warnings
    warnings += _price_warnings(prices, table, types, job)
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
        prices=table,
        machine_values=fitted.machine_values or None,
        errors=errors,
    )
    best = None if result.best is None else _candidate(result.best)
    single = fitted.single_scale_out
    beyond = (
        _beyond(fitted, context, candidates, types)
        if best is None and single is None
        else None
    )
    message = _message(best, deadline_s, confidence, result.currency, single, beyond)
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
