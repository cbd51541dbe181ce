"""One held-out execution's simulated estimates: the unit of work of the leave-one-out simulations.

:func:`jobcast.progress.simulation.simulate_strengths` runs :func:`held_out_cases` once per
execution (on a process pool or a Dask cluster) and stacks the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jobcast.progress.arrays import IterationArrays
from jobcast.progress.lengths import length_pairs, length_relevance
from jobcast.progress.prepared import learn_relevance, prepare_history
from jobcast.progress.scaling import ScaleOutModelKind, fit_scale_out_table
from jobcast.progress.similarity import MEASURES

__all__ = ["HeldOut", "cut", "held_out_cases"]


@dataclass(frozen=True, eq=False)
class HeldOut:
    """The cases of one held-out execution at one scale-out strength (see SimulationCases)."""

    similarities: np.ndarray
    valid: np.ndarray
    raw_remaining: np.ndarray
    factors: np.ndarray
    elapsed: np.ndarray
    robust_remaining: np.ndarray
    robust_factor: np.ndarray
    length_ratio: np.ndarray | None


def held_out_cases(
    arrays: IterationArrays,
    row: int,
    iterations: Sequence[int],
    kind: ScaleOutModelKind,
    nodes: dict[str, np.ndarray] | None,
    max_scale_out: int,
    strengths: Sequence[float] = (1.0,),
) -> list[HeldOut]:
    """Cases of one held-out execution per scale-out strength.

    Its own runtimes never enter the models used; the models are fitted once and
    powered to each strength.
    """
    others = np.ones(arrays.n_executions, dtype=bool)
    others[row] = False
    fitted = fit_scale_out_table(
        arrays.runtime, arrays.scale_out, kind=kind, rows=others, max_scale_out=max_scale_out
    )
    current_full = arrays.row(row)
    current_nodes = None if nodes is None else {k: v[row] for k, v in nodes.items()}
    elapsed = np.array([arrays.runtime[row, :i].sum() for i in iterations])
    n_e = arrays.n_executions
    m = len(MEASURES)
    out = []
    # the context attributes' relevance, like the models, is learned without the execution
    relevance = learn_relevance(arrays.subset(others))
    lengths = length_relevance(arrays.subset(others))
    pairs = length_pairs(arrays.context, lengths, n_e)  # the same at every strength
    for strength in strengths:
        prepared = prepare_history(
            arrays,
            fitted.powered(float(strength)),
            nodes=nodes,
            relevance=relevance,
            lengths=lengths,
            pairs=pairs,
        )
        sims = np.full((len(iterations), m, n_e), np.nan)
        valid = np.zeros((len(iterations), n_e), dtype=bool)
        remaining = np.zeros((len(iterations), n_e))
        factors = np.ones((len(iterations), n_e))
        robust_remaining = np.zeros(len(iterations))
        robust_factor = np.ones(len(iterations))
        ratios = np.ones((len(iterations), n_e))
        converts = False
        for c, i in enumerate(iterations):
            current = cut(current_full, int(i))
            cand = prepared.candidates(current, exclude=~others, current_nodes=current_nodes)
            sims[c][:, cand.indices] = cand.similarities
            valid[c, cand.indices] = True
            remaining[c, cand.indices] = cand.raw_remaining
            factors[c, cand.indices] = cand.factors
            robust_remaining[c] = cand.robust_remaining
            robust_factor[c] = cand.robust_factor
            if cand.length_ratio is not None:
                ratios[c, cand.indices] = cand.length_ratio
                converts = True
        out.append(
            HeldOut(
                similarities=sims,
                valid=valid,
                raw_remaining=remaining,
                factors=factors,
                elapsed=elapsed,
                robust_remaining=robust_remaining,
                robust_factor=robust_factor,
                length_ratio=ratios if converts else None,
            )
        )
    return out


def cut(one: IterationArrays, i: int) -> IterationArrays:
    """One execution's first ``i`` iterations, as a running execution sees them."""
    return IterationArrays(
        executions=one.executions,
        n_iter=np.array([i]),
        runtime=one.runtime[:, :i],
        scale_out=one.scale_out[:, :i],
        records=None if one.records is None else one.records[:, :i],
        hardware={k: v[:, :i] for k, v in one.hardware.items()},
        input_size=one.input_size,
        context=one.context,
    )
