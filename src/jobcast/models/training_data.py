"""Feature frames for the runtime models from the job history's executions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.history.records import JobSpec

__all__ = ["feature_columns", "training_set", "query_frame", "input_frame"]


def feature_columns(spec: JobSpec, executions: pd.DataFrame | None = None) -> list[str]:
    """The model features of a job: scale-out, machine type (when recorded), attributes."""
    cols = ["scale_out"]
    if executions is None or (
        "machine_type" in executions.columns and executions["machine_type"].notna().any()
    ):
        if spec.machine_type_column is not None:
            cols.append("machine_type")
    return cols + list(spec.attribute_names)


def training_set(
    spec: JobSpec, executions: pd.DataFrame, *, min_scale_out: int | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features ``X`` and runtimes ``y`` (seconds) of the completed executions.

    Parameters
    ----------
    spec
        The job.
    executions
        The job's executions, as :meth:`HistoryRepository.executions` returns them.
    min_scale_out
        Leave out executions with a smaller scale-out (the privacy paper drops
        ``instance_count <= 2`` for memory-bound k-means and linear regression).

    Raises
    ------
    NotEnoughDataError
        When no execution with a runtime and a scale-out is left.
    """
    frame = executions[executions["gross_runtime"].notna() & executions["scale_out"].notna()]
    if min_scale_out is not None:
        frame = frame[frame["scale_out"] >= min_scale_out]
    if frame.empty:
        raise NotEnoughDataError(
            f"job {spec.name!r} has no completed executions with a scale-out"
            + (f" >= {min_scale_out}" if min_scale_out is not None else "")
            + "; import some with `jobcast import`"
        )
    cols = feature_columns(spec, frame)
    X = frame[cols].reset_index(drop=True)
    X["scale_out"] = X["scale_out"].astype("int64")
    return X, frame["gross_runtime"].to_numpy(dtype=float)


def _check_names(spec: JobSpec, given: Sequence[str], *, where: str) -> None:
    known = set(spec.attribute_names)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise InputError(
            f"{where}: job {spec.name!r} has no context attribute {unknown[0]!r}; "
            f"its attributes are: {', '.join(spec.attribute_names) or '(none)'}"
        )
    missing = [a for a in spec.attribute_names if a not in set(given)]
    if missing:
        raise InputError(
            f"{where}: the context attribute {missing[0]!r} is missing; give every one of "
            f"{', '.join(spec.attribute_names)}"
        )


def query_frame(
    spec: JobSpec,
    settings: Mapping[str, Any],
    scale_outs: Sequence[int],
    *,
    machine_type: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per scale-out with the given attribute values (``--set``/``--scale-out``)."""
    _check_names(spec, list(settings), where="--set")
    cols = list(columns) if columns is not None else feature_columns(spec)
    rows = []
    for m in scale_outs:
        row: dict[str, Any] = {"scale_out": int(m)}
        if "machine_type" in cols:
            if machine_type is None:
                raise InputError(
                    f"job {spec.name!r} has several machine types; choose one with --machine-type"
                )
            row["machine_type"] = machine_type
        row.update(settings)
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def input_frame(
    spec: JobSpec, frame: pd.DataFrame, *, columns: Sequence[str], where: str
) -> pd.DataFrame:
    """Validate an ``--input`` table of query rows and return it in feature order.

    The scale-out may be called ``scale_out`` or by the trace's own name (for example
    ``instance_count``); a runtime column is ignored, so a held-out split can be passed
    as it is.
    """
    renames = {}
    for canonical, original in (
        ("scale_out", spec.scale_out_column),
        ("machine_type", spec.machine_type_column),
    ):
        if original and original in frame.columns and canonical not in frame.columns:
            renames[original] = canonical
    frame = frame.rename(columns=renames)
    ignore = {"scale_out", "machine_type", "gross_runtime"}
    if spec.runtime_column:
        ignore.add(spec.runtime_column)
    _check_names(spec, [c for c in frame.columns if c not in ignore], where=where)
    if "scale_out" not in frame.columns:
        raise InputError(f"{where}: a 'scale_out' column (number of machines) is needed")
    so = pd.to_numeric(frame["scale_out"], errors="coerce")
    bad = so.isna() | (so <= 0) | (so % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{where}, line {i + 2}: scale_out {frame['scale_out'].iloc[i]!r} is not a "
            "positive whole number"
        )
    frame = frame.assign(scale_out=so.astype("int64"))
    if "machine_type" in columns and "machine_type" not in frame.columns:
        raise InputError(f"{where}: a 'machine_type' column is needed for job {spec.name!r}")
    return frame[list(columns)].reset_index(drop=True)


def held_out_errors(
    estimator: Any, X: pd.DataFrame, y: np.ndarray, *, random_state: int | None = 0
) -> np.ndarray:
    """Relative errors ``runtime / prediction - 1`` of ``estimator`` on held-out rows.

    For models other than ``auto`` (which keeps its own ``cv_errors_``): the
    cross-validation of :func:`jobcast.models.selection.cv_splits`, used by the
    configurator for confidence bounds.
    """
    from jobcast.models.selection import cross_val_errors, cv_splits

    cv = getattr(estimator, "cv_errors_", None)
    if cv is not None:
        return np.asarray(cv, dtype=float)
    truth, predicted = cross_val_errors(
        estimator, X, y, cv_splits(len(y), random_state=random_state)
    )
    if len(truth) == 0:
        raise NotEnoughDataError("at least two executions are needed to estimate model errors")
    return truth / predicted - 1.0
