"""A history prepared for matching: scale-out-normalised runtimes and the candidate computation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from jobcast.progress.arrays import IterationArrays
from jobcast.progress.context import context_relevance, context_similarity, relevance_targets
from jobcast.progress.inference import adjusted, kind_factors, remaining_estimates
from jobcast.progress.lengths import (
    length_pairs,
    length_ratios,
    length_relevance,
    with_lengths,
)
from jobcast.progress.scaling import ScaleOutTable
from jobcast.progress.similarity import (
    MEASURES,
    _recency_mean,
    hardware_similarity,
    input_size_similarity,
    node_hardware_similarity,
    normalise_records,
    records_similarity,
    scale_out_similarity,
)

__all__ = ["Candidates", "PreparedHistory", "learn_relevance", "prepare_history"]


@dataclass(frozen=True, eq=False)
class Candidates:
    """What every usable previous execution says about one current execution.

    Attributes
    ----------
    indices
        Rows of the history that may be matched: those that ran more iterations
        than the current one has finished (it has not ended), or, when none did,
        those that ran as many; never the current execution itself.
    similarities
        Shape ``(M, k)`` in the order of ``MEASURES``; NaN where a measure lacks data.
    raw_remaining
        Shape ``(k,)``: each candidate's remaining runtime converted to the current
        scale-out, before the adjustment factor (seconds).
    factors
        Shape ``(k,)``: the adjustment factors ``f_total``
        (:func:`jobcast.progress.inference.kind_factors`).
    robust_remaining
        Sum over the remaining iterations of the median over all candidates of that
        iteration's runtime at the current scale-out (0 where a candidate ended): an
        estimate that one candidate's outlier iterations do not move.
    robust_factor
        Median of ``factors``.
    length_ratio
        Shape ``(k,)``: each candidate's remaining iterations converted to the current
        execution's expected count (:func:`jobcast.progress.lengths.length_ratios`),
        applied to the power ``length_strength``; None where the history's runs share
        one length (every ratio 1).
    """

    indices: np.ndarray
    similarities: np.ndarray
    raw_remaining: np.ndarray
    factors: np.ndarray
    robust_remaining: float = float("nan")
    robust_factor: float = 1.0
    length_ratio: np.ndarray | None = None

    def remaining(self, adjustment: float = 1.0, length: float = 0.0) -> np.ndarray:
        """Remaining runtime per candidate with the (damped) adjustment factor applied.

        ``length``: the power of :attr:`length_ratio` applied (``length_strength``).
        """
        out = self.raw_remaining * adjusted(self.factors, adjustment)
        return with_lengths(out, self.length_ratio, length)

    def robust(self, adjustment: float = 1.0) -> float:
        """The robust estimate with the (damped) median adjustment factor applied."""
        return float(self.robust_remaining * adjusted(np.array(self.robust_factor), adjustment))


@dataclass(frozen=True, eq=False)
class PreparedHistory:
    """A history with its per-iteration scale-out table and normalised runtimes.

    Attributes
    ----------
    arrays
        The padded history.
    table
        Per-iteration scale-out models.
    base
        Shape ``(E, N)``: each runtime divided by its iteration's modelled runtime
        at the scale-out it ran with, so ``base * table[j, s]`` is the runtime the
        execution would have had on ``s`` executors; 0 where padded.
    nodes
        Per-node hardware profiles of the history, if hardware samples were given.
    records
        Active records per iteration divided by iteration 0's, if records were given.
    scale_int, scale_ratio
        Scale-outs as integer codes (0 where padded) and the table of
        ``min(a, b) / max(a, b)`` for all pairs of them (NaN against padding), so that
        the scale-out similarity is a lookup.
    relevance
        Per context attribute of ``arrays.context``: its relevance
        (:func:`jobcast.progress.context.context_relevance`), or None.
    lengths
        Per context attribute: its relevance for the runs' iteration counts
        (:func:`jobcast.progress.lengths.length_relevance`), or None.
    """

    arrays: IterationArrays
    table: ScaleOutTable
    base: np.ndarray
    nodes: dict[str, np.ndarray] | None = None
    records: np.ndarray | None = None
    scale_int: np.ndarray | None = None
    scale_ratio: np.ndarray | None = None
    relevance: np.ndarray | None = None
    lengths: np.ndarray | None = None
    length_pairs: np.ndarray | None = None

    def candidates(
        self,
        current: IterationArrays,
        *,
        exclude: np.ndarray | None = None,
        current_nodes: dict[str, np.ndarray] | None = None,
    ) -> Candidates:
        """Similarities and per-candidate remaining-runtime estimates for ``current``.

        Parameters
        ----------
        current
            One execution's finished iterations ``0..i-1`` (a one-row history).
        exclude
            Boolean mask ``(E,)`` of history rows never to use.
        current_nodes
            The current execution's per-node profiles, metric -> ``(K,)``.

        Returns
        -------
        Candidates
        """
        hist = self.arrays
        i = int(current.n_iter[0])
        runtime = current.runtime[0, :i]
        scale = current.scale_out[0, :i]
        valid = (hist.n_iter >= i) & (i <= hist.max_iterations)
        if exclude is not None:
            valid &= ~exclude
        # the current execution has not ended: it runs (or will run) iteration i + 1, so
        # executions that ended after exactly i iterations are not like it, unless no
        # other execution ran longer
        longer = valid & (hist.n_iter > i)
        if longer.any():
            valid = longer
        idx = np.flatnonzero(valid)
        k = idx.size
        # all rows usable (the common case): slices instead of copies
        rows: slice | np.ndarray = slice(None) if k == hist.n_executions else idx
        sims = np.full((len(MEASURES), k), np.nan)
        if k == 0:
            empty = np.zeros(0)
            return Candidates(indices=idx, similarities=sims, raw_remaining=empty, factors=empty)
        past = np.arange(i)
        model_now = self.table.lookup(past, scale)
        comparable = self.base[rows, :i] * model_now
        # runtime similarity and f_total both come from the ratios current / similar;
        # computed once (equal to runtime_similarity and adjustment_factors)
        ratios = runtime[None, :] / comparable
        sims[0] = _recency_mean(np.minimum(ratios, 1.0 / ratios))
        if current.records is not None and self.records is not None:
            cur_records = normalise_records(current.records[:, :i])[0]
            sims[1] = records_similarity(cur_records, self.records[rows, :i], normalised=True)
        hw = None
        if current_nodes and self.nodes:
            hw = node_hardware_similarity(
                current_nodes, {m: v[idx] for m, v in self.nodes.items()}
            )
        if hw is None and current.hardware and hist.hardware:
            hw = hardware_similarity(
                {m: v[0, :i] for m, v in current.hardware.items()},
                {m: v[idx, :i] for m, v in hist.hardware.items()},
            )
        if hw is not None:
            sims[2] = hw
        if current.input_size is not None and hist.input_size is not None:
            sims[3] = input_size_similarity(float(current.input_size[0]), hist.input_size[idx])
        if (
            self.scale_ratio is not None
            and self.scale_int is not None
            and scale.max() < self.scale_ratio.shape[0]
        ):
            # min/max of integer scale-outs, looked up instead of computed
            cur_int = scale.astype(np.int64)
            sims[4] = _recency_mean(
                self.scale_ratio[cur_int[None, :], self.scale_int[rows, :i]]
            )
        else:
            sims[4] = scale_out_similarity(scale, hist.scale_out[rows, :i])
        if current.context is not None and hist.context is not None and self.relevance is not None:
            ctx = context_similarity(current.context, hist.context.subset(idx), self.relevance)
            if ctx is not None:
                sims[5] = ctx
        now = self.table.lookup(np.arange(i, hist.max_iterations), np.array(scale[-1]))
        raw = remaining_estimates(self.base[rows, i:], now, 1.0)
        # f_total per future iteration, from the past iterations of its kind, as far as
        # the candidates' own iterations of that kind carried over (see kind_factors)
        factors = kind_factors(
            runtime / model_now, self.base[rows], i=i,
            past_model=self.table.lookup(past, np.array(scale[-1])), future_model=now, raw=raw,
        )
        robust = float(np.median(self.base[rows, i:] * now[None, :], axis=0).sum())
        ratio = length_ratios(
            current.context,
            None if hist.context is None else hist.context.subset(idx),
            hist.n_iter[idx],
            i,
            self.lengths,
            None if self.length_pairs is None else self.length_pairs[np.ix_(idx, idx)],
        )
        return Candidates(
            indices=idx,
            similarities=sims,
            raw_remaining=raw,
            factors=factors,
            robust_remaining=robust,
            robust_factor=float(np.median(factors)),
            length_ratio=ratio,
        )


def prepare_history(
    arrays: IterationArrays,
    table: ScaleOutTable,
    *,
    nodes: dict[str, np.ndarray] | None = None,
    relevance: np.ndarray | None = None,
    lengths: np.ndarray | None | Literal["learn"] = "learn",
    pairs: np.ndarray | None = None,
) -> PreparedHistory:
    """Normalise the history's runtimes by the scale-out table.

    Parameters
    ----------
    arrays
        The padded history.
    table
        Scale-out table with at least ``N`` iteration rows.
    nodes
        Optional per-node hardware profiles aligned with the rows of ``arrays``.
    relevance
        Relevance of the context attributes; None learns it from every execution of
        ``arrays`` (:func:`learn_relevance`).
    lengths
        Relevance of the context attributes for the iteration counts (None: runs are
        not converted between lengths); ``"learn"`` learns it from every execution of
        ``arrays`` (:func:`jobcast.progress.lengths.length_relevance`).
    pairs
        :func:`jobcast.progress.lengths.length_pairs` of ``arrays`` for ``lengths`` when
        computed already (several scale-out tables, one history); None computes them.

    Returns
    -------
    PreparedHistory
    """
    n = arrays.max_iterations
    modelled = table.lookup(np.arange(n)[None, :], arrays.scale_out)
    with np.errstate(invalid="ignore"):
        base = np.nan_to_num(arrays.runtime / modelled, nan=0.0)
    records = None if arrays.records is None else normalise_records(arrays.records)
    scale = np.nan_to_num(arrays.scale_out, nan=0.0)
    top = 2 * int(scale.max(initial=1)) + 1
    levels = np.arange(top, dtype=np.float64)
    ratio = scale_ratio_table(levels)
    if isinstance(lengths, str):
        lengths = length_relevance(arrays)
    return PreparedHistory(
        arrays=arrays,
        table=table,
        base=base,
        nodes=nodes,
        records=records,
        scale_int=scale.astype(np.int64),
        scale_ratio=ratio,
        relevance=learn_relevance(arrays) if relevance is None else relevance,
        lengths=lengths,
        length_pairs=(
            length_pairs(arrays.context, lengths, arrays.n_executions) if pairs is None else pairs
        ),
    )


def learn_relevance(arrays: IterationArrays) -> np.ndarray | None:
    """Relevance of the history's context attributes, learned from its executions alone.

    None without attributes; all 0 when none explains the executions' iterations or
    runtimes beyond chance (:func:`jobcast.progress.context.context_relevance`).
    """
    if arrays.context is None:
        return None
    return context_relevance(arrays.context, relevance_targets(arrays.runtime, arrays.n_iter))


def scale_ratio_table(levels: np.ndarray) -> np.ndarray:
    """``min / max`` of every pair of scale-outs; level 0 (padding) gives NaN."""
    lo = np.minimum.outer(levels, levels)
    hi = np.maximum.outer(levels, levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = lo / hi
    out[0, :] = np.nan
    out[:, 0] = np.nan
    return out
