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

``risk``: anonymeter's singling-out, linkability and attribute-inference risks of a
share and the distance to the closest record; ``secrets``: how well the holder of an
ε = 1 share infers the job's dataset sizes, for grid-declared, bounds-declared and
DataSynthesizer shares (:mod:`jobcast.evaluation.privacy_baselines`).

What is declared public (``domains``: ``bounds``, the headline; ``grid``; ``none``) is
described in :mod:`jobcast.evaluation.privacy_domains`.  DataSynthesizer reads its own
raw minimum/maximum, categories and row count from the data (its documented
behaviour), so it gets no declared domain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import InputError
from jobcast.evaluation.models_results import holdout_split, mape
from jobcast.evaluation.privacy_baselines import (
    DataSynthesizerBaseline,
    RiskRecord,
    SecretRecord,
    risk,
    secret_inference,
)
from jobcast.evaluation.privacy_domains import (
    C3O_PAPER_JOBS,
    DEFAULT_DATA_DIR,
    DOMAIN_MODES,
    RUNTIME,
    SCALE_OUT,
    c3o_paper_domain,
    load_c3o_paper,
    load_job,
)
from jobcast.privacy import Domain, make_synthesizer

__all__ = [
    "C3O_PAPER_JOBS",
    "EPSILONS",
    "DEFAULT_DATA_DIR",
    "DOMAIN_MODES",
    "EXPERIMENTS",
    "c3o_paper_domain",
    "load_c3o_paper",
    "DataSynthesizerBaseline",
    "synthesize",
    "UtilityRecord",
    "TimingRecord",
    "RiskRecord",
    "SecretRecord",
    "PrivacyEvaluation",
    "evaluate_privacy",
    "plot_utility",
]

logger = logging.getLogger(__name__)

EPSILONS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
EXPERIMENTS: tuple[str, ...] = ("train_sizes", "small", "time", "risk", "secrets")
DATASYNTHESIZER = "datasynthesizer"

Callback = Callable[[str, int, int], None]


def synthesize(
    method: str,
    train: pd.DataFrame,
    *,
    job: str,
    epsilon: float | None,
    n_rows: int,
    seed: int,
    params: dict[str, Any] | None = None,
    domains: str = "bounds",
    declared: Domain | None = None,
) -> pd.DataFrame:
    """Synthetic rows from ``train`` by a jobcast method or ``"datasynthesizer"``.

    ``epsilon=None`` means without DP (jobcast: ``no_dp=True``; DataSynthesizer: ε = 0).
    ``domains`` says what is declared public (:func:`c3o_paper_domain`); ``declared``,
    a job's own domain file (:func:`load_job`), replaces it.
    """
    if method == DATASYNTHESIZER:
        return DataSynthesizerBaseline(epsilon=epsilon, random_state=seed).fit(train).sample(n_rows)
    s = make_synthesizer(
        method,
        domain=declared if declared is not None else c3o_paper_domain(job, domains, train),
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


@dataclass
class PrivacyEvaluation:
    """Everything :func:`evaluate_privacy` measured."""

    utility: list[UtilityRecord] = field(default_factory=list)
    timing: list[TimingRecord] = field(default_factory=list)
    risk: list[RiskRecord] = field(default_factory=list)
    secrets: list[SecretRecord] = field(default_factory=list)
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
            "secrets": [asdict(r) for r in self.secrets],
            "errors": list(self.errors),
            "summary": {
                "gbm_1000_rows": self.summary(model="gbm"),
                "gbm_1000_rows_median_over_repeats": self.summary(model="gbm", statistic="median"),
                "ernest_1000_rows": self.summary(model="ernest"),
                "gbm_small": self.summary(experiment="small", model="gbm"),
            },
            "speed_seconds": self.speed(),
        }


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
    return mape(test[RUNTIME].to_numpy(dtype=float), pred)


def _split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 80/20 split of the models' holdout protocol, drawn from ``seed``."""
    train, test = holdout_split(len(frame), 0.2, np.random.default_rng(seed))
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def evaluate_privacy(
    jobs: Sequence[str] = C3O_PAPER_JOBS,
    *,
    methods: Sequence[str] = ("perfmodel", "privbayes", DATASYNTHESIZER),
    epsilons: Sequence[float] = EPSILONS,
    include_no_dp: bool = True,
    models: Sequence[str] = ("gbm", "ernest"),
    experiments: Iterable[str] = ("train_sizes", "small", "time", "risk"),
    domains: str = "bounds",
    sizes: Sequence[int] = tuple(range(100, 1101, 100)),
    originals: Sequence[int] = tuple(range(3, 31, 3)),
    synthetic_rows: int = 1000,
    repeats: int = 10,
    risk_epsilon: float = 1.0,
    risk_attacks: int = 200,
    timing_repeats: int = 3,
    data_dir: str | Path | None = None,
    domain_file: str | Path | None = None,
    seed: int = 0,
    callback: Callback | None = None,
) -> PrivacyEvaluation:
    """Run the paper's experiments (see the module docstring).

    Parameters
    ----------
    jobs
        c3o-paper jobs, or any job whose ``JOB.csv`` in ``data_dir`` is of their kind
        (the scale-out first, the runtime last) with ``domain_file``.
    methods
        jobcast synthesizer names and/or ``"datasynthesizer"``.
    epsilons
        Privacy budgets; with ``include_no_dp`` also each method without DP.
    models
        Runtime models trained on the synthetic rows (:func:`jobcast.models.make_model`).
    experiments
        Any of :data:`EXPERIMENTS`.
    domains
        What the user declares public: ``"bounds"`` (scale-outs and runtime bounds;
        every other column a coarse range), ``"grid"`` (the C3O grids) or ``"none"``
        (no domain file); see :mod:`jobcast.evaluation.privacy_domains`.  The
        ``secrets`` experiment always compares grid- and bounds-declared shares.
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
        Directory of the c3o-paper CSV files (``JOB.csv``).
    domain_file
        A domain file (the format of ``jobcast share --domain``) for the jobs jobcast
        has no built-in public domains for (:func:`load_job`); used under every
        ``domains`` protocol. Those jobs run ``train_sizes``, ``small`` and ``time``.
    seed
        Base seed of splits and synthesizers.
    callback
        ``callback(stage, done, total)`` after each unit of work.

    Returns
    -------
    PrivacyEvaluation
    """
    exps = set(experiments)
    unknown = exps - set(EXPERIMENTS)
    if unknown:
        raise InputError(f"unknown experiments {sorted(unknown)}; choose from {list(EXPERIMENTS)}")
    if domains not in DOMAIN_MODES:
        raise InputError(f"domains must be one of {list(DOMAIN_MODES)}, got {domains!r}")
    eps_list: list[float | None] = [float(e) for e in epsilons]
    if include_no_dp:
        eps_list.append(None)
    result = PrivacyEvaluation()
    loaded = {job: load_job(job, data_dir, domain_file) for job in jobs}
    data = {job: f for job, (f, _) in loaded.items()}
    own = {job: dom for job, (_, dom) in loaded.items()}
    custom = [job for job, dom in own.items() if dom is not None]
    if custom and exps & {"risk", "secrets"}:
        raise InputError(
            f"--experiments risk and secrets use the c3o-paper jobs' built-in domains; "
            f"job(s) {custom} declared with --domain run train_sizes, small and time"
        )
    total = 0
    if "train_sizes" in exps:
        total += len(jobs) * repeats * len(methods) * len(eps_list)
    if "small" in exps:
        total += len(jobs) * repeats * len(methods) * len(eps_list) * len(originals)
    if "time" in exps:
        total += len(jobs) * len(methods)
    if "risk" in exps:
        total += len(jobs) * len(methods) * 2
    if "secrets" in exps:
        total += len(jobs) * len(_secret_shares(methods))
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
        frame, own_domain = data[job], own[job]
        for r in range(repeats):
            train, test = _split(frame, seed + r)
            for method in methods:
                for eps in eps_list:
                    rs = seed * 1000 + r
                    if "train_sizes" in exps:
                        try:
                            syn = synthesize(
                                method, train, job=job, epsilon=eps, n_rows=max(sizes), seed=rs,
                                domains=domains, declared=own_domain,
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
                                    seed=rs, domains=domains, declared=own_domain,
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
                    synthesize(
                        method, train, job=job, epsilon=1.0, n_rows=synthetic_rows, seed=t,
                        domains=domains, declared=own_domain,
                    )
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
                            method, train, job=job, epsilon=eps, n_rows=synthetic_rows,
                            seed=seed, domains=domains,
                        )
                        result.risk.append(
                            risk(
                                job, method, epsilon=eps, train=train, test=test, syn=syn,
                                n_attacks=risk_attacks, seed=seed,
                            )
                        )
                    except Exception as e:  # noqa: BLE001
                        record_error(
                            experiment="risk", job=job, method=method, epsilon=eps,
                            error=f"{type(e).__name__}: {e}",
                        )
                    tick("risk")
        if "secrets" in exps:
            for method, declared in _secret_shares(methods):
                try:
                    syn = synthesize(
                        method, train, job=job, epsilon=risk_epsilon, n_rows=synthetic_rows,
                        seed=seed, domains=declared,
                    )
                    result.secrets.extend(
                        secret_inference(
                            job, method,
                            domains=declared if method != DATASYNTHESIZER else "raw",
                            epsilon=risk_epsilon, train=train, test=test, syn=syn,
                            n_attacks=risk_attacks, seed=seed,
                        )
                    )
                except Exception as e:  # noqa: BLE001
                    record_error(
                        experiment="secrets", job=job, method=method, domains=declared,
                        error=f"{type(e).__name__}: {e}",
                    )
                tick("secrets")
    return result


def _secret_shares(methods: Sequence[str]) -> list[tuple[str, str]]:
    """(method, domains) of the secrets experiment: jobcast's with grid and bounds."""
    out: list[tuple[str, str]] = []
    for m in methods:
        if m == DATASYNTHESIZER:
            out.append((m, "bounds"))
        else:
            out.extend([(m, "grid"), (m, "bounds")])
    return out


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
