"""Input checking and feature encoding shared by the runtime models."""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import validate_data

from jobcast.errors import InputError
from jobcast.history.values import MAX_NUMBER, number_problem

__all__ = [
    "ColumnSpec",
    "Encoder",
    "check_frame",
    "check_scale_out",
    "check_target",
    "resolve_column",
    "scale_out_column",
]

#: How a column is named in a model parameter: a label of a DataFrame or a position.
ColumnSpec = str | int

#: The column used as scale-out when a model is given ``scale_out=None``.
DEFAULT_SCALE_OUT = "scale_out"


def _numeric_column(values: pd.Series, label: Hashable) -> np.ndarray | None:
    """Return the column as float64, ``None`` if it holds strings, raise on anything else.

    A column of strings (or of strings mixed with numbers) is categorical.
    """
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = values.to_numpy(dtype=object)
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in raw):
            raise InputError(f"Input X contains NaN in column {label!r}; drop or fill it.")
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw):
            out = raw.astype(np.float64)
        else:
            bad = [v for v in raw if not isinstance(v, (str, numbers.Real))]
            if bad:
                raise TypeError(
                    f"Column {label!r} of X: argument must be a string or a number, "
                    f"got {type(bad[0]).__name__} {bad[0]!r}."
                )
            return None
    return _finite(out, label)


def _finite(out: np.ndarray, label: Hashable) -> np.ndarray:
    """``out``, refusing NaN, infinity and numbers beyond ``MAX_NUMBER`` in magnitude.

    Beyond 1e15 (the largest number the history stores) the tree models' float32
    overflows and Ernest's products lose all meaning.
    """
    if not np.all(np.isfinite(out)):
        kind = "NaN" if np.isnan(out).any() else "infinity"
        raise InputError(
            f"Input X contains {kind} in column {label!r}; every context attribute must be "
            "a finite number or a string."
        )
    too_large = np.abs(out) > MAX_NUMBER
    if too_large.any():
        raise InputError(
            f"Input X holds {out[too_large][0]:g} in column {label!r}, beyond the "
            f"{MAX_NUMBER:g} in magnitude that the runtime models take (as the history "
            "stores numbers); give a value within it, or rescale the attribute."
        )
    return out


def check_frame(estimator: Any, X: Any, *, reset: bool) -> pd.DataFrame:
    """Check ``X`` and return it as a DataFrame of float64 and string columns.

    Numeric columns become float64; columns of strings stay strings (the models
    one-hot encode them). Plain arrays get the integer positions as column labels.
    Feature names and counts are recorded (``reset=True``) or compared with
    those seen in ``fit`` through :func:`sklearn.utils.validation.validate_data`.

    Parameters
    ----------
    estimator
        The estimator being fitted or used.
    X
        DataFrame, array-like or list of rows.
    reset
        True in ``fit``; False in ``predict``.

    Returns
    -------
    pandas.DataFrame
        A new frame with a fresh ``RangeIndex``.

    Raises
    ------
    TypeError
        If ``X`` is sparse or holds values that are neither numbers nor strings.
    jobcast.errors.InputError
        If ``X`` is empty, not two-dimensional, or holds NaN, infinity or a number
        beyond :data:`MAX_NUMBER` in magnitude (the history's limit, 1e15).
    """
    if sparse.issparse(X):
        raise TypeError(
            "Sparse input is not supported by jobcast's runtime models; pass a dense array "
            "or a DataFrame (X.toarray())."
        )
    if isinstance(X, pd.DataFrame):
        frame = X
        if frame.shape[0] == 0:
            raise InputError("Found array with 0 sample(s); at least one execution is needed.")
        if frame.shape[1] == 0:
            raise InputError("Found array with 0 feature(s); X needs at least the scale-out.")
    else:
        array = check_array(
            X,
            dtype=None,
            ensure_all_finite=False,
            ensure_min_samples=1,
            ensure_min_features=1,
            input_name="X",
        )
        if np.iscomplexobj(array):
            raise InputError("Complex data not supported; X must hold real numbers or strings.")
        frame = pd.DataFrame(array)
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    columns: dict[Hashable, Any] = {}
    for position, label in enumerate(frame.columns):
        series = frame.iloc[:, position]
        numeric = _numeric_column(series, label)
        columns[label] = (
            numeric if numeric is not None else series.to_numpy(dtype=object).astype(str)
        )
    out = pd.DataFrame(columns, columns=list(frame.columns))
    return out


def check_target(y: Any, n_samples: int, *, positive: bool = True) -> np.ndarray:
    """Check the runtimes ``y`` and return them as a float64 vector.

    Parameters
    ----------
    y
        Runtimes in seconds, one per row of ``X``.
    n_samples
        Number of rows of ``X``.
    positive
        Require every runtime to be > 0 (the models fit relative errors or logs).

    Returns
    -------
    numpy.ndarray
        The runtimes as float64, one per row.

    Raises
    ------
    jobcast.errors.InputError
        If ``y`` is missing, of the wrong length, not finite or not positive.
    """
    if y is None:
        raise InputError(
            "This estimator requires y to be passed, but the target y is None; pass the "
            "runtimes in seconds."
        )
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iuf":
        # fast path for the scale-out models refitted per iteration
        y_arr = y
        if len(y_arr) != n_samples:
            raise InputError(
                f"Found input variables with inconsistent numbers of samples: [{n_samples}, "
                f"{len(y_arr)}]; give one runtime per execution."
            )
    else:
        y_arr = column_or_1d(y, warn=True)
    if not np.issubdtype(y_arr.dtype, np.number) and not np.issubdtype(y_arr.dtype, np.bool_):
        try:
            y_arr = y_arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise InputError("Unknown label type: runtimes y must be numbers of seconds.") from e
    y_arr = np.asarray(y_arr, dtype=np.float64)
    check_consistent_length(np.empty((n_samples, 0)), y_arr)
    if not np.all(np.isfinite(y_arr)):
        raise InputError("Input y contains NaN or infinity; every runtime must be a finite number.")
    if positive and np.any(y_arr <= 0):
        bad = float(y_arr[y_arr <= 0][0])
        raise InputError(
            f"Runtimes must be > 0 seconds, got {bad!r}; drop failed or empty executions."
        )
    return y_arr


def resolve_column(frame: pd.DataFrame, spec: ColumnSpec, *, what: str) -> Hashable:
    """Return the label of the column ``spec`` names (a label, or a position in ``X``).

    Raises
    ------
    jobcast.errors.InputError
        If no such column exists.
    """
    columns = list(frame.columns)
    if spec in columns:
        return spec  # type: ignore[no-any-return]
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        if -len(columns) <= int(spec) < len(columns):
            return columns[int(spec)]  # type: ignore[no-any-return]
    raise InputError(
        f"The {what} column {spec!r} is not in X (columns: {[str(c) for c in columns]}); "
        f"pass the {what} column's name or position."
    )


def scale_out_column(frame: pd.DataFrame, spec: ColumnSpec | None) -> Hashable:
    """Resolve the scale-out column: ``spec``, else ``"scale_out"`` if present, else column 0."""
    if spec is None:
        return DEFAULT_SCALE_OUT if DEFAULT_SCALE_OUT in frame.columns else frame.columns[0]
    return resolve_column(frame, spec, what="scale-out")


def check_scale_out(values: Any, label: Hashable) -> np.ndarray:
    """Check that the scale-outs are numbers in (0, MAX_NUMBER] and return them as float64.

    Scale-outs need not be integers: an average number of executors over a run is
    a valid input to the scale-out models.

    Raises
    ------
    jobcast.errors.InputError
        If a scale-out is not a number, not > 0 or beyond :data:`MAX_NUMBER`.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"Scale-out column {label!r} must be numeric (number of machines), got {arr.dtype}."
        )
    arr = arr.astype(np.float64, copy=False)
    bad = ~(np.isfinite(arr) & (arr > 0) & (arr <= MAX_NUMBER))
    if bad.any():
        raise InputError(
            f"Scale-out column {label!r} holds {arr[bad][0]!r}; scale-outs must be numbers of "
            f"machines > 0 (at most {MAX_NUMBER:g})."
        )
    return arr


@dataclass(frozen=True)
class Encoder:
    """Turns context-attribute columns into a numeric design matrix.

    Numeric columns pass through; string columns are one-hot encoded with the
    categories seen in ``fit`` (an unseen category encodes to all zeros). Columns
    with a single value in the training data carry no information and are dropped,
    so a constant ``machine_type`` never breaks a fit.

    Attributes
    ----------
    numeric
        Labels of the numeric columns kept.
    categorical
        ``(label, categories)`` of the one-hot encoded columns kept.
    """

    numeric: tuple[Hashable, ...]
    categorical: tuple[tuple[Hashable, tuple[str, ...]], ...]

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: Sequence[Hashable]) -> Encoder:
        """Learn which of ``columns`` to keep and the categories of the string columns."""
        numeric: list[Hashable] = []
        categorical: list[tuple[Hashable, tuple[str, ...]]] = []
        for label in columns:
            values = frame[label].to_numpy()
            if values.dtype.kind == "f":
                if np.ptp(values) > 0:
                    numeric.append(label)
            else:
                categories = tuple(sorted(set(values.tolist())))
                if len(categories) > 1:
                    categorical.append((label, categories))
        return cls(tuple(numeric), tuple(categorical))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the encoded matrix, numeric columns first, then the one-hot blocks."""
        parts = []
        for label in self.numeric:
            parts.append(numeric_values(frame, label)[:, None])
        for label, categories in self.categorical:
            values = frame[label].to_numpy()
            if values.dtype.kind == "f":
                values = values.astype(str)
            parts.append(
                (values[:, None] == np.asarray(categories, dtype=object)[None, :]).astype(
                    np.float64
                )
            )
        if not parts:
            return np.empty((len(frame), 0))
        return np.hstack(parts)


def numeric_values(frame: pd.DataFrame, label: Hashable) -> np.ndarray:
    """The column ``label``, numeric in the training data, as float64.

    Raises
    ------
    jobcast.errors.InputError
        Naming the column and the first value that is not a number, or not a finite
        one within ``MAX_NUMBER`` (text such as ``"nan"`` converts to a number).
    """
    try:
        return _finite(frame[label].to_numpy(dtype=np.float64), label)
    except (TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        values = frame[label].tolist()
        bad = next((v for v in values if number_problem(v) is not None), values[0])
        raise InputError(
            f"Context attribute {label!r} must be numeric, as in the training data; got {bad!r}."
        ) from e


def scale_out_only(estimator: Any, X: Any, spec: ColumnSpec | None, *, reset: bool) -> np.ndarray:
    """Check ``X`` and return only its scale-out column, validated, as float64.

    A fast path for the scale-out models (kernel regression, BELL), which are
    refitted many times per second by progress estimation: a numeric ndarray is
    used as it is, without building a DataFrame.

    Raises
    ------
    jobcast.errors.InputError
        If ``X`` is malformed, or the scale-outs are missing, not finite or not > 0.
    """
    if (
        isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype.kind in "biuf"
        and X.shape[0] > 0
        and X.shape[1] > 0
    ):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if spec is None:
            position = 0
        elif isinstance(spec, numbers.Integral) and -X.shape[1] <= int(spec) < X.shape[1]:
            position = int(spec)
        else:
            raise InputError(
                f"The scale-out column {spec!r} is not in X (an array of {X.shape[1]} "
                "columns); pass the scale-out column's position."
            )
        if not np.all(np.isfinite(X)):
            raise InputError("Input X contains NaN or infinity; scale-outs must be finite.")
        return check_scale_out(X[:, position], position)
    frame = check_frame(estimator, X, reset=reset)
    label = scale_out_column(frame, spec)
    return check_scale_out(frame[label].to_numpy(), label)
