"""PrivBayes on integer codes: greedy degree-k network, noisy conditionals, ancestral sampling.

Everything works on an ``(rows, columns)`` int64 code matrix with ``np.bincount`` on
combined codes; mutual-information scores are cached per (attribute, parent set), so
each pair is counted once over the whole greedy search.

Privacy (one execution added or removed):

* **Network.**  Each greedy step selects one (attribute, parents) pair with the
  exponential mechanism on the score ``u = n * I(X; Π)`` (mutual information in nats,
  times the row count, so that the score itself does not need the private ``n``).
  Sensitivity: writing ``n I = Σ g(c_xπ) - Σ g(c_x) - Σ g(c_π) + g(n)`` with
  ``g(c) = c ln c``, adding one row at cell ``(x, π)`` changes ``u`` by
  ``[A(c_xπ) - A(c_x)] + [A(n) - A(c_π)]`` with ``A(c) = g(c + 1) - g(c)``
  increasing, the first bracket in ``[-A(n), 0]`` and the second in ``[0, A(n)]``; so
  ``|Δu| <= A(n) = ln(n + 1) + n ln(1 + 1/n) <= ln(n + 1) + 1``; replacing a row is a
  removal plus an addition, ``|Δu| <= 2 (ln(n + 1) + 1)``.  This is the argument of
  PrivBayes' Lemma 4.1 (Zhang et al., TODS 2017, "the sensitivity of I is
  (1/n) log n + ((n-1)/n) log(n/(n-1))" under substitution of a tuple), redone for the
  unnormalised score so that no private row count enters the mechanism.
  Scores are computed on at most ``m = score_rows`` rows: all rows when there are at
  most ``m``, else a uniformly random subset of ``m`` rows.  Adding one row to the data
  either leaves the subset's distribution unchanged or replaces one of its rows
  (the usual coupling of sampling without replacement; the subset is drawn with fresh,
  secret randomness, never the release's published seed, under which it would be a
  fixed function of the rows and adding one could redraw thousands of them,
  :func:`score_subset`), and a table of at most ``m``
  rows changes by at most one addition, so the fixed public bound
  ``Δ = 2 (ln(m + 1) + 1)`` holds in every case (:func:`score_sensitivity`).  This keeps
  the greedy search linear in ``m``, not in the table size.
* **Conditionals.**  For every attribute the joint counts over (parents, attribute) are
  released with discrete Laplace noise of sensitivity 1 (a row falls in exactly one cell
  of each table; Dwork et al., TCC 2006); the ``d`` tables compose sequentially.
  Conditionals are normalised from the clamped noisy counts (post-processing), as in
  PrivBayes (Zhang et al., Section 4.2) -- unlike DataSynthesizer, no independent-mode
  histograms are released first.

References
----------
.. [1] J. Zhang, G. Cormode, C. M. Procopiuc, D. Srivastava, X. Xiao, "PrivBayes:
   private data release via Bayesian networks", ACM TODS 42(4), 2017.
.. [2] H. Ping, J. Stoyanovich, B. Howe, "DataSynthesizer: privacy-preserving synthetic
   datasets", SSDBM 2017.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jobcast.privacy.accountant import Accountant
from jobcast.privacy.noise import exponential_select, laplace_int

__all__ = [
    "Conditional",
    "score_sensitivity",
    "mutual_information_scores",
    "score_subset",
    "greedy_network",
    "noisy_conditionals",
    "sample_network",
    "noisy_histogram",
]


def score_sensitivity(score_rows: int) -> float:
    """Sensitivity of ``n * I(X; Π)`` (nats) scored on at most ``score_rows`` rows.

    ``2 (ln(score_rows + 1) + 1)`` (derivation in the module docstring, after PrivBayes
    Lemma 4.1).
    """
    return 2.0 * (math.log(int(score_rows) + 1) + 1.0)


def _xlogx(c: np.ndarray) -> float:
    c = c[c > 0].astype(float)
    return float(np.dot(c, np.log(c)))


def _combine(codes: np.ndarray, cols: Sequence[int], card: np.ndarray) -> tuple[np.ndarray, int]:
    """Mixed-radix code of several columns and its cardinality."""
    if not cols:
        return np.zeros(codes.shape[0], dtype=np.int64), 1
    out = codes[:, cols[0]].astype(np.int64, copy=True)
    size = int(card[cols[0]])
    for c in cols[1:]:
        out *= int(card[c])
        out += codes[:, c]
        size *= int(card[c])
    return out, size


def mutual_information_scores(
    codes: np.ndarray, card: np.ndarray, parents: Sequence[int], attrs: Sequence[int]
) -> np.ndarray:
    """``n * I(X; Π)`` in nats for one parent set and several attributes ``X``."""
    n = codes.shape[0]
    pcode, psize = _combine(codes, list(parents), card)
    g_n = n * math.log(n) if n > 0 else 0.0
    g_p = _xlogx(np.bincount(pcode, minlength=psize))
    out = np.empty(len(attrs))
    for i, a in enumerate(attrs):
        ca = int(card[a])
        joint = np.bincount(pcode * ca + codes[:, a], minlength=psize * ca)
        g_a = _xlogx(np.bincount(codes[:, a], minlength=ca))
        out[i] = _xlogx(joint) - g_a - g_p + g_n
    return out


@dataclass(frozen=True)
class Conditional:
    """A node of the network: ``P(attribute | parents)`` as a row-stochastic table.

    Parameters
    ----------
    attribute
        Column index.
    parents
        Column indices of the parents (mixed-radix order of the table rows).
    table
        Shape ``(prod(parent cardinalities), cardinality)``; rows sum to 1.
    """

    attribute: int
    parents: tuple[int, ...]
    table: np.ndarray


def score_subset(n: int, m: int) -> np.ndarray:
    """``m`` of ``n`` row indices uniformly at random, from fresh operating-system entropy.

    Never from the release's seed: the seed is published in the manifest, and with it
    the subset would be a fixed function of the rows, so that one more row could change
    thousands of the scored rows and the score's sensitivity would not hold.
    """
    fresh = np.random.default_rng(secrets.randbits(128))
    return fresh.choice(n, size=m, replace=False)


def greedy_network(
    codes: np.ndarray,
    card: np.ndarray,
    *,
    k: int,
    accountant: Accountant | None,
    epsilon_per_step: float | None,
    rng: np.random.Generator,
    score_rows: int,
    max_cells: int,
) -> list[tuple[int, tuple[int, ...]]]:
    """Greedy PrivBayes network of degree ``k`` (Zhang et al., Algorithm 4).

    The first attribute is drawn uniformly at random (no data used); each next step
    selects an (attribute, parents) pair with the exponential mechanism
    (``epsilon_per_step`` each, recorded in ``accountant`` as ``network:stepI``;
    ``accountant=None`` takes the best pair, for a no-DP release).  Parent
    sets have ``min(k, chosen)`` members; a pair whose table would exceed
    ``max_cells`` cells is not a candidate (fewer parents are tried instead), as
    PrivBayes' θ-usefulness keeps tables small enough for their noise.  Scores are
    computed on at most ``score_rows`` rows (a random subset when there are more, drawn
    by :func:`score_subset`, not from ``rng``).

    Returns
    -------
    list of (attribute, parents)
        In sampling order.
    """
    d = codes.shape[1]
    root = int(rng.integers(d))
    if codes.shape[0] > score_rows:
        codes = codes[score_subset(codes.shape[0], score_rows)]
    order: list[tuple[int, tuple[int, ...]]] = [(root, ())]
    chosen = [root]
    cache: dict[tuple[int, tuple[int, ...]], float] = {}
    sens = score_sensitivity(score_rows)
    while len(chosen) < d:
        rest = [a for a in range(d) if a not in chosen]
        cands: list[tuple[int, tuple[int, ...]]] = []
        size = min(k, len(chosen))
        while size >= 0 and not cands:
            for par in itertools.combinations(sorted(chosen), size):
                psize = int(np.prod(card[list(par)])) if par else 1
                for a in rest:
                    if psize * int(card[a]) <= max_cells:
                        cands.append((a, par))
            size -= 1
        missing: dict[tuple[int, ...], list[int]] = {}
        for a, par in cands:
            if (a, par) not in cache:
                missing.setdefault(par, []).append(a)
        for par, attrs in missing.items():
            for a, s in zip(attrs, mutual_information_scores(codes, card, par, attrs), strict=True):
                cache[(a, par)] = float(s)
        scores = np.array([cache[c] for c in cands])
        if accountant is None:
            pick = int(np.argmax(scores))
        else:
            pick = exponential_select(
                scores, sensitivity=sens, accountant=accountant,
                label=f"network:step{len(chosen)}", epsilon=epsilon_per_step,
            )
        a, par = cands[pick]
        order.append((a, par))
        chosen.append(a)
    return order


def noisy_histogram(
    counts: np.ndarray,
    accountant: Accountant | None,
    *,
    label: str = "histogram",
    epsilon: float | None = None,
) -> np.ndarray:
    """Counts with discrete Laplace noise (sensitivity 1), clamped at 0 (post-processing).

    ``accountant=None`` only for a no-DP release; ``epsilon=None`` spends all that remains.
    """
    if accountant is None:
        return counts.astype(float)
    noisy = laplace_int(counts, sensitivity=1, accountant=accountant, label=label, epsilon=epsilon)
    return np.maximum(noisy, 0).astype(float)


def noisy_conditionals(
    codes: np.ndarray,
    card: np.ndarray,
    order: Sequence[tuple[int, tuple[int, ...]]],
    *,
    accountant: Accountant | None,
    epsilon: float | None = None,
) -> list[Conditional]:
    """Noisy ``P(X | Π)`` for every node, all tables released together with ``epsilon``.

    Recorded in ``accountant`` as one spend ``conditionals`` (``epsilon=None``: all
    that remains; ``accountant=None`` only for a no-DP release).

    A row adds 1 to one cell of each of the ``d`` tables, so the concatenated counts
    have L1 sensitivity ``d``: one discrete Laplace release of scale ``d / epsilon``,
    the same as ``d`` tables of ``epsilon / d`` each (sequential composition).
    """
    joints = []
    shapes = []
    for a, par in order:
        pcode, psize = _combine(codes, list(par), card)
        ca = int(card[a])
        joints.append(np.bincount(pcode * ca + codes[:, a], minlength=psize * ca))
        shapes.append((psize, ca))
    flat = np.concatenate(joints)
    if accountant is None:
        noisy_flat = flat.astype(float)
    else:
        noisy_flat = np.maximum(
            laplace_int(
                flat, sensitivity=len(order), accountant=accountant, label="conditionals",
                epsilon=epsilon,
            ),
            0,
        ).astype(float)
    out = []
    pos = 0
    for (a, par), (psize, ca) in zip(order, shapes, strict=True):
        noisy = noisy_flat[pos : pos + psize * ca].reshape(psize, ca)
        pos += psize * ca
        tot = noisy.sum(axis=1, keepdims=True)
        # A parent configuration with no (noisy) mass falls back to the attribute's
        # noisy marginal, or to uniform when that is empty too.
        marg = noisy.sum(axis=0)
        fallback = marg / marg.sum() if marg.sum() > 0 else np.full(ca, 1.0 / ca)
        table = np.where(tot > 0, noisy / np.where(tot > 0, tot, 1.0), fallback[None, :])
        out.append(Conditional(a, tuple(par), table))
    return out


def sample_network(
    conditionals: Sequence[Conditional], card: np.ndarray, n_rows: int, rng: np.random.Generator
) -> np.ndarray:
    """Ancestral sampling of ``n_rows`` code rows (vectorized per node)."""
    out = np.zeros((n_rows, len(card)), dtype=np.int64)
    for node in conditionals:
        pcode, _ = _combine(out, list(node.parents), card)
        cum = np.cumsum(node.table, axis=1)
        cum[:, -1] = 1.0
        u = rng.random(n_rows)
        out[:, node.attribute] = np.minimum(
            (u[:, None] > cum[pcode]).sum(axis=1), node.table.shape[1] - 1
        )
    return out
