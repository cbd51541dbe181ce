"""Per-iteration scale-out models, tabulated so runtimes convert between scale-outs by lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from jobcast.errors import InputError
from jobcast.models import BellModel
from jobcast.models.ernest import ernest_features, fit_nnls

__all__ = [
    "SCALE_OUT_MODELS",
    "ScaleOutModelKind",
    "ScaleOutTable",
    "check_scale_out_model",
    "fit_scale_out_table",
]

ScaleOutModelKind = Literal["bell", "ernest", "none"]

#: The values of ``scale_out_model`` (:func:`fit_scale_out_table`'s ``kind``).
SCALE_OUT_MODELS: tuple[str, ...] = get_args(ScaleOutModelKind)


def check_scale_out_model(kind: object) -> None:
    """Refuse a ``scale_out_model`` that is none of :data:`SCALE_OUT_MODELS`."""
    if kind not in SCALE_OUT_MODELS:
        raise InputError(f"scale_out_model must be one of {SCALE_OUT_MODELS}, got {kind!r}.")

# A model's prediction never falls below this share of the iteration's mean runtime;
# a zero would make the conversion factor infinite.
_FLOOR = 1e-3


@dataclass(frozen=True, eq=False)
class ScaleOutTable:
    """Predicted runtime of every iteration at every scale-out ``1..max_scale_out``.

    Attributes
    ----------
    table
        Shape ``(N, S + 1)``: ``table[j, s]`` is iteration ``j``'s modelled runtime on
        ``s`` executors (column 0 is unused).
    kind
        The model behind the table.
    """

    table: np.ndarray
    kind: ScaleOutModelKind

    @property
    def max_scale_out(self) -> int:
        """Largest tabulated scale-out."""
        return int(self.table.shape[1] - 1)

    def powered(self, strength: float) -> ScaleOutTable:
        """The table raised to ``strength``: conversions ``(t[j, a] / t[j, b]) ** strength``.

        Runtimes are only ever converted by ratios of the table (``base = runtime /
        t[j, s_ran]``, then ``base * t[j, s_now]``), so powering the table damps
        every conversion geometrically; strength 0 converts nothing.

        Examples
        --------
        >>> t = ScaleOutTable(table=np.array([[4.0, 4.0, 1.0]]), kind="ernest")
        >>> t.powered(0.5).table.tolist()
        [[2.0, 2.0, 1.0]]
        """
        if not 0.0 <= strength <= 1.0:
            raise InputError(f"strength must lie in [0, 1], got {strength}.")
        if strength == 1.0:
            return self
        return ScaleOutTable(table=np.power(self.table, strength), kind=self.kind)

    def lookup(self, iterations: np.ndarray, scale_out: np.ndarray) -> np.ndarray:
        """Modelled runtimes at (iteration, scale-out) pairs; NaN scale-outs give NaN.

        Scale-outs above the tabulated range are clipped to the largest one; the
        table is built up to twice the largest scale-out of the history.
        """
        s = np.asarray(scale_out, dtype=np.float64)
        if s.ndim == 0 and np.isfinite(s) and isinstance(iterations, np.ndarray):
            # one scale-out for a run of iterations: a plain column gather
            column = int(np.clip(s, 1, self.max_scale_out))
            return np.asarray(self.table[:, column][iterations])
        valid = np.isfinite(s)
        idx = np.where(valid, np.clip(s, 1, self.max_scale_out), 1).astype(np.int64)
        rows, idx, valid = np.broadcast_arrays(np.asarray(iterations), idx, valid)
        return np.where(valid, self.table[rows, idx], np.nan)


def _fit_iteration(
    scale: np.ndarray, runtime: np.ndarray, grid: np.ndarray, kind: ScaleOutModelKind
) -> np.ndarray:
    ok = np.isfinite(scale) & np.isfinite(runtime)
    if not ok.any():
        return np.ones(len(grid))
    s, y = scale[ok], runtime[ok]
    mean = float(y.mean())
    if kind == "none" or np.unique(s).size == 1:
        pred = np.full(len(grid), mean)
    elif kind == "bell":
        pred = BellModel().fit(s[:, None], y).predict(grid[:, None].astype(np.float64))
    else:
        points, inverse = np.unique(s, return_inverse=True)
        counts = np.bincount(inverse)
        means = np.bincount(inverse, weights=y) / counts
        theta = fit_nnls(ernest_features(points), means, weights=counts)
        pred = ernest_features(grid.astype(np.float64)) @ theta
    return np.maximum(np.nan_to_num(pred, nan=mean), _FLOOR * mean)


def fit_scale_out_table(
    runtime: np.ndarray,
    scale_out: np.ndarray,
    *,
    kind: ScaleOutModelKind = "bell",
    max_scale_out: int | None = None,
    rows: np.ndarray | None = None,
) -> ScaleOutTable:
    """Fit one scale-out model per iteration on that iteration's runtimes across the history.

    Because each iteration is modelled with the scale-out it actually ran on,
    executions whose scale-out changed mid-run contribute correctly.

    Parameters
    ----------
    runtime, scale_out
        Padded arrays ``(E, N)`` of the history.
    kind
        ``"bell"`` (BELL's choice of Ernest or kernel regression, the paper's model),
        ``"ernest"`` (Ernest's NNLS only, faster) or ``"none"`` (no adjustment).
    max_scale_out
        Largest scale-out to tabulate; default twice the history's largest.
    rows
        Executions to train on (indices or mask); default all.

    Returns
    -------
    ScaleOutTable

    References
    ----------
    Thamsen et al.: "Selecting Resources for Distributed Dataflow Systems According
    to Runtime Targets", IPCCC 2016 (BELL).
    """
    check_scale_out_model(kind)
    if rows is not None:
        runtime, scale_out = runtime[rows], scale_out[rows]
    finite = scale_out[np.isfinite(scale_out)]
    top = int(max_scale_out or (2 * int(finite.max()) if finite.size else 1))
    grid = np.arange(1, top + 1)
    n_cols = runtime.shape[1]
    table = np.ones((n_cols, top + 1))
    for j in range(n_cols):
        table[j, 1:] = _fit_iteration(scale_out[:, j], runtime[:, j], grid, kind)
    table[:, 0] = table[:, 1]
    return ScaleOutTable(table=table, kind=kind)
