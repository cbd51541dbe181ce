"""perfmodel's features: normalised (log) context attributes, Ernest's ``1/m``, categories.

Every feature lies in ``[-1, 1]`` over the (public or located) codes of its column, so
one execution moves each regression sum ``Σ φ(x) y`` by at most ``max|y|``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jobcast.errors import DomainError
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain

__all__ = ["features", "prior_mean"]


def features(
    domain: Domain,
    names: tuple[str, ...],
    centers: list[np.ndarray],
    codes: np.ndarray,
    scale_out: str | None,
) -> tuple[np.ndarray, list[str]]:
    """Design matrix (rows x features) in [-1, 1], intercept first, and feature labels.

    ``codes`` holds one row of context codes per configuration (or execution);
    ``scale_out`` names the column that also gets Ernest's serial term ``1/m``
    (Venkataraman et al., NSDI 2016).
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
        lo, hi = float(t.min()), float(t.max())
        cols.append((2 * t[code] - lo - hi) / (hi - lo))
        labels.append(f"log({name})" if dom.log else name)
        if name == scale_out and centers[j].min() > 0:
            w = 1.0 / centers[j]
            wl, wh = float(w.min()), float(w.max())
            cols.append((2 * w[code] - wl - wh) / (wh - wl))
            labels.append(f"1/{name}")
    return np.column_stack(cols), labels


def prior_mean(
    domain: Domain,
    ctx: tuple[str, ...],
    centers: list[np.ndarray],
    labels: list[str],
    elasticity: Mapping[str, float] | None,
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
            t = np.log(centers[ctx.index(name)].astype(float))
            mean[labels.index(label)] = float(e) * (float(t.max()) - float(t.min())) / 2.0
    return mean
