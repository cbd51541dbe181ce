"""Feature frames for the runtime models from the job history's executions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import ImportFormatError, InputError, NotEnoughDataError
from jobcast.history.records import JobSpec
from jobcast.history.values import MAX_NUMBER, MAX_SCALE_OUT, number_problem
from jobcast.models.machines import MachineAttribute, machine_row

__all__ = [
    "check_predictions",
    "feature_columns",
    "input_frame",
    "numeric_attributes",
    "query_frame",
    "TrainingSet",
    "training_set",
]


def feature_columns(spec: JobSpec, executions: pd.DataFrame | None = None) -> list[str]:
    """The model features of a job: scale-out, machine type (when recorded), attributes."""
    cols = ["scale_out"]
    if executions is None or (
        "machine_type" in executions.columns and executions["machine_type"].notna().any()
    ):
        if spec.machine_type_column is not None:
            cols.append("machine_type")
    return cols + list(spec.attribute_names)


@dataclass(frozen=True)
class TrainingSet:
    """A job's training features and runtimes, and the executions left out for a missing value.

    Attributes
    ----------
    X
        Features: scale-out, machine type (when recorded), context attributes.
    y
        Runtimes in seconds, one per row of ``X``.
    left_out
        ``(feature, count)``: how many completed executions had no value of each feature
        (an execution without several counts for each); they are not in ``X``.
    n_left_out
        Completed executions left out for a missing value.
    """

    X: pd.DataFrame
    y: np.ndarray
    left_out: tuple[tuple[str, int], ...] = ()
    n_left_out: int = 0

    def warnings(self, job: str) -> list[str]:
        """One sentence saying which executions of ``job`` training left out, if any."""
        if not self.n_left_out:
            return []
        total = self.n_left_out + len(self.y)
        return [
            f"{self.n_left_out} of the {total} completed executions of job {job!r} "
            f"{'was' if self.n_left_out == 1 else 'were'} left out of training: "
            f"{_missing(self.left_out)}; report every context attribute with each run "
            "(`jobcast watch --set KEY=VALUE`, `jobcast import eventlog --set KEY=VALUE`, the "
            "params of a report to the collector's /api/v1/collector/executions) so that "
            "such runs count"
        ]


def _missing(left_out: Sequence[tuple[str, int]]) -> str:
    return "; ".join(
        f"{n} {'has' if n == 1 else 'have'} no value of {name!r}" for name, n in left_out
    )


def training_set(
    spec: JobSpec, executions: pd.DataFrame, *, min_scale_out: int | None = None
) -> TrainingSet:
    """Features ``X`` and runtimes ``y`` (seconds) of the completed executions.

    An execution without a value of some feature (a context attribute, or the machine
    type where others record one: a live run reported without it) is left out, and
    counted in :attr:`TrainingSet.left_out`.

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
        When no execution with a runtime and a scale-out is left, or none of them has a
        value of every feature.
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
    absent = frame[cols].isna()
    left_out = tuple((str(c), int(absent[c].sum())) for c in cols if absent[c].any())
    complete = ~absent.any(axis=1)
    if not complete.any():
        raise NotEnoughDataError(
            f"none of the {len(frame)} completed executions of job {spec.name!r} has a value "
            f"of every context attribute ({_missing(left_out)}), so there is nothing to "
            "train on; import or report executions with every attribute"
        )
    frame = frame[complete]
    X = frame[cols].reset_index(drop=True)
    X["scale_out"] = X["scale_out"].astype("int64")
    y = frame["gross_runtime"].to_numpy(dtype=float)
    return TrainingSet(X, y, left_out, int((~complete).sum()))


def numeric_attributes(X: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The numeric attributes of training features ``X``, each with its smallest and largest value.

    The scale-out and the machine type are left out.
    """
    return {
        str(c): (float(X[c].min()), float(X[c].max()))
        for c in X.columns
        if c not in ("scale_out", "machine_type") and pd.api.types.is_numeric_dtype(X[c])
    }


def _check_names(
    spec: JobSpec, given: Sequence[str], *, where: str, derived: Collection[str] = ()
) -> None:
    known = set(spec.attribute_names)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise InputError(
            f"{where}: job {spec.name!r} has no context attribute {unknown[0]!r}; "
            f"its attributes are: {', '.join(spec.attribute_names) or '(none)'}"
        )
    missing = [a for a in spec.attribute_names if a not in set(given)]
    if missing:
        needed = [a for a in spec.attribute_names if a not in set(derived)]
        follow = [a for a in spec.attribute_names if a in set(derived)]
        raise InputError(
            f"{where}: the context attribute {missing[0]!r} is missing; give every one of "
            f"{', '.join(needed)}"
            + (
                f" ({' and '.join(follow)} follow{'s' if len(follow) == 1 else ''} from the "
                "machine type and the scale-out)"
                if follow
                else ""
            )
        )


def _error(
    where: str, lines: Sequence[int] | None, i: int, column: str | None, message: str
) -> InputError:
    """An error naming the file's line (``lines``: each row's) or else the row, and the column."""
    if lines is not None:
        return ImportFormatError(where, message, line=int(lines[i]), column=column)
    at = f"{where}, row {i + 1}" + (f", column {column!r}" if column is not None else "")
    return InputError(f"{at}: {message}")


def _number_problem(value: Any, history: tuple[float, float]) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    problem = number_problem(value) or f"{value!r} is not a number"
    lo, hi = history
    held = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
    return f"{problem}; give a number (the history holds {held})"


def query_frame(
    spec: JobSpec,
    settings: Mapping[str, Any],
    scale_outs: Sequence[int],
    *,
    machine_type: str | None = None,
    columns: Sequence[str] | None = None,
    derived: Collection[str] = (),
    numeric: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """One row per scale-out with the given attribute values (``--set``/``--scale-out``).

    ``derived`` names the attributes that follow from the machine type (left out of the
    list of what to give); ``numeric`` (see :func:`numeric_attributes`) names the numeric
    attributes: each must be a finite number within ±``MAX_NUMBER`` (1e15).

    Raises
    ------
    jobcast.errors.InputError
        On an unknown or missing attribute, or a numeric one that is not such a number.
    """
    _check_names(spec, list(settings), where="--set", derived=derived)
    values = dict(settings)
    for name, history in (numeric or {}).items():
        if name in values:
            x = values[name]
            if number_problem(x) is not None:
                raise InputError(f"--set {name}={x}: {_number_problem(x, history)}")
            values[name] = float(x)
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
        row.update(values)
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def input_frame(
    spec: JobSpec,
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    where: str,
    lines: Sequence[int] | None = None,
    numeric: Mapping[str, tuple[float, float]] | None = None,
    machine_values: Mapping[str, Mapping[str, MachineAttribute]] | None = None,
) -> pd.DataFrame:
    """Validate an ``--input`` table of query rows and return it in feature order.

    The scale-out may be called ``scale_out`` or by the trace's own name (for example
    ``instance_count``); a runtime column is ignored, so a held-out split can be passed
    as it is. Attributes that the machine type fixes (``machine_values``, per machine
    type; see :func:`jobcast.models.machine_attributes`) are derived when left out.

    Parameters
    ----------
    spec, frame
        The job and its query rows.
    columns
        The model's features, in order.
    where, lines
        The rows' origin (e.g. a file) and each row's line in it, for error messages
        (without ``lines``, rows are counted from 1).
    numeric
        The numeric attributes (see :func:`numeric_attributes`): their cells must be
        finite numbers within ±``MAX_NUMBER`` (1e15).
    machine_values
        Per machine type of the history, the attributes it fixes.

    Raises
    ------
    jobcast.errors.InputError
        Naming the line (or row) and column of a bad value; on a missing or unknown
        column. With ``lines``, an :class:`~jobcast.errors.ImportFormatError`.
    """
    renames = {}
    for canonical, original in (
        ("scale_out", spec.scale_out_column),
        ("machine_type", spec.machine_type_column),
    ):
        if original and original in frame.columns and canonical not in frame.columns:
            renames[original] = canonical
    frame = frame.rename(columns=renames).reset_index(drop=True)
    name = {canonical: original for original, canonical in renames.items()}
    if "scale_out" not in frame.columns:
        also = f" or {spec.scale_out_column!r}" if spec.scale_out_column else ""
        raise InputError(f"{where}: a 'scale_out'{also} column (number of machines) is needed")
    so = pd.to_numeric(frame["scale_out"], errors="coerce")
    bad = so.isna() | (so <= 0) | (so % 1 != 0) | (so > MAX_SCALE_OUT)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _error(
            where,
            lines,
            i,
            name.get("scale_out", "scale_out"),
            f"scale-out {frame['scale_out'].iloc[i]!r} is not a whole number of machines "
            f"within 1 .. {MAX_SCALE_OUT}; fix the value",
        )
    frame = frame.assign(scale_out=so.astype("int64"))
    frame = _machine_columns(spec, frame, columns, where, lines, name, machine_values or {})
    ignore = {"scale_out", "machine_type", "gross_runtime"}
    if spec.runtime_column:
        ignore.add(spec.runtime_column)
    derived = {k for values in (machine_values or {}).values() for k in values}
    _check_names(spec, [c for c in frame.columns if c not in ignore], where=where, derived=derived)
    for column, history in (numeric or {}).items():
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(values) & (np.abs(values) <= MAX_NUMBER)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            cell = frame[column].iloc[i]
            raise _error(where, lines, i, column, _number_problem(cell, history))
        frame[column] = values
    return frame[list(columns)]


def _machine_columns(
    spec: JobSpec,
    frame: pd.DataFrame,
    columns: Sequence[str],
    where: str,
    lines: Sequence[int] | None,
    name: Mapping[str, str],
    machine_values: Mapping[str, Mapping[str, MachineAttribute]],
) -> pd.DataFrame:
    """Check the machine-type column and derive the attributes it fixes where left out."""
    column = name.get("machine_type", "machine_type")
    if "machine_type" not in columns:
        if "machine_type" in frame.columns:
            raise InputError(
                f"{where}, column {column!r}: job {spec.name!r} records no machine types; "
                "remove the column"
            )
        return frame
    if "machine_type" not in frame.columns:
        raise InputError(
            f"{where}: a {column!r} column is needed for job {spec.name!r} "
            f"(its history holds {', '.join(machine_values) or 'several machine types'})"
        )
    types = frame["machine_type"].astype(str)
    unknown = ~types.isin(list(machine_values))
    if machine_values and unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise _error(
            where,
            lines,
            i,
            column,
            f"unknown machine type {types.iloc[i]!r}: the history of job {spec.name!r} holds "
            f"{', '.join(machine_values)}; the model cannot predict a machine type it never saw",
        )
    for k in sorted({k for values in machine_values.values() for k in values}):
        if k not in frame.columns:
            frame[k] = [
                machine_row(machine_values[str(mt)], int(s)).get(k)
                for mt, s in zip(types.tolist(), frame["scale_out"].tolist(), strict=True)
            ]
    return frame


def _shown(value: Any) -> str:
    if not isinstance(value, (float, np.floating)):
        return str(value)
    x = float(value)
    return f"{x:.0f}" if x.is_integer() and abs(x) < 1e18 else f"{x:g}"


def check_predictions(
    predictions: np.ndarray,
    query: pd.DataFrame,
    *,
    where: str = "query",
    lines: Sequence[int] | None = None,
) -> np.ndarray:
    """``predictions`` as float64, refusing one that is not a finite number.

    A model extrapolating far beyond its history can overflow (Ernest's size term, an
    exponentiated log-runtime); a null prediction must not pass for an answer.

    Raises
    ------
    jobcast.errors.InputError
        Naming the query row (its line with ``lines``) and its values.
    """
    out = np.asarray(predictions, dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = ", ".join(f"{c}={_shown(query[c].iloc[i])}" for c in query.columns)
        raise _error(
            where,
            lines,
            i,
            None,
            f"the predicted runtime ({row}) is not a finite number ({out[i]}): the query "
            "lies too far outside the history for this model; give values nearer the "
            "history's, or choose another --model",
        )
    return out


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
