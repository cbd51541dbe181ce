"""Iteration histories as padded numpy arrays (one row per execution, one column per iteration)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.progress.context import ContextAttributes, context_attributes

__all__ = [
    "HARDWARE_METRICS",
    "IterationArrays",
    "NodeProfiles",
    "REQUIRED_COLUMNS",
    "check_current",
    "node_profiles",
    "to_arrays",
]

#: Columns every iteration frame must have.
REQUIRED_COLUMNS = ("execution", "iteration", "duration_s", "scale_out")

#: Per-iteration resource columns compared by the hardware measure.
HARDWARE_METRICS = ("cpu", "disk", "net")


@dataclass(frozen=True, eq=False)
class IterationArrays:
    """An iteration history as padded arrays; missing cells are NaN.

    Attributes
    ----------
    executions
        Execution ids in row order, shape ``(E,)`` (object array).
    n_iter
        Number of iterations of each execution, shape ``(E,)``.
    runtime
        Iteration runtimes in seconds, shape ``(E, N)``.
    scale_out
        Executors while each iteration ran, shape ``(E, N)`` (float, NaN padded).
    records
        Active data records per iteration, shape ``(E, N)``, or None.
    hardware
        Per-iteration means of ``cpu``, ``disk``, ``net`` (only those present).
    input_size
        Input size per execution, shape ``(E,)``, or None.
    context
        The executions' other context attributes (:mod:`jobcast.progress.context`),
        or None.
    """

    executions: np.ndarray
    n_iter: np.ndarray
    runtime: np.ndarray
    scale_out: np.ndarray
    records: np.ndarray | None = None
    hardware: dict[str, np.ndarray] = field(default_factory=dict)
    input_size: np.ndarray | None = None
    context: ContextAttributes | None = None

    @property
    def n_executions(self) -> int:
        """Number of executions ``E``."""
        return int(self.runtime.shape[0])

    @property
    def max_iterations(self) -> int:
        """Number of iteration columns ``N``."""
        return int(self.runtime.shape[1])

    def subset(self, rows: np.ndarray) -> IterationArrays:
        """Return the executions at ``rows`` (indices or boolean mask)."""
        return IterationArrays(
            executions=self.executions[rows],
            n_iter=self.n_iter[rows],
            runtime=self.runtime[rows],
            scale_out=self.scale_out[rows],
            records=None if self.records is None else self.records[rows],
            hardware={k: v[rows] for k, v in self.hardware.items()},
            input_size=None if self.input_size is None else self.input_size[rows],
            context=None if self.context is None else self.context.subset(rows),
        )

    def head(self, n: int) -> IterationArrays:
        """The first ``n`` iterations of every execution (``n_iter`` capped at ``n``)."""
        return IterationArrays(
            executions=self.executions,
            n_iter=np.minimum(self.n_iter, n),
            runtime=self.runtime[:, :n],
            scale_out=self.scale_out[:, :n],
            records=None if self.records is None else self.records[:, :n],
            hardware={k: v[:, :n] for k, v in self.hardware.items()},
            input_size=self.input_size,
            context=self.context,
        )

    def row(self, index: int) -> IterationArrays:
        """Return one execution, cut to its own length, as a one-row history."""
        return self.subset(np.array([index])).head(int(self.n_iter[index]))


def _check_columns(frame: pd.DataFrame, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"The {what} must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"The {what} lacks the column(s) {missing}; an iteration frame needs "
            f"{list(REQUIRED_COLUMNS)} (optional: records, cpu, disk, net, input_size)."
        )


def _numeric(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    try:  # fast path for numeric columns; pandas' converter handles the rest
        return np.asarray(frame[column].to_numpy(dtype=np.float64, na_value=np.nan))
    except (TypeError, ValueError):
        pass
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"Column {column!r} of the {what} must be numeric: {e}") from e
    return values


def _validate_values(frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    iteration = _numeric(frame, "iteration", what)
    duration = _numeric(frame, "duration_s", what)
    scale = _numeric(frame, "scale_out", what)
    checks = (
        (
            "iteration",
            iteration,
            (iteration >= 0) & (iteration == np.round(iteration)),
            "an integer >= 0",
        ),
        ("duration_s", duration, np.isfinite(duration) & (duration > 0), "a number > 0"),
        ("scale_out", scale, (scale > 0) & (scale == np.round(scale)), "an integer > 0"),
    )
    for name, values, ok, rule in checks:
        bad = np.flatnonzero(~ok)
        if bad.size:
            row = int(bad[0])
            raise InputError(
                f"Row {row} of the {what}: column {name!r} must be {rule}, "
                f"got {values[row]!r}; fix or drop that row."
            )
    return iteration.astype(np.int64), duration, scale


def to_arrays(frame: pd.DataFrame, *, what: str = "iteration history") -> IterationArrays:
    """Turn an iteration frame into padded arrays.

    Parameters
    ----------
    frame
        Canonical iteration frame: ``execution, iteration, duration_s, scale_out`` and
        optionally ``records``, ``cpu``, ``disk``, ``net``, ``input_size``.
    what
        Name of the frame in error messages.

    Returns
    -------
    IterationArrays
        Executions in order of first appearance; iterations by their index.

    Raises
    ------
    jobcast.errors.InputError
        On missing columns, bad values, duplicate or missing iterations.
    """
    _check_columns(frame, what)
    iteration, duration, scale = _validate_values(frame, what)
    codes, executions = pd.factorize(frame["execution"], sort=False)
    if (codes < 0).any():
        raise InputError(f"The {what} has rows without an execution id; fill 'execution'.")
    n_exec = len(executions)
    n_cols = int(iteration.max()) + 1 if len(iteration) else 0
    flat = codes.astype(np.int64) * max(n_cols, 1) + iteration
    if len(np.unique(flat)) != len(flat):
        dup = pd.Series(flat).duplicated().to_numpy().nonzero()[0][0]
        raise InputError(
            f"The {what} holds iteration {int(iteration[dup])} of execution "
            f"{executions[codes[dup]]!r} twice; keep one row per iteration."
        )
    counts = np.bincount(codes, minlength=n_exec)
    last = np.full(n_exec, -1, dtype=np.int64)
    np.maximum.at(last, codes, iteration)
    gaps = np.flatnonzero(last + 1 != counts)
    if gaps.size:
        e = executions[gaps[0]]
        raise InputError(
            f"Execution {e!r} of the {what} has {counts[gaps[0]]} rows but iterations up to "
            f"{last[gaps[0]]}; iterations must be numbered 0, 1, 2, ... without gaps."
        )

    def pad(values: np.ndarray) -> np.ndarray:
        out = np.full((n_exec, n_cols), np.nan)
        out[codes, iteration] = values
        return out

    records = None
    if "records" in frame.columns and frame["records"].notna().any():
        records = pad(_numeric(frame, "records", what))
    hardware = {
        m: pad(_numeric(frame, m, what))
        for m in HARDWARE_METRICS
        if m in frame.columns and frame[m].notna().any()
    }
    input_size = None
    if "input_size" in frame.columns and frame["input_size"].notna().any():
        sizes = pd.Series(_numeric(frame, "input_size", what)).groupby(codes).mean()
        input_size = sizes.reindex(range(n_exec)).to_numpy(dtype=np.float64)
    return IterationArrays(
        executions=np.asarray(executions, dtype=object),
        n_iter=counts.astype(np.int64),
        runtime=pad(duration),
        scale_out=pad(scale),
        records=records,
        hardware=hardware,
        input_size=input_size,
        context=context_attributes(frame, codes.astype(np.int64), n_exec),
    )


def check_current(frame: pd.DataFrame) -> IterationArrays:
    """Check the running execution's iterations so far and return them as a one-row history.

    The ``execution`` column may be absent (then the execution is anonymous) but must
    hold a single id when present.

    Raises
    ------
    jobcast.errors.InputError
        When the frame is empty, holds several executions or is malformed.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"The current execution must be a pandas DataFrame, got {type(frame).__name__}."
        )
    if "execution" not in frame.columns:
        frame = frame.assign(execution="<current>")
    if len(frame) == 0:
        raise InputError(
            "The current execution has no finished iteration yet; an estimate needs at "
            "least one iteration's runtime."
        )
    ids = pd.unique(frame["execution"])
    if len(ids) != 1:
        raise InputError(
            f"The current execution frame holds {len(ids)} executions ({list(ids)[:5]}); "
            "pass the rows of one running execution."
        )
    what = "current execution"
    _check_columns(frame, what)
    iteration, duration, scale = _validate_values(frame, what)
    order = np.argsort(iteration, kind="stable")
    n = len(order)
    if not np.array_equal(iteration[order], np.arange(n)):
        raise InputError(
            f"The {what} has iterations {sorted(iteration.tolist())[:10]}...; they must be "
            "numbered 0, 1, 2, ... without gaps or repeats."
        )

    def column(name: str) -> np.ndarray | None:
        if name not in frame.columns:
            return None
        values = _numeric(frame, name, what)[order]
        return None if np.isnan(values).all() else values[None, :]

    hardware = {}
    for metric in HARDWARE_METRICS:
        values = column(metric)
        if values is not None:
            hardware[metric] = values
    sizes = column("input_size")
    return IterationArrays(
        executions=np.asarray(ids, dtype=object),
        n_iter=np.array([n], dtype=np.int64),
        runtime=duration[order][None, :],
        scale_out=scale[order][None, :],
        records=column("records"),
        hardware=hardware,
        input_size=None if sizes is None else np.array([float(np.nanmean(sizes))]),
        context=context_attributes(frame, np.zeros(len(frame), dtype=np.int64), 1),
    )


@dataclass(frozen=True, eq=False)
class NodeProfiles:
    """Per-node resource averages of executions, sorted and resampled to a common length.

    Attributes
    ----------
    executions
        Execution ids, shape ``(E,)``.
    profiles
        Metric name -> array ``(E, K)``: the per-node averages of each execution
        sorted in descending order and linearly resampled to ``K`` points, so that
        executions on different numbers of nodes can be compared pair-wise.
    """

    executions: np.ndarray
    profiles: dict[str, np.ndarray]

    def lookup(self, executions: Sequence[Hashable]) -> dict[str, np.ndarray]:
        """Profiles for ``executions`` in that order (NaN rows where unknown)."""
        index = {e: i for i, e in enumerate(self.executions.tolist())}
        rows = np.array([index.get(e, -1) for e in executions], dtype=np.int64)
        out = {}
        for metric, values in self.profiles.items():
            picked = np.full((len(rows), values.shape[1]), np.nan)
            known = rows >= 0
            picked[known] = values[rows[known]]
            out[metric] = picked
        return out


#: How the columns of a hardware sample frame are summed into the compared metrics.
_SAMPLE_METRICS = {
    "cpu": ("cpu",),
    "disk": ("disk_read", "disk_write"),
    "net": ("net_rx", "net_tx"),
}


def _resample_sorted(values: np.ndarray, k: int) -> np.ndarray:
    ordered = np.sort(values)[::-1]
    if len(ordered) == k:
        return ordered
    if len(ordered) == 1:
        return np.full(k, ordered[0])
    src = np.linspace(0.0, 1.0, len(ordered))
    return np.interp(np.linspace(0.0, 1.0, k), src, ordered)


def node_profiles(samples: pd.DataFrame, *, n_points: int | None = None) -> NodeProfiles:
    """Sorted per-node averages of cpu, disk and network per execution.

    Parameters
    ----------
    samples
        Hardware samples: ``execution, node, timestamp, cpu, disk_read, disk_write,
        net_rx, net_tx`` (the metric columns that are present are used).
    n_points
        Length ``K`` the sorted node vectors are resampled to; default the largest
        number of nodes of any execution.

    Returns
    -------
    NodeProfiles

    Raises
    ------
    jobcast.errors.InputError
        When ``execution`` or ``node`` is missing, or no metric column is present.
    """
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"Hardware samples must be a DataFrame, got {type(samples).__name__}.")
    for column in ("execution", "node"):
        if column not in samples.columns:
            raise InputError(
                f"Hardware samples lack the column {column!r}; expected execution, node, "
                "timestamp, cpu, disk_read, disk_write, net_rx, net_tx."
            )
    metrics = {
        name: [c for c in cols if c in samples.columns] for name, cols in _SAMPLE_METRICS.items()
    }
    metrics = {name: cols for name, cols in metrics.items() if cols}
    if not metrics:
        raise InputError(
            "Hardware samples hold none of cpu, disk_read, disk_write, net_rx, net_tx."
        )
    frame = pd.DataFrame({"execution": samples["execution"], "node": samples["node"]})
    for name, cols in metrics.items():
        frame[name] = sum(
            pd.to_numeric(samples[c], errors="coerce").to_numpy(dtype=np.float64) for c in cols
        )
    per_node = frame.groupby(["execution", "node"], sort=False).mean()
    executions = pd.unique(frame["execution"])
    groups = {e: g for e, g in per_node.groupby(level=0, sort=False)}
    k = n_points or max(len(g) for g in groups.values())
    profiles = {}
    for name in metrics:
        rows = []
        for e in executions:
            values = groups[e][name].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            rows.append(_resample_sorted(values, k) if values.size else np.full(k, np.nan))
        profiles[name] = np.vstack(rows)
    return NodeProfiles(executions=np.asarray(executions, dtype=object), profiles=profiles)
