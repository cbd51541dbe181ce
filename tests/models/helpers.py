"""Test data for the runtime models: shared traces read from ../shared, synthetic sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.conftest import shared_file


def load_c3o_paper(job: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a c3o-paper trace from ../shared with the paper's filters."""
    path = shared_file("c3o-paper", f"{job}.csv")
    frame = pd.read_csv(path).rename(columns={"instance_count": "scale_out"})
    if job in ("kmeans", "linearregression"):
        frame = frame[frame["scale_out"] > 2].reset_index(drop=True)
    y = frame.pop("gross_runtime").to_numpy(dtype=float)
    return frame, y


def load_c3o(job: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a c3o trace (several machine types) from ../shared."""
    path = shared_file("c3o", f"{job}.tsv")
    frame = pd.read_csv(path, sep="\t").rename(columns={"instance_count": "scale_out"})
    y = frame.pop("gross_runtime").to_numpy(dtype=float)
    return frame, y


def ernest_data(rng: np.random.Generator, n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    """Executions generated from Ernest's own formula (known coefficients), 1 % noise."""
    m = rng.choice([2, 4, 6, 8, 10, 12, 16], size=n).astype(float)
    size = rng.choice([100.0, 200.0, 300.0, 400.0], size=n)
    y = 10.0 + 0.5 * size / m + 3.0 * np.log(m) + 0.2 * m
    y = y * (1.0 + 0.01 * rng.standard_normal(n))
    return pd.DataFrame({"scale_out": m, "size": size}), y
