"""Similarity quality: how well a measure's similarity predicts the accuracy of estimates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jobcast.errors import InputError
from jobcast.progress.matching import combine_similarities
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.similarity import MEASURES
from jobcast.progress.simulation import SimulationCases

__all__ = [
    "QualityCurve",
    "h_curve",
    "n_curve",
    "normalized_quality",
    "plot_quality",
    "quality_curve",
    "quality_points",
    "similarity_quality",
]

#: Similarity thresholds ``t`` at which h(t) and n(t) are evaluated.
DEFAULT_GRID = np.round(np.linspace(0.0, 1.0, 101), 10)


def _check_points(s: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(s, dtype=np.float64).ravel()
    a = np.asarray(a, dtype=np.float64).ravel()
    if s.shape != a.shape:
        raise InputError(f"Similarities and accuracies differ in length: {s.size} vs {a.size}.")
    keep = np.isfinite(s) & np.isfinite(a)
    return s[keep], a[keep]


def h_curve(s: np.ndarray, a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``h(t)``: mean accuracy of the points whose similarity is at least ``t`` (NaN if none).

    Examples
    --------
    >>> h_curve(np.array([0.2, 0.6, 0.9]), np.array([0.5, 0.7, 0.9]), np.array([0.0, 0.5, 0.95]))
    array([0.7, 0.8, nan])
    """
    s, a = _check_points(s, a)
    order = np.argsort(-s, kind="stable")
    s_sorted, a_sorted = s[order], a[order]
    cum = np.concatenate([[0.0], np.cumsum(a_sorted)])
    # number of points with s >= t, using the descending order
    count = np.searchsorted(-s_sorted, -np.asarray(t, dtype=np.float64), side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, cum[count] / np.maximum(count, 1), np.nan)


def n_curve(s: np.ndarray, a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``n(t)``: share of the points whose similarity is at least ``t``.

    Examples
    --------
    >>> n_curve(np.array([0.2, 0.6, 0.9, 1.0]), np.zeros(4), np.array([0.0, 0.5, 0.95]))
    array([1.  , 0.75, 0.25])
    """
    s, _ = _check_points(s, a)
    if s.size == 0:
        return np.full(np.shape(t), np.nan)
    s_sorted = np.sort(s)
    below = np.searchsorted(s_sorted, np.asarray(t, dtype=np.float64), side="left")
    return np.asarray((s.size - below) / s.size, dtype=np.float64)


def normalized_quality(s: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``q(x)``: how much of the possible accuracy gain keeping the most similar share ``x`` gets.

    Keeping the share ``x`` of the points with the highest similarity gives mean
    accuracy ``h_x``; an oracle keeping the ``x`` most accurate points gets
    ``best_x``; keeping everything (or choosing at random) gets ``mean(a)``. Then
    ``q(x) = (h_x - mean(a)) / (best_x - mean(a))``: 1 for a similarity that ranks
    the points exactly by accuracy, about 0 for one unrelated to accuracy, negative
    for a misleading one. It is NaN where ``best_x = mean(a)`` (all accuracies equal
    or ``x = 1``).

    Examples
    --------
    >>> s = np.array([0.1, 0.2, 0.3, 0.4]); a = np.array([0.6, 0.7, 0.8, 0.9])
    >>> normalized_quality(s, a, np.array([0.5])).round(6).tolist()
    [1.0]
    >>> normalized_quality(s, a[::-1], np.array([0.5])).round(6).tolist()
    [-1.0]
    """
    s, a = _check_points(s, a)
    x = np.asarray(x, dtype=np.float64)
    if s.size == 0:
        return np.full(x.shape, np.nan)
    k = np.clip(np.ceil(x * s.size).astype(np.int64), 1, s.size)
    by_s = np.concatenate([[0.0], np.cumsum(a[np.argsort(-s, kind="stable")])])
    by_a = np.concatenate([[0.0], np.cumsum(np.sort(a)[::-1])])
    h = by_s[k] / k
    best = by_a[k] / k
    mean = a.mean()
    gain = best - mean
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gain > 1e-12, (h - mean) / np.where(gain > 1e-12, gain, 1.0), np.nan)


def quality_points(
    cases: SimulationCases,
    measure: str,
    *,
    params: ProgressParameters | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(s, a)`` of all simulated (current, candidate) pairs for one measure.

    Parameters
    ----------
    cases
        Leave-one-out simulations.
    measure
        One of ``MEASURES`` or ``"final"`` (``sim_final`` under ``params``' weights).
    params
        Weights for ``"final"`` and the adjustment strength of the estimates
        (default parameters when None).

    Returns
    -------
    s, a : numpy.ndarray
        Similarity and accuracy ``max(0, 1 - relative error of the total runtime)``
        of estimating the current execution from that candidate alone.
    """
    params = params or ProgressParameters()
    if measure == "final":
        sims = combine_similarities(cases.similarities, params.weight_array)
    elif measure in MEASURES:
        sims = cases.similarities[:, MEASURES.index(measure), :]
    else:
        raise InputError(f"Unknown measure {measure!r}; use one of {MEASURES} or 'final'.")
    acc = cases.pair_accuracy(params.adjustment)
    keep = cases.valid & np.isfinite(sims)
    return sims[keep], acc[keep]


@dataclass(frozen=True, eq=False)
class QualityCurve:
    """h(t), n(t) and q(x) of one measure.

    Attributes
    ----------
    measure
        Name of the measure.
    t, h, n
        Threshold grid, mean accuracy above it, share of points above it.
    x, q
        Retained shares and the normalised quality.
    n_points
        Number of (s, a) points.
    """

    measure: str
    t: np.ndarray
    h: np.ndarray
    n: np.ndarray
    x: np.ndarray
    q: np.ndarray
    n_points: int

    def threshold(self, a_min: float, n_min: float) -> float | None:
        """Smallest ``t`` with ``h(t) >= a_min`` and ``n(t) >= n_min``; None if there is none."""
        ok = (self.h >= a_min) & (self.n >= n_min)
        return float(self.t[np.flatnonzero(ok)[0]]) if ok.any() else None

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "measure": self.measure,
            "t": self.t.tolist(),
            "h": [None if np.isnan(v) else float(v) for v in self.h],
            "n": self.n.tolist(),
            "x": self.x.tolist(),
            "q": [None if np.isnan(v) else float(v) for v in self.q],
            "n_points": self.n_points,
        }


def quality_curve(
    s: np.ndarray, a: np.ndarray, *, measure: str = "", grid: np.ndarray | None = None
) -> QualityCurve:
    """Evaluate h, n and q of a point set on a grid of thresholds and shares."""
    t = DEFAULT_GRID if grid is None else np.asarray(grid, dtype=np.float64)
    x = np.linspace(0.05, 1.0, 20)
    s_ok, a_ok = _check_points(s, a)
    return QualityCurve(
        measure=measure,
        t=t,
        h=h_curve(s_ok, a_ok, t),
        n=n_curve(s_ok, a_ok, t),
        x=x,
        q=normalized_quality(s_ok, a_ok, x),
        n_points=int(s_ok.size),
    )


def similarity_quality(
    cases: SimulationCases, *, params: ProgressParameters | None = None
) -> dict[str, QualityCurve]:
    """Quality curves of every measure with data, and of ``sim_final`` under ``params``."""
    curves = {}
    for measure in (*cases.available_measures, "final"):
        s, a = quality_points(cases, measure, params=params)
        curves[measure] = quality_curve(s, a, measure=measure)
    return curves


def plot_quality(curves: Mapping[str, QualityCurve], path: str | Path, *, title: str = "") -> Path:
    """Draw h(t), n(t) and q(x) of each measure into a PNG (matplotlib, Agg backend).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for curve in curves.values():
        axes[0].plot(curve.t, curve.h, label=curve.measure)
        axes[1].plot(curve.t, curve.n, label=curve.measure)
        axes[2].plot(curve.x, curve.q, marker=".", label=curve.measure)
    axes[0].set(xlabel="similarity threshold t", ylabel="h(t): mean accuracy of s >= t")
    axes[1].set(xlabel="similarity threshold t", ylabel="n(t): share of pairs with s >= t")
    axes[2].set(xlabel="share x of most similar pairs kept", ylabel="normalised quality q(x)")
    axes[2].axhline(0.0, color="grey", linewidth=0.8)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
