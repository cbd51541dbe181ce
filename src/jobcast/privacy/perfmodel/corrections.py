"""perfmodel's corrections: what the log-linear model misses, per value and per configuration.

The sum of the residuals clipped to ``±rho`` per value of a context column (then per
configuration), discrete Laplace with sensitivity ``rho`` (a row falls in one value of
a column, one cell of the grid: parallel composition, McSherry, SIGMOD 2009), shrunk
towards 0 by their noise (empirical Bayes, post-processing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int, quantize
from jobcast.privacy.perfmodel.budget import MARGINAL_SD, RESIDUAL_SD, Q

__all__ = ["Corrections", "noisy_levels", "release_corrections"]


@dataclass(frozen=True)
class Corrections:
    """Per value of each context column, and per grid cell (``None``: not released)."""

    levels: tuple[np.ndarray, ...]
    cells: np.ndarray | None

    def of(self, codes: np.ndarray, cells: np.ndarray | None) -> np.ndarray:
        """The correction of each configuration (rows of ``codes``, their grid cells)."""
        out = np.zeros(codes.shape[0])
        for j, lev in enumerate(self.levels):
            out = out + lev[codes[:, j]]
        if self.cells is not None and cells is not None:
            out = out + self.cells[cells]
        return out


def noisy_levels(
    group: np.ndarray,
    resid: np.ndarray,
    n_groups: int,
    sizes: np.ndarray,
    *,
    rho: float,
    accountant: Accountant,
    label: str,
    epsilon: float | None,
    tau: float,
) -> np.ndarray:
    """Per-group mean residual, released with ε-DP and shrunk towards 0.

    Residuals clipped to ``±rho`` and summed per group (sensitivity ``rho``), discrete
    Laplace in fixed point.  The level of a group of (noisy) size ``w`` is the
    posterior mean of ``μ ~ N(0, tau²)`` given its noisy sum ``S = w μ + e``,
    ``Var e = w σ² + 2 (rho / ε)²`` with ``σ = RESIDUAL_SD`` (post-processing).
    """
    q = quantize(np.clip(resid, -rho, rho), resolution=rho / Q)
    sums = np.bincount(group, weights=q, minlength=n_groups).astype(np.int64)
    eps = accountant.remaining if epsilon is None else float(epsilon)
    noisy = laplace_int(
        sums, sensitivity=Q, accountant=accountant, label=label, epsilon=epsilon
    ) * (rho / Q)
    nvar = 2.0 * (rho / eps) ** 2
    tau2 = tau**2
    return tau2 * sizes * noisy / (sizes**2 * tau2 + nvar + sizes * RESIDUAL_SD**2)


def release_corrections(
    ctx: tuple[str, ...],
    codes: np.ndarray,
    cell: np.ndarray | None,
    resid: np.ndarray,
    design_codes: np.ndarray,
    weights: np.ndarray,
    card: np.ndarray,
    *,
    rho: float,
    accountant: Accountant,
    e_marg: float,
    e_cells: float,
) -> Corrections:
    """Release the per-value levels (``e_marg`` per column), then the per-cell ones.

    The last release takes what remains of the budget (so the spends sum to ε exactly).
    ``codes``/``cell``/``resid``: the private rows' codes, grid cells and residuals of
    the model; ``design_codes``/``weights``: the noisy design, whose expected counts
    per value are the sizes of the shrinkage.
    """
    levels = [np.zeros(int(c)) for c in card]
    resid = resid.copy()
    multi = [j for j in range(len(ctx)) if card[j] > 1]
    if e_marg > 0:
        for j in multi:
            last = j == multi[-1] and e_cells == 0
            sizes = np.bincount(design_codes[:, j], weights=weights, minlength=int(card[j]))
            levels[j] = noisy_levels(
                codes[:, j], resid, int(card[j]), sizes, rho=rho, accountant=accountant,
                label=f"corrections:{ctx[j]}", epsilon=None if last else e_marg,
                tau=MARGINAL_SD,
            )
            resid = resid - levels[j][codes[:, j]]
    cells = None
    if e_cells > 0 and cell is not None:
        cells = noisy_levels(
            cell, resid, weights.size, weights, rho=rho, accountant=accountant,
            label="corrections:cells", epsilon=None, tau=rho / 2,
        )
    return Corrections(tuple(levels), cells)
