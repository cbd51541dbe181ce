"""Predicting a job's runtime for given scale-outs and context, or for query rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    range_warnings,
)
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.models.machines import machine_row
from jobcast.models.training_data import input_frame, query_frame

__all__ = ["PredictionResult", "predict"]


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
    machine_type: str | None = None,
    model: str = "auto",
    include_shared: bool = True,
    random_state: int | None = 0,
    where: str = "query rows",
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
        With ``settings``: the machine type (default: the history's only one).
    model, include_shared, random_state
        As in :func:`jobcast.app.fitting.fit_job`.
    where
        What the rows are called in error messages (e.g. the file they came from).
    fitted
        A model of this job already fitted with these options (see
        :func:`jobcast.app.fitting.fitted_or_fit`), used instead of fitting one.

    Returns
    -------
    PredictionResult

    Raises
    ------
    jobcast.errors.InputError
        On a missing or unknown attribute, an unknown machine type, bad or too many
        scale-outs, or both or neither of ``rows`` and ``scale_outs``.
    """
    if (rows is None) == (scale_outs is None):
        raise InputError("give either query rows (--input FILE.csv), or --set with --scale-out")
    fitted = fitted_or_fit(
        repo, job, fitted, model=model, include_shared=include_shared, random_state=random_state
    )
    warnings: list[str] = []
    if rows is not None:
        query = _rows_query(fitted, rows, warnings, where)
    else:
        query = _settings_query(
            fitted,
            dict(settings or {}),
            check_scale_outs(list(scale_outs or [])),
            machine_type,
            warnings,
        )
    warnings.extend(range_warnings(fitted.X, query, skip=fitted.derived))
    predictions = np.asarray(fitted.estimator.predict(query), dtype=float)
    return PredictionResult(
        model=model,
        chosen=fitted.chosen,
        predictions=tuple(float(p) for p in predictions),
        queries=query,
        warnings=tuple(warnings),
    )


def _settings_query(
    fitted: FittedJob,
    settings: dict[str, Any],
    scale_outs: list[int],
    machine_type: str | None,
    warnings: list[str],
) -> pd.DataFrame:
    columns = list(fitted.X.columns)
    types = check_machine_types(fitted, None if machine_type is None else [machine_type])
    if machine_type is None and len(types) > 1:
        raise InputError(
            f"job {fitted.spec.name!r} has several machine types ({', '.join(types)}); "
            "choose one with --machine-type"
        )
    chosen = types[0] if types else None
    values = fitted.machine_values.get(chosen, {}) if chosen is not None else {}
    given = sorted(set(settings) & set(values))
    if given:
        warnings.append(
            f"{', '.join(given)} follow(s) from the machine type and the scale-out; the given "
            "value(s) are replaced by the derived ones"
        )
    frames = []
    for s in scale_outs:
        context = {
            **machine_row(values, s),
            **{k: v for k, v in settings.items() if k not in values},
        }
        frames.append(query_frame(fitted.spec, context, [s], machine_type=chosen, columns=columns))
    return pd.concat(frames, ignore_index=True)


def _rows_query(
    fitted: FittedJob,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    warnings: list[str],
    where: str,
) -> pd.DataFrame:
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if len(frame) > MAX_QUERIES:
        raise InputError(f"{len(frame):,} query rows is more than the {MAX_QUERIES:,} allowed")
    if frame.empty:
        raise InputError("give at least one query row")
    for c in frame.columns:
        converted = pd.to_numeric(frame[c], errors="coerce")
        if converted.notna().all():
            frame[c] = converted
    spec = fitted.spec
    renames = {
        original: canonical
        for canonical, original in (
            ("scale_out", spec.scale_out_column),
            ("machine_type", spec.machine_type_column),
        )
        if original and original in frame.columns and canonical not in frame.columns
    }
    frame = frame.rename(columns=renames)
    whole = False
    if "scale_out" in frame.columns:
        scale_out = pd.to_numeric(frame["scale_out"], errors="coerce")
        whole = bool(((scale_out > 0) & (scale_out % 1 == 0)).all())
    if fitted.machine_values and "machine_type" in frame.columns and whole:
        check_machine_types(fitted, frame["machine_type"].astype(str).unique())
        missing = sorted(fitted.derived - set(frame.columns))
        for column in missing:
            frame[column] = [
                machine_row(fitted.machine_values[str(mt)], int(s)).get(column)
                for mt, s in zip(frame["machine_type"], frame["scale_out"], strict=True)
            ]
        if missing:
            warnings.append(f"{', '.join(missing)} derived from the machine type and the scale-out")
    elif "machine_type" in frame.columns:
        check_machine_types(fitted, frame["machine_type"].astype(str).unique())
    return input_frame(spec, frame, columns=list(fitted.X.columns), where=where)
