"""The privacy paper's experiments on c3o-paper: utility, synthesis time and risk of DP shares.

Will, Scheinert, Zunzer, Bode, Kring, Thamsen, "Privacy-Preserving Sharing of Data
Analytics Runtime Metrics for Performance Modeling" (ICPE'24 companion) evaluate
DataSynthesizer shares with three experiments, reproduced here for every ε in
:data:`EPSILONS` and without DP, for jobcast's synthesizers side by side with
DataSynthesizer 0.1.13 at the same *nominal* ε:

1. ``train_sizes``: 80/20 split; synthetic training sets of 100..1100 rows synthesized
   from the 80 %; gradient boosting and Ernest trained on them; MAPE on the 20 %.
2. ``small``: 3..30 original rows (from the 80 %) -> 1000 synthetic rows; MAPE on the 20 %.
3. ``time``: describing and generating 1000 rows.

Risk: anonymeter's singling-out, linkability and attribute-inference risks of a share
(original = the 80 %, control = the 20 %) and the distance to the closest record.

Declared (public) domains used for c3o-paper -- what a user would know without looking
at the private rows (:func:`c3o_paper_domain`):

* ``instance_count``: the scale-outs offered/used, ``2, 4, ..., 12`` (a grid; exact);
  ``4, ..., 12`` for kmeans and linearregression, whose scale-out 2 runs the paper
  drops as memory-bound before any analysis (a public protocol choice, so those rows
  are never shared and the shared domain does not offer them).
* job parameters and dataset sizes: the C3O experiment grids, published with the
  C3O data set (Will et al., IC2E 2021) -- e.g. grep's ``p_occurrence`` 0..1 in steps
  of 0.25 and its input sizes 10100..20200 MB.  They are the experiment designer's
  public parameter grids, written out literally below, never computed from the rows.
  A team whose input sizes are confidential declares them as log-scale bounds instead
  (then they are binned and drawn inside bins) or leaves them undeclared (then their
  range is bought with budget).
* ``gross_runtime``: plausible public bounds of 10 s .. 4 h for a batch Spark job,
  log scale.  The runtime *window* inside them is bought with budget by ``perfmodel``.

DataSynthesizer reads its own raw minimum/maximum, categories and row count from the
data (its documented behaviour), so it gets no declared domain.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError, MissingExtraError
from jobcast.privacy import Domain, NumericDomain, make_synthesizer

__all__ = [
    "C3O_PAPER_JOBS",
    "EPSILONS",
    "DEFAULT_DATA_DIR",
    "c3o_paper_domain",
    "load_c3o_paper",
    "DataSynthesizerBaseline",
    "synthesize",
    "UtilityRecord",
    "TimingRecord",
    "RiskRecord",
    "PrivacyEvaluation",
    "evaluate_privacy",
    "plot_utility",
]

logger = logging.getLogger(__name__)

C3O_PAPER_JOBS: tuple[str, ...] = ("grep", "kmeans", "linearregression", "pagerank", "sort")
EPSILONS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "c3o-paper"
RUNTIME = "gross_runtime"
SCALE_OUT = "instance_count"
DATASYNTHESIZER = "datasynthesizer"

Callback = Callable[[str, int, int], None]

# Public domains (see the module docstring): the C3O experiment grids, literally.
_SCALE_OUTS = (2, 4, 6, 8, 10, 12)
_FILTERED = ("kmeans", "linearregression")  # the paper drops instance_count <= 2
_GRIDS: dict[str, dict[str, tuple[tuple[float, ...], bool, bool]]] = {
    # column: (grid values, log scale, integer)
    "grep": {
        "data_size_MB": ((10100, 12625, 15150, 17675, 20200), True, True),
        "p_occurrence": ((0.0, 0.25, 0.5, 0.75, 1.0), False, False),
    },
    "kmeans": {
        "observations": ((1e8, 1.25e8, 1.5e8, 1.75e8, 2e8), True, True),
        "features": ((5, 10, 15), True, True),
        "k": ((3, 5, 7, 9), True, True),
    },
    "linearregression": {
        "observations": ((1e8, 1.5e8, 2e8, 2.5e8, 3e8), True, True),
        "features": ((5, 10, 15), True, True),
        "iterations": ((1, 25, 50, 100), True, True),
    },
    "pagerank": {
        "links": ((1e7, 2e7, 3e7), True, True),
        "pages": ((1e6, 2e6, 3e6), True, True),
        "convergence_criterion": ((1e-4, 5e-4, 1e-3, 5e-3, 1e-2), True, False),
    },
    "sort": {
        "data_size_MB": ((9630, 11556, 13482, 15408, 17334, 19260), True, True),
    },
}
_RUNTIME_BOUNDS = (10.0, 4 * 3600.0)


def c3o_paper_domain(job: str) -> Domain:
    """The public domain declared for a c3o-paper job (documented in the module docstring)."""
    if job not in _GRIDS:
        raise InputError(f"unknown c3o-paper job {job!r}; choose one of {list(C3O_PAPER_JOBS)}")
    scale_outs = tuple(float(v) for v in _SCALE_OUTS if job not in _FILTERED or v > 2)
    cols: list[tuple[str, Any]] = [
        (SCALE_OUT, NumericDomain(values=scale_outs, log=True, integer=True))
    ]
    for name, (values, log, integer) in _GRIDS[job].items():
        cols.append((name, NumericDomain(values=values, log=log, integer=integer)))
    lo, hi = _RUNTIME_BOUNDS
    cols.append((RUNTIME, NumericDomain(lower=lo, upper=hi, log=True, bins=20)))
    return Domain(tuple(cols))


def load_c3o_paper(job: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read a c3o-paper job with the paper's filter (kmeans, linearregression: scale-out > 2).

    Columns are put in the declared domain's order.
    """
    d = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    path = d / f"{job}.csv"
    if not path.is_file():
        raise InputError(f"{path} not found: is ../shared/data/c3o-paper beside the project?")
    frame = pd.read_csv(path)
    if job in _FILTERED:
        frame = frame[frame[SCALE_OUT] > 2]
    return frame[list(c3o_paper_domain(job).names)].reset_index(drop=True)


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


def synthesize(
    method: str,
    train: pd.DataFrame,
    *,
    job: str,
    epsilon: float | None,
    n_rows: int,
    seed: int,
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Synthetic rows from ``train`` by a jobcast method or ``"datasynthesizer"``.

    ``epsilon=None`` means without DP (jobcast: ``no_dp=True``; DataSynthesizer: ε = 0).
    """
    if method == DATASYNTHESIZER:
        return DataSynthesizerBaseline(epsilon=epsilon, random_state=seed).fit(train).sample(n_rows)
    s = make_synthesizer(
        method,
        domain=c3o_paper_domain(job),
        epsilon=1.0 if epsilon is None else epsilon,
        no_dp=epsilon is None,
        random_state=seed,
        **(params or {}),
    )
    return s.fit(train).sample(n_rows)


@dataclass(frozen=True)
class UtilityRecord:
    """One model trained on one synthetic training set and scored on held-out originals."""

    experiment: str
    job: str
    method: str
    epsilon: float | None
    model: str
    original_rows: int | None
    synthetic_rows: int
    repeat: int
    mape: float


@dataclass(frozen=True)
class TimingRecord:
    """Describing and generating ``rows`` rows of one job (median seconds)."""

    job: str
    method: str
    rows: int
    seconds: float


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


@dataclass
class PrivacyEvaluation:
    """Everything :func:`evaluate_privacy` measured."""

    utility: list[UtilityRecord] = field(default_factory=list)
    timing: list[TimingRecord] = field(default_factory=list)
    risk: list[RiskRecord] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def summary(
        self,
        *,
        experiment: str = "train_sizes",
        model: str = "gbm",
        rows: int = 1000,
        statistic: str = "mean",
    ) -> dict[str, dict[str, float]]:
        """Mean MAPE over jobs of per-job ``statistic`` (mean or median) over repeats.

        Returns ``{method: {eps_label: mape}}`` with ``eps_label`` the ε or ``"no-dp"``.
        The median over repeats shows the typical share; the mean includes the rare
        shares whose noise made them useless.
        """
        frame = pd.DataFrame([asdict(r) for r in self.utility])
        if frame.empty:
            return {}
        sel = frame[(frame.experiment == experiment) & (frame.model == model)]
        if experiment == "train_sizes":
            sel = sel[sel.synthetic_rows == rows]
        sel = sel.assign(eps=sel.epsilon.map(lambda e: "no-dp" if pd.isna(e) else f"{e:g}"))
        grouped = sel.groupby(["method", "eps", "job"]).mape
        per_job = grouped.median() if statistic == "median" else grouped.mean()
        mean = per_job.groupby(["method", "eps"]).mean()
        out: dict[str, dict[str, float]] = {}
        for key, v in mean.items():
            m_name, e_label = str(key[0]), str(key[1])  # type: ignore[index]
            out.setdefault(m_name, {})[e_label] = float(v)
        return out

    def speed(self) -> dict[str, dict[str, float]]:
        """Median seconds per job and method, and the ratio to DataSynthesizer."""
        out: dict[str, dict[str, float]] = {}
        for r in self.timing:
            out.setdefault(r.method, {})[r.job] = r.seconds
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: raw records and summaries."""
        return {
            "utility": [asdict(r) for r in self.utility],
            "timing": [asdict(r) for r in self.timing],
            "risk": [asdict(r) for r in self.risk],
            "errors": list(self.errors),
            "summary": {
                "gbm_1000_rows": self.summary(model="gbm"),
                "gbm_1000_rows_median_over_repeats": self.summary(model="gbm", statistic="median"),
                "ernest_1000_rows": self.summary(model="ernest"),
                "gbm_small": self.summary(experiment="small", model="gbm"),
            },
            "speed_seconds": self.speed(),
        }


def _mape(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(p - y) / y))


def _train_score(model: str, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> float:
    from jobcast.models import make_model

    train = train.replace([np.inf, -np.inf], np.nan).dropna()
    train = train[train[RUNTIME] > 0]
    if len(train) < 2:
        raise InputError("fewer than two usable synthetic rows")
    x_cols = [c for c in train.columns if c != RUNTIME]
    est = make_model(model, scale_out=SCALE_OUT, random_state=seed)
    est.fit(train[x_cols], train[RUNTIME].to_numpy(dtype=float))
    pred = np.asarray(est.predict(test[x_cols]), dtype=float)
    return _mape(test[RUNTIME].to_numpy(dtype=float), pred)


def _split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(frame))
    n_test = max(int(round(0.2 * len(frame))), 1)
    return frame.iloc[idx[n_test:]].reset_index(drop=True), frame.iloc[idx[:n_test]].reset_index(
        drop=True
    )


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


def _risk(
    job: str, method: str, epsilon: float | None, train: pd.DataFrame, test: pd.DataFrame,
    syn: pd.DataFrame, n_attacks: int, seed: int,
) -> RiskRecord:
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


def evaluate_privacy(
    jobs: Sequence[str] = C3O_PAPER_JOBS,
    *,
    methods: Sequence[str] = ("perfmodel", "privbayes", DATASYNTHESIZER),
    epsilons: Sequence[float] = EPSILONS,
    include_no_dp: bool = True,
    models: Sequence[str] = ("gbm", "ernest"),
    experiments: Iterable[str] = ("train_sizes", "small", "time", "risk"),
    sizes: Sequence[int] = tuple(range(100, 1101, 100)),
    originals: Sequence[int] = tuple(range(3, 31, 3)),
    synthetic_rows: int = 1000,
    repeats: int = 10,
    risk_epsilon: float = 1.0,
    risk_attacks: int = 200,
    timing_repeats: int = 3,
    data_dir: str | Path | None = None,
    seed: int = 0,
    callback: Callback | None = None,
) -> PrivacyEvaluation:
    """Run the paper's experiments (see the module docstring).

    Parameters
    ----------
    jobs
        c3o-paper jobs.
    methods
        jobcast synthesizer names and/or ``"datasynthesizer"``.
    epsilons
        Privacy budgets; with ``include_no_dp`` also each method without DP.
    models
        Runtime models trained on the synthetic rows (:func:`jobcast.models.make_model`).
    experiments
        Any of ``"train_sizes"``, ``"small"``, ``"time"``, ``"risk"``.
    sizes
        Synthetic training-set sizes of experiment 1.
    originals
        Original training-set sizes of experiment 2.
    synthetic_rows
        Synthetic rows in experiment 2, timing and risk.
    repeats
        Random splits per setting.
    risk_epsilon
        ε of the shares whose risk is measured (and the no-DP shares).
    risk_attacks
        anonymeter attacks per evaluator (at most the control rows).
    timing_repeats
        Timed runs per job and method (the median is kept).
    data_dir
        Directory of the c3o-paper CSV files.
    seed
        Base seed of splits and synthesizers.
    callback
        ``callback(stage, done, total)`` after each unit of work.

    Returns
    -------
    PrivacyEvaluation
    """
    exps = set(experiments)
    unknown = exps - {"train_sizes", "small", "time", "risk"}
    if unknown:
        raise InputError(f"unknown experiments {sorted(unknown)}")
    eps_list: list[float | None] = [float(e) for e in epsilons]
    if include_no_dp:
        eps_list.append(None)
    result = PrivacyEvaluation()
    data = {job: load_c3o_paper(job, data_dir) for job in jobs}
    total = 0
    if "train_sizes" in exps:
        total += len(jobs) * repeats * len(methods) * len(eps_list)
    if "small" in exps:
        total += len(jobs) * repeats * len(methods) * len(eps_list) * len(originals)
    if "time" in exps:
        total += len(jobs) * len(methods)
    if "risk" in exps:
        total += len(jobs) * len(methods) * 2
    done = 0

    def tick(stage: str) -> None:
        nonlocal done
        done += 1
        if callback is not None:
            callback(stage, done, total)

    def record_error(**info: Any) -> None:
        result.errors.append(info)
        logger.warning("evaluation run failed: %s", info)

    for job in jobs:
        frame = data[job]
        for r in range(repeats):
            train, test = _split(frame, seed + r)
            for method in methods:
                for eps in eps_list:
                    rs = seed * 1000 + r
                    if "train_sizes" in exps:
                        try:
                            syn = synthesize(
                                method, train, job=job, epsilon=eps, n_rows=max(sizes), seed=rs
                            )
                            for size in sizes:
                                for model in models:
                                    result.utility.append(
                                        UtilityRecord(
                                            "train_sizes", job, method, eps, model, None, size, r,
                                            _train_score(model, syn.iloc[:size], test, rs),
                                        )
                                    )
                        except Exception as e:  # noqa: BLE001 - a failed run is recorded, not fatal
                            record_error(
                                experiment="train_sizes", job=job, method=method, epsilon=eps,
                                repeat=r, error=f"{type(e).__name__}: {e}",
                            )
                        tick("train_sizes")
                    if "small" in exps:
                        rng = np.random.default_rng(rs)
                        for n_orig in originals:
                            orig = train.iloc[rng.permutation(len(train))[:n_orig]]
                            try:
                                syn = synthesize(
                                    method, orig, job=job, epsilon=eps, n_rows=synthetic_rows,
                                    seed=rs,
                                )
                                for model in models:
                                    result.utility.append(
                                        UtilityRecord(
                                            "small", job, method, eps, model, n_orig,
                                            synthetic_rows, r,
                                            _train_score(model, syn, test, rs),
                                        )
                                    )
                            except Exception as e:  # noqa: BLE001
                                record_error(
                                    experiment="small", job=job, method=method, epsilon=eps,
                                    original_rows=n_orig, repeat=r,
                                    error=f"{type(e).__name__}: {e}",
                                )
                            tick("small")
        train, test = _split(frame, seed)
        if "time" in exps:
            for method in methods:
                secs = []
                for t in range(timing_repeats):
                    start = time.perf_counter()
                    synthesize(method, train, job=job, epsilon=1.0, n_rows=synthetic_rows, seed=t)
                    secs.append(time.perf_counter() - start)
                result.timing.append(
                    TimingRecord(job, method, synthetic_rows, float(np.median(secs)))
                )
                tick("time")
        if "risk" in exps:
            for method in methods:
                for eps in (risk_epsilon, None):
                    try:
                        syn = synthesize(
                            method, train, job=job, epsilon=eps, n_rows=synthetic_rows, seed=seed
                        )
                        result.risk.append(
                            _risk(job, method, eps, train, test, syn, risk_attacks, seed)
                        )
                    except Exception as e:  # noqa: BLE001
                        record_error(
                            experiment="risk", job=job, method=method, epsilon=eps,
                            error=f"{type(e).__name__}: {e}",
                        )
                    tick("risk")
    return result


def plot_utility(
    evaluation: PrivacyEvaluation, path: str | Path, *, model: str = "gbm", rows: int = 1000
) -> Path:
    """Plot mean MAPE over jobs against ε, one line per method (matplotlib, Agg).

    Methods without DP are drawn as dashed horizontal lines.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ = evaluation.summary(model=model, rows=rows)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (method, by_eps) in enumerate(sorted(summ.items())):
        pts = sorted((float(e), v) for e, v in by_eps.items() if e != "no-dp")
        color = f"C{i}"
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, label=method)
        if "no-dp" in by_eps:
            ax.axhline(by_eps["no-dp"], color=color, ls="--", lw=1, label=f"{method} (no DP)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("privacy budget ε")
    ax.set_ylabel(f"mean MAPE ({model}, {rows} synthetic rows)")
    ax.set_title("Utility of shared runtime metrics against ε (c3o-paper)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
