"""The context measure: similarity over an execution's other context attributes, by relevance.

Beyond SMiPE's five measures, an execution carries context attributes recorded at its
start (a job's parameters such as an iteration cap, ``k`` or a link degree, the cores,
a data seed). Some fix the number of iterations or their cost, others are noise. The
context measure compares the attributes one by one (numeric ones as ``(min / max) ** 4``
of the values, i.e. on a log scale, sharpened so that an iteration cap of 8 against 12
counts as unlike, :data:`NUMERIC_SHARPNESS`; others equal or not) and averages
them with a **relevance** per attribute learned from the training history alone: how
strongly the attribute orders the executions' number of iterations, total runtime or
typical iteration runtime (the largest ``|Spearman rho|`` over those three), less
``Z / sqrt(E - 1)``, the size a chance correlation over ``E`` executions reaches; so a
seed or a constant gets relevance 0. Without any relevant attribute the measure has no
data and the matching skips it, as it does every measure without data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import erf
from scipy.stats import beta, rankdata

from jobcast.history.records import ITERATION_COLUMNS

__all__ = [
    "NOISE_Z",
    "NUMERIC_SHARPNESS",
    "ContextAttributes",
    "context_attributes",
    "context_relevance",
    "context_similarity",
]

#: Columns of an iteration frame that are not context attributes: the canonical iteration
#: columns, and the input size (a measure of its own).
_NOT_CONTEXT = frozenset({*ITERATION_COLUMNS, "input_size"})

#: Standard errors a rank correlation must exceed to count (about the 5 % level of one
#: test): ``|rho| - NOISE_Z / sqrt(E - 1)`` is an attribute's relevance.
NOISE_Z = 2.0

#: Numeric attributes compare as ``(min / max) ** NUMERIC_SHARPNESS``, i.e.
#: ``exp(-NUMERIC_SHARPNESS |log ratio|)``: with 4, an iteration cap of 8 against 12
#: gives 0.20 (plain ``min / max``: 0.67), so runs of another cap or dataset size count
#: as unlike. Measured on the local PySpark histories (kmeans, pagerank, cc, sgd;
#: docs/progress-accuracy.md): the plain ratio left runs of other caps nearly as similar
#: as runs of the same one.
NUMERIC_SHARPNESS = 4.0


@dataclass(frozen=True, eq=False)
class ContextAttributes:
    """Context attributes per execution, aligned with the rows of an iteration history.

    Attributes
    ----------
    names
        Attribute names.
    values
        Attribute name -> values per execution, shape ``(E,)``: float (NaN where
        unknown) for numeric attributes, object (None where unknown) otherwise.
    """

    names: tuple[str, ...]
    values: dict[str, np.ndarray]

    def subset(self, rows: np.ndarray | slice) -> ContextAttributes:
        """The executions at ``rows`` (indices, boolean mask or slice)."""
        return ContextAttributes(self.names, {k: v[rows] for k, v in self.values.items()})

    def is_numeric(self, name: str) -> bool:
        """Whether attribute ``name`` is compared as a number."""
        return self.values[name].dtype.kind == "f"


def _column(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        out = values.astype(object).to_numpy()
        return np.array([None if pd.isna(v) else v for v in out], dtype=object)
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def context_attributes(
    frame: pd.DataFrame, codes: np.ndarray, n_executions: int
) -> ContextAttributes | None:
    """The context attributes of an iteration frame, one value per execution.

    Parameters
    ----------
    frame
        Iteration frame; every column outside the canonical iteration columns and
        ``input_size`` is a context attribute (the history joins an execution's
        attributes to each of its iterations).
    codes
        Row of each frame row's execution, shape ``(len(frame),)``.
    n_executions
        Number of executions ``E``.

    Returns
    -------
    ContextAttributes or None
        The first known value of each execution per attribute; None when the frame
        has no attribute with a known value.
    """
    names = [c for c in frame.columns if isinstance(c, str) and c not in _NOT_CONTEXT]
    values: dict[str, np.ndarray] = {}
    for name in names:
        column = frame[name]
        known = column.notna().to_numpy()
        if not known.any():
            continue
        per_row = _column(column)
        first = np.full(n_executions, -1, dtype=np.int64)
        rows = np.flatnonzero(known)[::-1]  # last write wins: reversed, the first row
        first[codes[rows]] = rows
        if per_row.dtype.kind == "f":
            out: np.ndarray = np.full(n_executions, np.nan)
        else:
            out = np.full(n_executions, None, dtype=object)
        has = first >= 0
        out[has] = per_row[first[has]]
        values[name] = out
    if not values:
        return None
    return ContextAttributes(tuple(values), values)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """``|rho|`` of the pairs where both are known; 0 for fewer than 3 or a constant side."""
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return 0.0
    rx, ry = rankdata(x[keep]), rankdata(y[keep])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    norm = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return 0.0 if norm <= 0 else abs(float((rx * ry).sum()) / norm)


def _correlation_ratio(groups: np.ndarray, y: np.ndarray, z: float) -> float:
    """``eta`` of the ranks of ``y`` by category, less what chance reaches at ``z`` errors.

    By chance, ``eta^2`` over ``k`` categories and ``n`` values follows
    ``Beta((k - 1) / 2, (n - k) / 2)``; its quantile at the two-sided level of ``z``
    standard errors is subtracted (for ``k = 2`` about ``z / sqrt(n - 1)``, as for a
    rank correlation), so more categories need a stronger split.
    """
    keep = np.array([g is not None for g in groups]) & np.isfinite(y)
    n = int(keep.sum())
    if n < 3:
        return 0.0
    _, codes = np.unique(groups[keep].astype(str), return_inverse=True)
    k = int(codes.max()) + 1
    if k < 2 or k >= n:
        return 0.0
    r = rankdata(y[keep])
    r = r - r.mean()
    total = float((r * r).sum())
    if total <= 0:
        return 0.0
    sums = np.bincount(codes, weights=r)
    counts = np.bincount(codes)
    eta2 = float((sums * sums / counts).sum()) / total
    chance = float(beta.ppf(erf(z / np.sqrt(2.0)), (k - 1) / 2.0, (n - k) / 2.0))
    return max(0.0, float(np.sqrt(eta2) - np.sqrt(chance)))


def context_relevance(
    context: ContextAttributes,
    targets: Iterable[np.ndarray],
    *,
    z: float = NOISE_Z,
) -> np.ndarray:
    """Relevance of each attribute: how far it orders the executions beyond chance.

    Parameters
    ----------
    context
        The training executions' attributes.
    targets
        Per-execution quantities the attributes should explain, each shape ``(E,)``
        (for example the number of iterations and the log total runtime).
    z
        Standard errors of a chance correlation to subtract.

    Returns
    -------
    numpy.ndarray
        Shape ``(A,)`` in the order of ``context.names``, each in ``[0, 1]``:
        ``max(0, max_t |rho_t| - z / sqrt(E - 1))`` with the Spearman correlation for
        numeric attributes; for the others the rank correlation ratio ``eta`` less its
        chance level at ``z`` standard errors.

    Examples
    --------
    >>> values = {"cap": np.array([5.0, 5, 6, 6, 7, 7, 5, 6, 7, 5, 6, 7]),
    ...           "seed": np.arange(12.0) % 5}
    >>> ctx = ContextAttributes(("cap", "seed"), values)
    >>> n_iter = values["cap"].copy()
    >>> context_relevance(ctx, [n_iter]).round(2).tolist()
    [0.4, 0.0]
    """
    targets = [np.asarray(t, dtype=np.float64) for t in targets]
    out = np.zeros(len(context.names))
    for a, name in enumerate(context.names):
        x = context.values[name]
        n = int(np.isfinite(x).sum()) if context.is_numeric(name) else int(
            sum(v is not None for v in x)
        )
        if n < 3:
            continue
        if context.is_numeric(name):
            best = max((_spearman(x, t) for t in targets), default=0.0)
            out[a] = max(0.0, best - z / np.sqrt(n - 1))
        else:
            out[a] = max((_correlation_ratio(x, t, z) for t in targets), default=0.0)
    return out


def _attribute_similarity(current: object, history: np.ndarray, numeric: bool) -> np.ndarray:
    if numeric:
        c = float(current)  # type: ignore[arg-type]
        h = history.astype(np.float64)
        if not np.isfinite(c):
            return np.full(h.shape, np.nan)
        if c > 0 and np.nanmin(h, initial=np.inf) > 0:
            hi = np.maximum(c, h)
            return np.asarray((np.minimum(c, h) / hi) ** NUMERIC_SHARPNESS, dtype=np.float64)
        # zero or negative values: distance relative to the history's range
        span = float(np.nanmax(h, initial=c) - np.nanmin(h, initial=c))
        if span <= 0:
            return np.where(np.isnan(h), np.nan, 1.0)
        return np.clip(1.0 - np.abs(h - c) / span, 0.0, 1.0) ** NUMERIC_SHARPNESS
    if current is None:
        return np.full(history.shape, np.nan)
    known = np.array([v is not None for v in history])
    same = np.array([v == current for v in history], dtype=np.float64)
    return np.where(known, same, np.nan)


def context_similarity(
    current: ContextAttributes,
    history: ContextAttributes,
    relevance: np.ndarray,
) -> np.ndarray | None:
    """Relevance-weighted mean over the attributes of the per-attribute similarity.

    Parameters
    ----------
    current
        The running execution's attributes (one row).
    history
        The candidates' attributes, ``E`` rows.
    relevance
        Per attribute of ``history`` (:func:`context_relevance`).

    Returns
    -------
    numpy.ndarray or None
        Shape ``(E,)``, in ``[0, 1]``, NaN for a candidate sharing no relevant known
        attribute; None when no relevant attribute of the history is known for the
        running execution (the measure is then skipped).
    """
    parts = []
    weights = []
    for a, name in enumerate(history.names):
        if relevance[a] <= 0 or name not in current.values:
            continue
        value = current.values[name][0]
        numeric = history.is_numeric(name)
        if numeric != current.is_numeric(name):
            continue
        if (value is None) if not numeric else not np.isfinite(value):
            continue
        parts.append(_attribute_similarity(value, history.values[name], numeric))
        weights.append(relevance[a])
    if not parts:
        return None
    sims = np.vstack(parts)
    w = np.asarray(weights)[:, None] * ~np.isnan(sims)
    norm = w.sum(axis=0)
    total = (np.nan_to_num(sims) * w).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, total / np.where(norm > 0, norm, 1.0), np.nan)


def relevance_targets(runtime: np.ndarray, n_iter: np.ndarray) -> list[np.ndarray]:
    """What an attribute should explain per execution: iterations, log total, log median runtime.

    ``runtime`` is the padded ``(E, N)`` iteration runtimes (NaN padded), ``n_iter`` the
    iterations per execution.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.log(np.nansum(runtime, axis=1))
        typical = np.log(np.nanmedian(np.where(np.isnan(runtime), np.nan, runtime), axis=1))
    return [np.asarray(n_iter, dtype=np.float64), total, typical]
