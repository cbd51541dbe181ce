"""Synthetic iteration histories with known structure for the progress tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ernest_runtime(profile: np.ndarray, scale_out: np.ndarray) -> np.ndarray:
    """Runtime of iteration j on s executors: profile[j] * (1 + 20 / s)."""
    return profile * (1.0 + 20.0 / scale_out)


def make_history(
    n_exec: int = 30,
    n_iter: int = 20,
    *,
    seed: int = 0,
    speeds: tuple[float, ...] = (0.7, 1.0, 1.6),
    noise: float = 0.05,
    rescale_share: float = 0.3,
    with_records: bool = False,
    with_input: bool = False,
) -> pd.DataFrame:
    """Executions in a few clusters of speed and per-iteration cost profile.

    Some executions change scale-out mid-run. An execution's cluster shows in
    every iteration's runtime, and the clusters' profiles differ in shape (not
    only by a factor), so executions of the same cluster predict each other's
    remaining runtime far better than the others do.
    """
    rng = np.random.default_rng(seed)
    j = np.arange(n_iter)
    rows = []
    for e in range(n_exec):
        cluster = int(rng.integers(len(speeds)))
        speed = speeds[cluster]
        profile = 5.0 + 3.0 * np.sin(j * (0.5 + 0.6 * cluster) + cluster)
        s0 = int(rng.choice([4, 8, 16]))
        scale = np.full(n_iter, s0)
        if n_iter >= 5 and rng.random() < rescale_share:
            switch = int(rng.integers(2, n_iter - 2))
            scale[switch:] = int(rng.choice([4, 8, 16]))
        runtime = ernest_runtime(profile, scale) * speed
        runtime = runtime * rng.lognormal(0.0, noise, n_iter)
        frame = pd.DataFrame(
            {
                "execution": f"run-{e}",
                "iteration": np.arange(n_iter),
                "duration_s": runtime,
                "scale_out": scale,
            }
        )
        if with_records:
            frame["records"] = 1e6 * np.exp(-np.arange(n_iter) * (0.1 * (cluster + 1)))
        if with_input:
            frame["input_size"] = 1000.0 * (cluster + 1)
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
