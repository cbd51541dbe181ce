"""DataSynthesizer's three modes, ε-DP end to end: random, independent, correlated (PrivBayes).

Budget split (one accountant per release; the ledger records each line):

* undeclared log-scale bounds: ``bounds_share * ε``, split evenly over those columns
  (:mod:`jobcast.privacy.bounds`);
* ``random``: nothing else (no private data is read);
* ``independent``: the rest split evenly over the ``d`` one-way histograms;
* ``correlated``: of the rest, ``beta`` for the ``d - 1`` greedy selections (evenly) and
  ``1 - beta`` for the ``d`` conditional tables (evenly) -- PrivBayes' split
  (Zhang et al., TODS 2017, Section 4.4, β = 0.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.base import BaseSynthesizer
from jobcast.privacy.bayesnet import (
    Conditional,
    greedy_network,
    noisy_conditionals,
    noisy_histogram,
    sample_network,
)
from jobcast.privacy.domain import Domain

__all__ = ["RandomSynthesizer", "IndependentSynthesizer", "PrivBayesSynthesizer"]


class _Mode(BaseSynthesizer):
    """The arguments every DataSynthesizer mode takes (a mode may add its own).

    Parameters
    ----------
    domain
        Declared column domains.
    epsilon
        Budget of the release (> 0).
    no_dp
        Release without differential privacy (recorded in the manifest).
    bounds_share
        Share of ε for undeclared bounds.
    random_state
        Seed or generator.
    """

    def __init__(
        self,
        *,
        domain: Domain | None = None,
        epsilon: float | None = 1.0,
        no_dp: bool = False,
        bounds_share: float = 0.1,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.domain = domain
        self.epsilon = epsilon
        self.no_dp = no_dp
        self.bounds_share = bounds_share
        self.random_state = random_state


class RandomSynthesizer(_Mode):
    """Uniform values over the declared domains (DataSynthesizer's random mode).

    Reads no private data except, with budget, undeclared bounds; its ledger may
    therefore total less than ε (which is still ε-DP).

    Parameters: those of :class:`_Mode`.
    """

    method = "random"
    uses_data = False

    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        self.cardinalities_ = self.discretizer_.cardinalities

    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        codes = np.column_stack([rng.integers(c, size=n_rows) for c in self.cardinalities_])
        return self.discretizer_.decode(codes, rng)


class IndependentSynthesizer(_Mode):
    """Independent noisy one-way histograms (DataSynthesizer's independent attribute mode).

    Parameters: those of :class:`_Mode`.
    """

    method = "independent"

    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        disc = self.discretizer_
        codes = disc.encode(frame, validate=False)
        card = disc.cardinalities
        names = disc.names
        # Budget: the remaining ε split evenly over the d one-way histograms.
        each = None if acc is None else acc.remaining / len(names)
        probs = []
        for j, name in enumerate(names):
            last = j == len(names) - 1
            h = noisy_histogram(
                np.bincount(codes[:, j], minlength=int(card[j])),
                acc,
                label=f"histogram:{name}",
                epsilon=None if last else each,
            )
            probs.append(h / h.sum() if h.sum() > 0 else np.full(len(h), 1.0 / len(h)))
        self.marginals_ = tuple(probs)

    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        codes = np.column_stack([rng.choice(len(p), size=n_rows, p=p) for p in self.marginals_])
        return self.discretizer_.decode(codes, rng)


class PrivBayesSynthesizer(_Mode):
    """PrivBayes network of degree ``k`` (DataSynthesizer's correlated attribute mode).

    Parameters
    ----------
    k
        Maximum number of parents per attribute.
    beta
        Share of the (post-bounds) budget for learning the network.
    score_rows
        The network's scores are computed on at most this many rows (a random subset
        of larger tables); their sensitivity is ``2 (ln(score_rows + 1) + 1)``.
    max_cells
        Largest noisy table (parents x attribute cells) a node may use.
    domain, epsilon, no_dp, bounds_share, random_state
        As in :class:`_Mode`.
    """

    method = "privbayes"

    def __init__(
        self,
        *,
        domain: Domain | None = None,
        epsilon: float | None = 1.0,
        k: int = 2,
        beta: float = 0.3,
        score_rows: int = 10_000,
        max_cells: int = 2048,
        no_dp: bool = False,
        bounds_share: float = 0.1,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            domain=domain,
            epsilon=epsilon,
            no_dp=no_dp,
            bounds_share=bounds_share,
            random_state=random_state,
        )
        self.k = k
        self.beta = beta
        self.score_rows = score_rows
        self.max_cells = max_cells

    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 0:
            raise InputError(f"k must be a non-negative integer, got {self.k!r}")
        if not 0.0 < float(self.beta) < 1.0:
            raise InputError(f"beta must be in (0, 1), got {self.beta!r}")
        if isinstance(self.score_rows, bool) or int(self.score_rows) < 1:
            raise InputError(f"score_rows must be a positive integer, got {self.score_rows!r}")
        disc = self.discretizer_
        codes = disc.encode(frame, validate=False)
        card = disc.cardinalities
        d = len(card)
        # Budget split (after any bounds): beta for the d - 1 greedy selections,
        # 1 - beta for the d conditional tables.
        if acc is None:
            eps_step: float | None = None
        else:
            rest = acc.remaining
            eps_step = rest * self.beta / (d - 1) if d > 1 else None
        order = greedy_network(
            codes,
            card,
            k=int(self.k),
            accountant=acc,
            epsilon_per_step=eps_step,
            rng=self.rng_,
            score_rows=int(self.score_rows),
            max_cells=int(self.max_cells),
        )
        # The d tables are one release of sensitivity d with what remains, 1 - beta.
        conds: list[Conditional] = noisy_conditionals(codes, card, order, accountant=acc)
        self.network_ = tuple(
            (disc.names[a], tuple(disc.names[p] for p in par)) for a, par in order
        )
        self.conditionals_ = tuple(conds)

    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        card = self.discretizer_.cardinalities
        return self.discretizer_.decode(sample_network(self.conditionals_, card, n_rows, rng), rng)
