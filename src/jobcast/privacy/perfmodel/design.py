"""perfmodel's configurations: the noisy histogram of the grid, or a product of marginals.

A configuration is one combination of the context columns' codes.  When the grid is
small and rows per cell are many, its histogram is released (discrete Laplace,
sensitivity 1: a row falls in one cell; Dwork et al., TCC 2006) and shrunk towards
the uniform design in proportion to its noise.  Otherwise the design is the product
of the columns' noisy marginals (uniform where none was bought); a grid too large to
enumerate (:data:`MAX_CELLS`, any table width) is represented by configurations drawn
from that product (post-processing with the synthesizer's seeded generator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import laplace_int
from jobcast.privacy.perfmodel.budget import design_shrink

__all__ = [
    "MAX_CELLS", "MAX_DESIGN_SHRINK", "Design", "exact_design", "grid_design", "product_design"
]

MAX_CELLS = 65_536  # larger grids are represented by configurations drawn from the design
MAX_DESIGN_SHRINK = 0.9  # skip the configuration histogram when it would be >90 % prior
SAMPLED_CELLS = 4096  # configurations drawn to represent a grid too large to enumerate


@dataclass(frozen=True)
class Design:
    """Configurations, their expected row counts and how synthetic rows are drawn.

    Attributes
    ----------
    codes
        ``(cells, columns)`` codes: the whole grid (``grid``), or configurations drawn
        from the product of ``marginals``.
    weights
        Expected number of executions per configuration (sums to the row estimate).
    grid
        Whether ``codes`` enumerate the grid in ``np.ravel_multi_index`` order, so
        each row falls in one cell.
    marginals
        Per column probabilities of the codes (the product design; uniform where no
        marginal was bought).
    """

    codes: np.ndarray
    weights: np.ndarray
    grid: bool
    marginals: tuple[np.ndarray, ...]

    @property
    def probs(self) -> np.ndarray:
        """Probabilities of the configurations."""
        w = np.maximum(self.weights, 0.0)
        return w / w.sum() if w.sum() > 0 else np.full(w.size, 1.0 / w.size)

    def rescaled(self, total: float) -> Design:
        """The same design with ``total`` expected rows."""
        s = float(self.weights.sum())
        size = self.weights.size
        w = self.weights * (total / s) if s > 0 else np.full(size, total / size)
        return Design(self.codes, w, self.grid, self.marginals)

    def sample_codes(
        self, n_rows: int, coverage: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes of ``n_rows`` synthetic configurations (and their cells on a grid).

        A share ``coverage`` of the rows is uniform over the declared grid, so models
        trained on the share also see configurations the owner did not run.
        """
        card = tuple(m.size for m in self.marginals)
        if self.grid:
            p = (1.0 - coverage) * self.probs + coverage / self.probs.size
            cells = rng.choice(p.size, size=n_rows, p=p)
            return np.column_stack(np.unravel_index(cells, card)), cells
        uniform = rng.random(n_rows) < coverage
        cols = []
        for j, m in enumerate(self.marginals):
            c = rng.choice(m.size, size=n_rows, p=m)
            cols.append(np.where(uniform, rng.integers(0, card[j], size=n_rows), c))
        return np.column_stack(cols), None


def _marginal_list(
    ctx: tuple[str, ...], card: np.ndarray, marginals: dict[str, np.ndarray]
) -> tuple[np.ndarray, ...]:
    out = []
    for j, name in enumerate(ctx):
        m = marginals.get(name)
        out.append(m if m is not None and m.size == card[j] else np.full(card[j], 1.0 / card[j]))
    return tuple(out)


def product_design(
    ctx: tuple[str, ...],
    card: np.ndarray,
    marginals: dict[str, np.ndarray],
    total: float,
    rng: np.random.Generator,
) -> Design:
    """The product of the marginals: enumerated, or drawn when the grid is too large."""
    margs = _marginal_list(ctx, card, marginals)
    n_cells = float(np.prod(card.astype(float)))
    if n_cells <= MAX_CELLS:
        p = np.ones(1)
        for m in margs:
            p = np.multiply.outer(p, m).ravel()
        codes = np.column_stack(np.unravel_index(np.arange(p.size), tuple(card)))
        return Design(codes, total * p, True, margs)
    codes = np.column_stack([rng.choice(m.size, size=SAMPLED_CELLS, p=m) for m in margs])
    return Design(codes, np.full(SAMPLED_CELLS, total / SAMPLED_CELLS), False, margs)


def grid_design(
    cell: np.ndarray,
    card: np.ndarray,
    total: float,
    *,
    accountant: Accountant,
    epsilon: float,
) -> Design:
    """The noisy histogram of the configurations, shrunk towards uniform, ``total`` rows.

    The total has its own noisy count (``total``): summing many noisy cells would add
    their noise up (std ``sqrt(2 cells) / ε`` instead of ``sqrt(2) / ε``).
    """
    n_cells = int(np.prod(card))
    noisy = laplace_int(
        np.bincount(cell, minlength=n_cells), sensitivity=1, accountant=accountant,
        label="context:histogram", epsilon=epsilon,
    )
    prior = total / n_cells
    w = design_shrink(epsilon, total, n_cells)
    shrunk = np.maximum((1 - w) * noisy + w * prior, 0.0)
    weights = total * shrunk / shrunk.sum() if shrunk.sum() > 0 else np.full(n_cells, prior)
    return _on_grid(weights, card)


def exact_design(cell: np.ndarray, card: np.ndarray) -> Design:
    """Without DP: the configurations' own counts."""
    return _on_grid(np.bincount(cell, minlength=int(np.prod(card))).astype(float), card)


def _on_grid(weights: np.ndarray, card: np.ndarray) -> Design:
    """A design over the whole grid with these weights, and its marginals."""
    codes = np.column_stack(np.unravel_index(np.arange(weights.size), tuple(card)))
    p = weights.reshape(tuple(card)) / max(float(weights.sum()), 1e-12)
    margs = tuple(
        p.sum(axis=tuple(a for a in range(len(card)) if a != j)) for j in range(len(card))
    )
    return Design(codes, weights, True, margs)
