"""Predicting a job's runtime for given scale-outs and context, or for query rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.app.fitting import (
    MAX_QUERIES,
    FittedJob,
    ModelAnswer,
    check_machine_types,
    check_scale_outs,
    fitted_or_fit,
    history_warnings,
    query_warnings,
    settings_query,
)
from jobcast.errors import InputError, NotEnoughDataError
from jobcast.history import HistoryRepository
from jobcast.models.training_data import check_predictions, input_frame, numeric_attributes

__all__ = [
    "PredictionResult",
    "TypicalPrediction",
    "predict",
    "typical_prediction",
    "typical_values",
]


@dataclass(frozen=True, kw_only=True)
class PredictionResult(ModelAnswer):
    """Runtime predictions with the query rows they answer (and :class:`ModelAnswer`'s).

    Attributes
    ----------
    predictions
        Seconds, one per query row, in input order.
    queries
        The completed query rows (machine-fixed attributes filled in), in feature order.
    """

    predictions: tuple[float, ...]
    queries: pd.DataFrame


def predict(
    repo: HistoryRepository,
    job: str,
    *,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    settings: Mapping[str, Any] | None = None,
    scale_outs: Sequence[int] | None = None,
    machine_type: str | Sequence[str] | None = None,
    model: str = "auto",
    include_shared: bool = True,
    random_state: int | None = 0,
    where: str = "query rows",
    lines: Sequence[int] | None = None,
    fitted: FittedJob | None = None,
) -> PredictionResult:
    """Predict the runtime of ``job`` for query rows, or for ``settings`` at ``scale_outs``.

    Attributes that the machine type fixes (per machine, or cluster totals such as
    C3O's ``slots`` and ``memory``) are derived from the machine type and the
    scale-out exactly as :func:`jobcast.app.configure.configure` derives them; query
    rows may leave them out.

    Parameters
    ----------
    repo, job
        The history and the job.
    rows
        Query rows (a DataFrame or dicts): the scale-out (``scale_out`` or the trace's
        own column name), the machine type when the job has several, and every other
        context attribute. A runtime column is ignored.
    settings
        Context attribute values, with ``scale_outs`` instead of ``rows``.
    scale_outs
        One prediction per scale-out (at most :data:`~jobcast.app.fitting.MAX_QUERIES`).
    machine_type
        With ``settings``: the machine type, or several (one prediction per machine type
        and scale-out, machine types first); default: the history's only one.
    model, include_shared, random_state
        As in :func:`jobcast.app.fitting.fit_job`.
    where
        What the rows are called in error messages (e.g. the file they came from).
    lines
        With ``rows`` from a file: each row's line in it, named by error messages
        (without it, they name the row, counted from 1).
    fitted
        A model of this job already fitted with these options (see
        :func:`jobcast.app.fitting.fitted_or_fit`), used instead of fitting one.

    Returns
    -------
    PredictionResult

    Raises
    ------
    jobcast.errors.InputError
        On a missing or unknown attribute, a numeric one that is not a finite number
        within ±1e15, an unknown machine type, bad or too many scale-outs, both or
        neither of ``rows`` and ``scale_outs``, ``settings`` or ``machine_type`` with
        ``rows``, or a prediction that is not a finite number (each naming the value,
        and for ``rows`` the line or row and the column).
    """
    if (rows is None) == (scale_outs is None):
        raise InputError("give either query rows (--input FILE.csv), or --set with --scale-out")
    if rows is not None and (settings or machine_type is not None):
        raise InputError(
            "query rows (--input FILE.csv) give every attribute, the scale-out and the machine "
            "type; leave out --set and --machine-type, or use them with --scale-out instead"
        )
    fitted = fitted_or_fit(
        repo, job, fitted, model=model, include_shared=include_shared, random_state=random_state
    )
    if rows is not None:
        query, warnings = _rows_query(fitted, rows, where, lines)
        warnings = [*history_warnings(fitted), *warnings]
        predictions = check_predictions(
            fitted.estimator.predict(query), query, where=where, lines=lines
        )
    else:
        query, warnings = settings_query(
            fitted,
            dict(settings or {}),
            check_scale_outs(list(scale_outs or [])),
            _machine_types(fitted, machine_type),
        )
        predictions = check_predictions(fitted.estimator.predict(query), query, where="--set")
    return PredictionResult(
        model=model,
        chosen=fitted.chosen,
        predictions=tuple(float(p) for p in predictions),
        queries=query,
        warnings=tuple(warnings),
    )


def _machine_types(fitted: FittedJob, machine_type: str | Sequence[str] | None) -> list[str]:
    """The machine types of a ``--set`` query (empty for a job without them)."""
    given = [machine_type] if isinstance(machine_type, str) else list(machine_type or [])
    types = check_machine_types(fitted, given or None)
    if not given and len(types) > 1:
        raise InputError(
            f"job {fitted.spec.name!r} has several machine types ({', '.join(types)}); "
            "choose one (or several: a,b) with --machine-type"
        )
    return types


def _rows_query(
    fitted: FittedJob,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    where: str,
    lines: Sequence[int] | None,
) -> tuple[pd.DataFrame, list[str]]:
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if len(frame) > MAX_QUERIES:
        raise InputError(f"{len(frame):,} query rows is more than the {MAX_QUERIES:,} allowed")
    if frame.empty:
        raise InputError("give at least one query row")
    if lines is not None and len(lines) != len(frame):
        raise InputError(f"{len(lines)} line numbers given for {len(frame)} query rows")
    derived = sorted(fitted.derived - set(frame.columns))
    query = input_frame(
        fitted.spec,
        frame,
        columns=list(fitted.X.columns),
        where=where,
        lines=lines,
        numeric=numeric_attributes(fitted.X),
        machine_values=fitted.machine_values,
    )
    warnings = [f"{', '.join(derived)} derived from the machine type and the scale-out"]
    return query, (warnings if derived else []) + query_warnings(fitted, query)


# ----------------------------------------------------------------- a typical configuration


def _shown(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _typical_number(column: pd.Series) -> tuple[float, str] | None:
    """The observed value nearest the median (the smaller on a tie), and how it was chosen.

    The median itself can be a value no execution had (the mean of the middle two);
    a value the history holds is one the model was fitted on.
    """
    numbers = pd.to_numeric(column, errors="coerce").dropna().to_numpy(float)
    if numbers.size == 0:
        return None
    median = float(np.median(numbers))
    observed = np.unique(numbers)  # sorted: argmin takes the smaller of two as near
    value = float(observed[int(np.argmin(np.abs(observed - median)))])
    how = "median" if value == median else f"observed value nearest the median {_shown(median)}"
    return value, how


def _most_common(column: pd.Series) -> tuple[str, str] | None:
    values = column.dropna()
    if values.empty:
        return None
    counts = values.astype(str).value_counts()
    # the most common; on a tie the first in sorted order, so the page does not flicker
    top = sorted(counts[counts == counts.max()].index)[0]
    how = "the only one" if len(counts) == 1 else f"most common of {len(counts)}"
    return top, how


def typical_values(
    frame: pd.DataFrame, attributes: Iterable[Any], *, derived: set[str]
) -> tuple[dict[str, Any], str | None, list[dict[str, str]]]:
    """A typical configuration of the history's executions ``frame``.

    Parameters
    ----------
    frame
        The executions (:meth:`HistoryRepository.executions`).
    attributes
        The job's :class:`~jobcast.history.Attribute` s.
    derived
        Attributes the machine type and the scale-out fix (left to the model).

    Returns
    -------
    dict, str or None, list of dict
        The attribute values (numbers: the observed value nearest the median; text: the
        most common), the machine type (most common; None without), and what the page
        shows of them: one ``{"name", "value", "how"}`` per value.
    """
    values: dict[str, Any] = {}
    basis: list[dict[str, str]] = []
    machine = _most_common(frame["machine_type"])
    if machine is not None:
        basis.append({"name": "machine type", "value": machine[0], "how": machine[1]})
    for a in attributes:
        if a.name in derived:
            basis.append(
                {"name": a.name, "value": "", "how": "from the machine type and the scale-out"}
            )
            continue
        found = _typical_number(frame[a.name]) if a.numeric else _most_common(frame[a.name])
        if found is None:
            continue
        values[a.name] = found[0]
        basis.append({"name": a.name, "value": _shown(found[0]), "how": found[1]})
    return values, None if machine is None else machine[0], basis


@dataclass(frozen=True)
class TypicalPrediction:
    """The runtime at a typical configuration of the history, per scale-out it holds.

    Attributes
    ----------
    model, chosen
        The model asked for and, for ``auto``, the one it chose.
    rows
        ``(scale_out, seconds)`` for every scale-out of the finished executions, ascending.
    basis
        How the configuration was chosen: one ``{"name", "value", "how"}`` per value
        (:func:`typical_values`).
    """

    model: str
    chosen: str | None
    rows: tuple[tuple[int, float], ...]
    basis: tuple[dict[str, str], ...]


def typical_prediction(
    repo: HistoryRepository, job: str, *, fitted: FittedJob | None = None
) -> TypicalPrediction:
    """Predict ``job``'s runtime at a typical configuration, at each scale-out it ran with.

    What the service's job page shows beside the executions: the finished executions'
    typical context (:func:`typical_values`) at every scale-out among them, with the
    ``auto`` model (trained on shared executions too).

    Parameters
    ----------
    repo, job
        The history and the job.
    fitted
        The ``auto`` model of this job on its current history, used instead of fitting one.

    Returns
    -------
    TypicalPrediction

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When no finished execution has a scale-out and a runtime, or the model cannot
        be fitted (:func:`jobcast.app.fitting.fit_job`).
    """
    frame = repo.executions(job, only_completed=False)
    done = frame.dropna(subset=["scale_out", "gross_runtime"])
    if done.empty:
        raise NotEnoughDataError(
            f"job {job!r} has no finished execution with a scale-out and a runtime to "
            "predict from; import or record some"
        )
    scale_outs = sorted({int(m) for m in done["scale_out"]})
    fitted = fitted_or_fit(repo, job, fitted, model="auto", include_shared=True, random_state=0)
    values, machine, basis = typical_values(done, fitted.spec.attributes, derived=fitted.derived)
    result = predict(
        repo,
        job,
        settings=values,
        scale_outs=scale_outs,
        # a job whose model knows no machine types (none recorded) takes none
        machine_type=machine if fitted.machine_types else None,
        fitted=fitted,
    )
    return TypicalPrediction(
        model=result.model,
        chosen=result.chosen,
        rows=tuple(zip(scale_outs, result.predictions, strict=True)),
        basis=tuple(basis),
    )
