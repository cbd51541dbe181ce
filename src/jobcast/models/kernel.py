"""Nadaraya-Watson kernel regression of runtime on scale-out, bandwidth by leave-one-out."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import RuntimeRegressor
from jobcast.models._data import ColumnSpec, check_target, scale_out_only

__all__ = [
    "KernelRegression",
    "bandwidth_candidates",
    "group_scale_outs",
    "loo_bandwidth",
    "nadaraya_watson",
]


def group_scale_outs(
    scale_out: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct scale-outs, the mean runtime and the number of runs at each."""
    values, inverse, counts = np.unique(scale_out, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y) / counts
    return values, means, counts.astype(np.float64)


def bandwidth_candidates(points: np.ndarray, n: int) -> np.ndarray:
    """Return ``n`` bandwidths, log-spaced from a quarter of the smallest gap to twice the range.

    The smallest bandwidth reproduces nearest-neighbour interpolation, the largest
    the mean runtime; the candidates cover everything in between.
    """
    if len(points) < 2:
        return np.ones(1)
    gaps = np.diff(np.sort(points))
    low = 0.25 * float(gaps[gaps > 0].min())
    high = 2.0 * float(np.ptp(points))
    return np.exp(np.linspace(np.log(low), np.log(high), max(int(n), 1)))


def _log_weights(x: np.ndarray, points: np.ndarray, bandwidth: np.ndarray) -> np.ndarray:
    """Log Gaussian weights, shape ``(len(bandwidth), len(x), len(points))``."""
    d = x[None, :, None] - points[None, None, :]
    return -0.5 * (d / bandwidth[:, None, None]) ** 2


def _normalised(log_w: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Kernel weights normalised over the last axis; ``-inf`` log-weights drop a point."""
    # subtracting the row maximum keeps far-away queries with a tiny bandwidth at
    # their nearest neighbour's value instead of 0/0
    w = np.exp(log_w - log_w.max(axis=-1, keepdims=True)) * counts
    return w / w.sum(axis=-1, keepdims=True)


def nested_loo_predictions(
    points: np.ndarray,
    means: np.ndarray,
    counts: np.ndarray,
    candidates: np.ndarray,
    held_out: np.ndarray,
) -> np.ndarray:
    """Kernel predictions at each held-out scale-out, bandwidth chosen without it.

    For every index ``i`` in ``held_out`` the bandwidth is chosen by leave-one-out
    on the other scale-outs only (as :func:`loo_bandwidth` would on them), then the
    mean runtime at ``points[i]`` is predicted from them. All folds and
    bandwidths are evaluated at once with array operations.

    Returns
    -------
    numpy.ndarray
        One prediction per entry of ``held_out``.
    """
    k = len(points)
    log_w = _log_weights(points, points, candidates)  # (h, j, l)
    eye = np.eye(k, dtype=bool)
    log_w[:, eye] = -np.inf
    # Leaving a fold's point i out of the kernel sums at query j is a subtraction,
    # except when i carries the largest weight at j: then the other weights may
    # all have underflowed relative to it, so those sums are kept separately,
    # normalised by the second-largest weight.
    order = np.argsort(log_w, axis=-1)
    top = order[..., -1]  # (h, j)
    first = np.take_along_axis(log_w, top[..., None], axis=-1)
    second = np.take_along_axis(log_w, order[..., -2:-1], axis=-1)
    w1 = np.exp(log_w - first) * counts  # (h, j, l)
    with np.errstate(over="ignore"):
        w2 = np.exp(log_w - second) * counts
    np.put_along_axis(w2, top[..., None], 0.0, axis=-1)
    num1, den1 = w1 @ means, w1.sum(axis=-1)  # (h, j)
    num2, den2 = w2 @ means, w2.sum(axis=-1)
    wi = np.moveaxis(w1[:, :, held_out], 2, 1)  # (h, f, j): weight of fold point at j
    with np.errstate(divide="ignore", invalid="ignore"):  # those entries are replaced
        without = (num1[:, None, :] - wi * means[held_out][None, :, None]) / (den1[:, None, :] - wi)
    is_top = top[:, None, :] == held_out[None, :, None]
    predictions = np.where(is_top, (num2 / den2)[:, None, :], without)  # (h, f, j)
    f = len(held_out)
    weight = np.broadcast_to(counts / means, (f, k)).copy()
    weight[np.arange(f), held_out] = 0.0
    errors = np.einsum("hfj,fj->hf", np.abs(predictions - means), weight)
    # ties go to the largest bandwidth, the smoothest estimate
    best = len(candidates) - 1 - np.argmin(errors[::-1], axis=0)
    return np.asarray(_normalised(log_w[best, held_out, :], counts) @ means, dtype=np.float64)


def nadaraya_watson(
    x: np.ndarray,
    points: np.ndarray,
    means: np.ndarray,
    counts: np.ndarray,
    bandwidth: float,
) -> np.ndarray:
    """Gaussian-kernel Nadaraya-Watson estimate at ``x`` from grouped observations.

    Grouping repeated runs at a scale-out into their mean, weighted by their count,
    gives the same estimate as using every run.
    """
    log_w = _log_weights(np.asarray(x, float), points, np.array([bandwidth]))
    return np.asarray((_normalised(log_w, counts) @ means)[0], dtype=np.float64)


def loo_bandwidth(
    points: np.ndarray, means: np.ndarray, counts: np.ndarray, candidates: np.ndarray
) -> tuple[float, np.ndarray]:
    """Choose the bandwidth with the lowest leave-one-scale-out-out relative error.

    Every distinct scale-out in turn is left out (all its runs) and predicted from
    the others; the error is the count-weighted mean absolute relative error.

    Returns
    -------
    tuple
        The chosen bandwidth and the error of every candidate.
    """
    k = len(points)
    if k < 2:
        return float(candidates[0]), np.zeros(len(candidates))
    log_w = _log_weights(points, points, candidates)
    log_w[:, np.arange(k), np.arange(k)] = -np.inf
    predictions = _normalised(log_w, counts) @ means
    errors = (np.abs(predictions - means) / means) @ counts / counts.sum()
    # ties (e.g. two scale-outs) go to the largest bandwidth: the smoothest estimate
    best = int(np.flatnonzero(errors <= errors.min() + 1e-12)[-1])
    return float(candidates[best]), errors


class KernelRegression(RuntimeRegressor):
    """Nadaraya-Watson regression of runtime on scale-out with a Gaussian kernel.

    The bandwidth is chosen among ``n_bandwidths`` log-spaced candidates by
    leave-one-out over the distinct scale-outs. Only the scale-out column is
    used: the model is for one job context.

    Parameters
    ----------
    scale_out
        The scale-out column: a name, a position, or None for the column named
        ``"scale_out"`` (the first column when there is none).
    n_bandwidths
        Number of candidate bandwidths.

    Attributes
    ----------
    bandwidth_ : float
    points_ : numpy.ndarray
        The distinct scale-outs seen in ``fit``.
    means_ : numpy.ndarray
        The mean runtime at each of them.
    counts_ : numpy.ndarray
        The number of runs at each of them.
    n_features_in_ : int

    References
    ----------
    Nadaraya, "On estimating regression", Theory Probab. Appl. 9 (1964);
    Watson, "Smooth regression analysis", Sankhya A 26 (1964).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2.0], [4.0], [6.0], [8.0], [10.0], [12.0]])
    >>> model = KernelRegression().fit(X, [100.0, 70.0, 60.0, 62.0, 70.0, 85.0])
    >>> np.round(model.predict(np.array([[5.0], [12.0]])), 1).tolist()
    [65.0, 85.0]
    """

    def __init__(self, *, scale_out: ColumnSpec | None = None, n_bandwidths: int = 40) -> None:
        self.scale_out = scale_out
        self.n_bandwidths = n_bandwidths

    def fit(self, X: Any, y: Any) -> KernelRegression:
        """Store the runs grouped by scale-out and choose the bandwidth.

        Parameters
        ----------
        X
            Executions; only the scale-out column is used.
        y
            Runtimes in seconds (> 0).

        Returns
        -------
        KernelRegression
            ``self``.
        """
        if not isinstance(self.n_bandwidths, int) or self.n_bandwidths < 1:
            raise InputError(f"n_bandwidths must be an int >= 1, got {self.n_bandwidths!r}.")
        m = scale_out_only(self, X, self.scale_out, reset=True)
        y_arr = check_target(y, len(m))
        self.points_, self.means_, self.counts_ = group_scale_outs(m, y_arr)
        candidates = bandwidth_candidates(self.points_, self.n_bandwidths)
        self.bandwidth_, _ = loo_bandwidth(self.points_, self.means_, self.counts_, candidates)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds at the scale-outs of ``X``."""
        check_is_fitted(self, "bandwidth_")
        m = scale_out_only(self, X, self.scale_out, reset=False)
        return nadaraya_watson(m, self.points_, self.means_, self.counts_, self.bandwidth_)
