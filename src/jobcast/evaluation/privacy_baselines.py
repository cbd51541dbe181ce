"""Baselines and attacks of the privacy experiments: DataSynthesizer, anonymeter risks, secrets.

DataSynthesizer 0.1.13 runs as the paper ran it (it reads its own raw extremes,
categories and row count).  The risks of a share are anonymeter's singling-out,
linkability and attribute-inference risks (original = the 80 %, control = the 20 %)
and the distance to the closest record; the *secrets* experiment asks how well an
attacker holding the share infers the job's dataset sizes (the business facts).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import MissingExtraError
from jobcast.evaluation.privacy_domains import RUNTIME, c3o_paper_domain
from jobcast.privacy import NumericDomain

__all__ = [
    "SECRET_COLUMNS",
    "DataSynthesizerBaseline",
    "RiskRecord",
    "SecretRecord",
    "risk",
    "secret_inference",
]

#: The dataset-size columns of each c3o-paper job: the business facts a share must hide.
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "grep": ("data_size_MB",),
    "kmeans": ("observations",),
    "linearregression": ("observations",),
    "pagerank": ("links", "pages"),
    "sort": ("data_size_MB",),
}


class DataSynthesizerBaseline:
    """DataSynthesizer 0.1.13's correlated attribute mode, as the paper ran it.

    It reads the raw data itself (its own min/max, categories, row count) and only
    supports global seeding, so it runs in a temporary directory with ``random`` and
    ``numpy.random`` seeded right before describing and generating.

    Parameters
    ----------
    epsilon
        Its nominal ε; ``None`` runs it with ``epsilon=0`` (its "no DP" switch).
    k
        Degree of the Bayesian network.
    category_threshold
        Columns with at most this many distinct values are categorical.
    random_state
        Seed.
    """

    def __init__(
        self,
        *,
        epsilon: float | None = 1.0,
        k: int = 2,
        category_threshold: int = 20,
        random_state: int | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.k = k
        self.category_threshold = category_threshold
        self.random_state = random_state

    def fit(self, frame: pd.DataFrame) -> DataSynthesizerBaseline:
        """Describe ``frame`` (DataDescriber, correlated attribute mode)."""
        try:
            from DataSynthesizer.DataDescriber import DataDescriber
        except ImportError as e:
            raise MissingExtraError(
                "DataSynthesizer", "bench", "Comparing with DataSynthesizer"
            ) from e
        self._dir = tempfile.TemporaryDirectory(prefix="jobcast-ds-")
        src = os.path.join(self._dir.name, "input.csv")
        frame.to_csv(src, index=False)
        self.description_ = os.path.join(self._dir.name, "description.json")
        seed = 0 if self.random_state is None else int(self.random_state)
        random.seed(seed)
        np.random.seed(seed)  # DataSynthesizer only supports global seeding
        eps = 0 if self.epsilon is None else float(self.epsilon)
        with contextlib.redirect_stdout(io.StringIO()):
            describer = DataDescriber(category_threshold=self.category_threshold)
            describer.describe_dataset_in_correlated_attribute_mode(
                dataset_file=src, epsilon=eps, k=self.k
            )
            describer.save_dataset_description_to_file(self.description_)
        self.columns_ = list(frame.columns)
        return self

    def sample(self, n_rows: int) -> pd.DataFrame:
        """Generate ``n_rows`` rows (DataGenerator)."""
        from DataSynthesizer.DataGenerator import DataGenerator

        seed = 0 if self.random_state is None else int(self.random_state)
        with contextlib.redirect_stdout(io.StringIO()):
            gen = DataGenerator()
            gen.generate_dataset_in_correlated_attribute_mode(n_rows, self.description_, seed=seed)
        out = gen.synthetic_dataset
        return out[self.columns_].apply(pd.to_numeric, errors="coerce")


@dataclass(frozen=True)
class RiskRecord:
    """Risks of one share against its original rows."""

    job: str
    method: str
    epsilon: float | None
    singling_out: float
    linkability: float
    inference: float
    dcr_synthetic_median: float
    dcr_holdout_median: float
    closer_than_holdout: float


@dataclass(frozen=True)
class SecretRecord:
    """How well a share's holder infers one secret (dataset-size) column of a job.

    ``inference`` is anonymeter's attribute-inference risk of the column (the other
    columns known); ``median_error`` the relative error of the best estimate of the
    job's median value of the column from the share (its median over the rows).
    """

    job: str
    method: str
    domains: str
    epsilon: float | None
    column: str
    inference: float
    median_error: float


def _dcr(job: str, train: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """Distance of each row of ``other`` to its closest row of ``train``.

    Columns scaled to [0, 1] by their *declared* domain (log scale where declared).
    """
    dom = c3o_paper_domain(job)

    def scale(f: pd.DataFrame) -> np.ndarray:
        cols = []
        for name in dom.names:
            d = dom[name]
            assert isinstance(d, NumericDomain) and d.lower is not None and d.upper is not None
            x = f[name].to_numpy(dtype=float)
            if d.log:
                x, lo, hi = np.log(np.maximum(x, 1e-300)), math.log(d.lower), math.log(d.upper)
            else:
                lo, hi = d.lower, d.upper
            cols.append((x - lo) / (hi - lo) if hi > lo else np.zeros_like(x))
        return np.column_stack(cols)

    a, b = scale(train), scale(other)
    dist = np.sqrt(((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2))
    return dist.min(axis=1)


def risk(
    job: str, method: str, *, epsilon: float | None, train: pd.DataFrame, test: pd.DataFrame,
    syn: pd.DataFrame, n_attacks: int, seed: int,
) -> RiskRecord:
    """Anonymeter's three risks of one share and its distances to the closest record."""
    try:
        from anonymeter.evaluators import (
            InferenceEvaluator,
            LinkabilityEvaluator,
            SinglingOutEvaluator,
        )
    except ImportError as e:
        raise MissingExtraError("anonymeter", "risk", "Measuring privacy risk") from e
    cols = list(train.columns)
    n = min(n_attacks, len(test))
    with contextlib.redirect_stdout(io.StringIO()), _quiet_warnings():
        so = SinglingOutEvaluator(ori=train, syn=syn, control=test, n_attacks=n, seed=seed)
        so.evaluate(mode="univariate")
        half = max(len(cols) // 2, 1)
        link = LinkabilityEvaluator(
            ori=train, syn=syn, control=test, n_attacks=n,
            aux_cols=(cols[:half], cols[half:]), n_neighbors=1,
        )
        link.evaluate(n_jobs=1)
        inf = InferenceEvaluator(
            ori=train, syn=syn, control=test, aux_cols=[c for c in cols if c != RUNTIME],
            secret=RUNTIME, regression=True, n_attacks=n,
        )
        inf.evaluate(n_jobs=1)
    d_syn = _dcr(job, train, syn)
    d_hold = _dcr(job, train, test)
    return RiskRecord(
        job=job,
        method=method,
        epsilon=epsilon,
        singling_out=float(so.risk().value),
        linkability=float(link.risk().value),
        inference=float(inf.risk().value),
        dcr_synthetic_median=float(np.median(d_syn)),
        dcr_holdout_median=float(np.median(d_hold)),
        closer_than_holdout=float(np.mean(d_syn < np.median(d_hold))),
    )


@contextlib.contextmanager
def _quiet_warnings() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def secret_inference(
    job: str, method: str, *, domains: str, epsilon: float | None, train: pd.DataFrame,
    test: pd.DataFrame, syn: pd.DataFrame, n_attacks: int, seed: int,
) -> list[SecretRecord]:
    """Anonymeter's inference risk and the median's error for each secret column."""
    try:
        from anonymeter.evaluators import InferenceEvaluator
    except ImportError as e:
        raise MissingExtraError("anonymeter", "risk", "Measuring privacy risk") from e
    out = []
    n = min(n_attacks, len(test))
    for col in SECRET_COLUMNS[job]:
        with contextlib.redirect_stdout(io.StringIO()), _quiet_warnings():
            inf = InferenceEvaluator(
                ori=train, syn=syn, control=test, aux_cols=[c for c in train.columns if c != col],
                secret=col, regression=True, n_attacks=n,
            )
            inf.evaluate(n_jobs=1)
        truth = float(np.median(train[col].to_numpy(dtype=float)))
        guess = float(np.median(pd.to_numeric(syn[col], errors="coerce").dropna()))
        out.append(
            SecretRecord(
                job=job, method=method, domains=domains, epsilon=epsilon, column=col,
                inference=float(inf.risk().value), median_error=abs(guess - truth) / abs(truth),
            )
        )
    return out
