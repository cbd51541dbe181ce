"""Small synthetic runtime tables with distinctive raw values (to detect leaks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.privacy import CategoricalDomain, Domain, NumericDomain

#: a row count and raw extremes that must never appear in any output
N_ROWS = 137
RAW_MIN = 123.456789
RAW_MAX = 4321.987654


def make_frame(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.choice([2, 4, 6, 8], size=n)
    size = rng.choice([1000.0, 2000.0, 4000.0], size=n)
    mt = rng.choice(["small", "large"], size=n)
    rt = 40.0 + 0.3 * size / m * np.where(mt == "large", 0.7, 1.0)
    rt = rt * np.exp(rng.normal(0, 0.05, n))
    rt = np.clip(rt, RAW_MIN + 1, RAW_MAX - 1)
    rt[0], rt[1] = RAW_MIN, RAW_MAX
    return pd.DataFrame(
        {"instance_count": m, "machine_type": mt, "data_size_MB": size, "gross_runtime": rt}
    )


def make_domain(*, runtime: NumericDomain | None = None) -> Domain:
    return Domain(
        (
            ("instance_count", NumericDomain(values=(2, 4, 6, 8), integer=True, log=True)),
            ("machine_type", CategoricalDomain(("small", "large", "xlarge"))),
            ("data_size_MB", NumericDomain(values=(1000, 2000, 4000), log=True)),
            (
                "gross_runtime",
                runtime or NumericDomain(lower=10.0, upper=20000.0, log=True, bins=16),
            ),
        )
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def domain() -> Domain:
    return make_domain()
