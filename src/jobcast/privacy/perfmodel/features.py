"""perfmodel's features: normalised (log) context attributes, Ernest's ``1/m``, categories.

Every feature lies in ``[-1, 1]`` over the (public or located) codes of its column, so
one execution moves each regression sum ``Σ φ(x) y`` by at most ``max|y|``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jobcast.errors import DomainError
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain

__all__ = ["SPAN_MASS", "feature_spans", "features", "prior_mean"]

SPAN_MASS = 0.02  # of a column's (noisy) marginal left outside its feature's span at each end


def features(
    domain: Domain,
    names: tuple[str, ...],
    centers: list[np.ndarray],
    codes: np.ndarray,
    scale_out: str | None,
    *,
    spans: list[tuple[float, float] | None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Design matrix (rows x features) in [-1, 1], intercept first, and feature labels.

    ``codes`` holds one row of context codes per configuration (or execution);
    ``scale_out`` names the column that also gets Ernest's serial term ``1/m``
    (Venkataraman et al., NSDI 2016).  A numeric column's feature maps ``spans[j]``
    (on its transformed scale, :func:`feature_spans`; ``None``: all its codes) to
    ``[-1, 1]`` and is clipped there, so it stays in ``[-1, 1]`` for any span.
    """
    cols = [np.ones(codes.shape[0])]
    labels = ["intercept"]
    for j, name in enumerate(names):
        dom = domain[name]
        k = len(centers[j])
        if k < 2:
            continue
        code = codes[:, j]
        if isinstance(dom, CategoricalDomain):
            for v in range(1, k):
                cols.append((code == v).astype(float))
                labels.append(f"{name}=={dom.values[v]!r}")
            continue
        t = np.log(centers[j]) if dom.log else centers[j].astype(float)
        span = spans[j] if spans is not None else None
        lo, hi = span if span is not None else (float(t.min()), float(t.max()))
        # (t - lo) / (hi - lo) is exactly 0 and 1 at the span's ends, whatever the rounding
        cols.append(np.clip(2.0 * (t[code] - lo) / (hi - lo) - 1.0, -1.0, 1.0))
        labels.append(f"log({name})" if dom.log else name)
        if name == scale_out and centers[j].min() > 0:
            w = 1.0 / centers[j]
            wl, wh = float(w.min()), float(w.max())
            cols.append((2 * w[code] - wl - wh) / (wh - wl))
            labels.append(f"1/{name}")
    return np.column_stack(cols), labels


def feature_spans(
    domain: Domain,
    names: tuple[str, ...],
    centers: list[np.ndarray],
    marginals: tuple[np.ndarray, ...],
) -> list[tuple[float, float] | None]:
    """Per column, the span of its feature: where its (noisy) marginal puts its rows.

    The ``SPAN_MASS`` and ``1 - SPAN_MASS`` quantiles of the marginal, on the column's
    transformed scale (``None``: all its codes, for categories, grids of fewer than
    three codes and marginals that leave no spread).  A located window is a few coarse
    bins wider than the values the job ran; normalised over the whole window a column's
    rows would use a fraction of ``[-1, 1]``, and a slope's noise grows as that fraction
    shrinks (the sensitivity stays ``max|y|`` either way).  ``marginals`` are DP outputs
    or public (uniform), so this is post-processing.
    """
    out: list[tuple[float, float] | None] = []
    for j, name in enumerate(names):
        dom = domain[name]
        k = len(centers[j])
        if not isinstance(dom, NumericDomain) or k < 3 or marginals[j].size != k:
            out.append(None)
            continue
        t = np.log(centers[j]) if dom.log else centers[j].astype(float)
        m = np.maximum(np.asarray(marginals[j], dtype=float), 0.0)
        if m.sum() <= 0:
            out.append(None)
            continue
        cum = np.cumsum(m) / m.sum()
        lo = float(t[min(int(np.searchsorted(cum, SPAN_MASS)), k - 1)])
        hi = float(t[min(int(np.searchsorted(cum, 1.0 - SPAN_MASS)), k - 1)])
        full = float(t.max() - t.min())
        out.append((lo, hi) if hi - lo > 1e-6 * max(full, 1e-12) else None)
    return out


def prior_mean(
    domain: Domain,
    ctx: tuple[str, ...],
    centers: list[np.ndarray],
    labels: list[str],
    elasticity: Mapping[str, float] | None,
    *,
    spans: list[tuple[float, float] | None] | None = None,
) -> np.ndarray:
    """Prior means of the coefficients from declared elasticities (public beliefs).

    ``elasticity={column: e}`` says runtime grows like ``column**e`` (1: linear in an
    input size, as Ernest and C3O assume).  On the normalised feature
    ``φ = (2 log x - lo - hi) / (hi - lo)`` that is a coefficient ``e (hi - lo) / 2``.

    Raises
    ------
    DomainError
        For a column that is not a log-scale numeric context column.
    """
    mean = np.zeros(len(labels))
    for name, e in dict(elasticity or {}).items():
        if name not in ctx:
            raise DomainError(f"elasticity given for {name!r}, which is not a context column")
        dom = domain[name]
        if not isinstance(dom, NumericDomain) or not dom.log:
            raise DomainError(f"elasticity needs a log-scale numeric column; {name!r} is not")
        label = f"log({name})"
        if label in labels:
            j = ctx.index(name)
            t = np.log(centers[j].astype(float))
            span = spans[j] if spans is not None else None
            lo, hi = span if span is not None else (float(t.min()), float(t.max()))
            mean[labels.index(label)] = float(e) * (hi - lo) / 2.0
    return mean
