"""perfmodel's runtime model: noisy sufficient statistics and their Gaussian posterior.

One vector release ``b = Σ φ(x) (y - c)`` with ``|φ_j| <= 1`` and ``|y - c| <= r``:
one execution moves *every* coordinate by at most ``r`` at once, so the vector gets
the K-norm mechanism of that cube (Hardt & Talwar, STOC 2010;
:func:`jobcast.privacy.noise.laplace_int` with ``norm="linf"``); beyond ``CUBE_MAX_D`` coordinates
(where exact shell counts grow too large) discrete Laplace calibrated to the L1
sensitivity ``d r`` (Dwork et al., TCC 2006).  Noisy sufficient statistics as in
Wang, "Revisiting differentially private linear regression", UAI 2018; Sheffet 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int, linf_noise_variance
from jobcast.privacy.perfmodel.budget import RESIDUAL_SD, Q

__all__ = ["CUBE_MAX_D", "Coefficients", "noise_variance", "release_coefficients", "select"]

CUBE_MAX_D = 16  # more coefficients get Laplace noise (exact shell counts grow like m^d)


@dataclass(frozen=True)
class Coefficients:
    """The model's coefficients (posterior means) and the labels actually released."""

    beta: np.ndarray
    released: tuple[str, ...]


def noise_variance(d: int, r: float, epsilon: float) -> float:
    """Noise variance of each of ``d`` released sums of sensitivity ``r`` per coordinate."""
    if 1 < d <= CUBE_MAX_D:
        return linf_noise_variance(d, r, epsilon)
    return 2.0 * (d * r / epsilon) ** 2


def select(
    labels: list[str], g: np.ndarray, r: float, epsilon: float, prior_sd: np.ndarray,
    ratio: float | None,
) -> list[int]:
    """Indices of the coefficients worth their share of ``epsilon``.

    For the kept set, the noise standard deviation of each least-squares coefficient
    is ``sqrt(diag(G⁻¹ N G⁻¹))`` with ``G`` the noisy design's Gram matrix and ``N``
    the noise variances of the released sums.  While some coefficient's exceeds
    ``ratio`` times its prior's (then its estimate is mostly prior, and collinear pairs
    such as ``log m`` and ``1/m`` amplify each other's noise), the worst one is dropped
    and the rest share the budget; a dropped coefficient keeps its prior mean.  The
    level (intercept) is always released.  Only DP outputs and public values are used.
    """
    keep = list(range(len(labels)))
    if ratio is None:
        return keep
    while len(keep) > 1:
        nvar = np.full(len(keep), noise_variance(len(keep), r, epsilon))
        ginv = np.linalg.pinv(g[np.ix_(keep, keep)])
        sd = np.sqrt(np.maximum(np.einsum("ij,j,ij->i", ginv, nvar, ginv), 0.0))
        rel = sd / prior_sd[keep]
        rel[[labels[j] == "intercept" for j in keep]] = 0.0
        worst = int(np.argmax(rel))
        if rel[worst] <= float(ratio):
            break
        keep.pop(worst)
    return keep


def release_coefficients(
    phi_rows: np.ndarray,
    y: np.ndarray,
    g: np.ndarray,
    r: float,
    labels: list[str],
    prior_var: np.ndarray,
    prior_mean: np.ndarray,
    *,
    accountant: Accountant,
    epsilon: float | None,
    select_ratio: float | None,
    select_scale: float = 1.0,
    curve: tuple[np.ndarray, tuple[int, ...]] | None = None,
) -> Coefficients:
    """Posterior mean of ``β`` given one noisy ``Σ φ(x) y`` (|y| <= r) with ``epsilon``.

    ``epsilon`` ``None``: all that remains of the budget.

    ``g`` is the Gram matrix of the noisy design (post-processing); features are
    selected with it scaled by ``select_scale`` (the low guess of the row count over
    the estimate: an overestimated count would make noisy slopes look precise).
    Coordinates are quantized in steps of ``r / Q`` before summing, so the sensitivity
    of the integer sums is exactly ``Q`` per coordinate.  The estimate is the Gaussian
    posterior given the noise and residual covariance (post-processing).

    ``curve`` ``(h, group)``: a public prior curve over the features ``group`` (the
    scale-out's), given as ``h = Σ w φ(x) f(x)`` over the noisy design: the prior means
    of ``group`` are the design-weighted least-squares fit of ``f`` by the intercept and
    the released features of ``group`` (by ``group[0]`` when none is), so the prior
    speaks through whichever of them the noise lets through (post-processing).
    """
    d = phi_rows.shape[1]
    e = accountant.remaining if epsilon is None else float(epsilon)
    keep = select(labels, g * select_scale, r, e, np.sqrt(prior_var), select_ratio)
    if curve is not None:
        prior_mean = _curve_means(prior_mean, g, keep, *curve)
    k = len(keep)
    q = np.rint(phi_rows[:, keep] * y[:, None] * (Q / r)).astype(np.int64)
    cube = 1 < k <= CUBE_MAX_D
    b = laplace_int(
        q.sum(axis=0), sensitivity=Q if cube else Q * k, accountant=accountant,
        label="model:coefficients", epsilon=epsilon, norm="linf" if cube else "l1",
    ) * (r / Q)
    gk = g[np.ix_(keep, keep)]
    # Features not released stay at their prior mean; their part of the sums is taken
    # out (post-processing with the noisy design).
    drop = [j for j in range(d) if j not in keep]
    b = b - g[np.ix_(keep, drop)] @ prior_mean[drop]
    sigma = np.diag(np.full(k, noise_variance(k, r, e))) + RESIDUAL_SD**2 * gk
    pv = prior_var[keep]
    gs = gk @ np.linalg.solve(sigma, np.eye(k))
    beta_k = np.linalg.solve(gs @ gk + np.diag(1.0 / pv), gs @ b + prior_mean[keep] / pv)
    beta = prior_mean.astype(float).copy()
    beta[keep] = beta_k
    return Coefficients(beta, tuple(labels[j] for j in keep))


def _curve_means(
    prior_mean: np.ndarray, g: np.ndarray, keep: list[int], h: np.ndarray,
    group: tuple[int, ...],
) -> np.ndarray:
    """Prior means with ``group`` set to the fit of a public curve (see the caller)."""
    fit = [j for j in group if j in keep] or [group[0]]
    idx = [0, *fit]
    coef = np.linalg.lstsq(g[np.ix_(idx, idx)], h[idx], rcond=None)[0]
    out = prior_mean.astype(float).copy()
    out[list(group)] = 0.0
    out[fit] = coef[1:]
    return out
