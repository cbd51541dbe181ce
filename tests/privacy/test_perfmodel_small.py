"""perfmodel at small ε n: windows that keep the data, the second count, the scale-out prior.

The privacy noise comes from OpenDP (not seedable); the jobs and the sampling are
seeded, and every assertion is on a rate over many draws with a wide margin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import DomainError
from jobcast.privacy import Domain, NumericDomain, PerfModelSynthesizer, make_synthesizer
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.bounds import SEARCH_LOWER, SEARCH_UPPER, dp_window
from jobcast.privacy.perfmodel.budget import RowCount, count_rows
from jobcast.privacy.perfmodel.features import feature_spans, features
from jobcast.privacy.perfmodel.window import runtime_window

SCALE_OUTS = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)


def test_a_block_overlapping_the_run_does_not_replace_it():
    # Five sizes 10100..20200 straddle two public bins of 0.665 log units (48 and 72
    # rows): the 3-bin block around them holds the run plus a neighbour's noise, which
    # used to replace the run half the time (and then the covered bin alone remained).
    x = np.repeat([10100.0, 12625.0, 15150.0, 17675.0, 20200.0], 24)
    both = 0
    for _ in range(60):
        win = dp_window(
            x, accountant=Accountant(1.0), label="w", epsilon=0.1, lower=1000.0,
            upper=300_000.0, width=0.665, threshold=2.4, fallback=1, cover=True,
        )
        both += win.low <= 10100.0 and win.high >= 20200.0
    assert both >= 45  # measured about 55 in 60 (before: about 1 in 5 kept both bins)


def test_a_significant_runtime_window_is_kept_when_the_counts_are_low():
    # 29 runs (a sort-like job) and a first count that is noisy: the window's own run
    # decides, so the whole public range (which multiplies every sensitivity by ~4)
    # is rare.  Before, the two noisy totals threw away about one window in three.
    rng = np.random.default_rng(0)
    t = np.exp(5.5 + 0.45 * rng.standard_normal(29))
    whole = 0
    for _ in range(60):
        win = runtime_window(
            t, 10.0, 14_400.0, RowCount(29.0, 29.0, 29.0, 0.1), accountant=Accountant(1.0),
            epsilon=0.4, name="t",
        )
        whole += (win.low, win.high) == (10.0, 14_400.0)
    assert whole <= 6


def test_a_second_count_only_when_the_first_is_too_noisy():
    few, many, seconds = [], [], 0
    for _ in range(200):
        acc = Accountant(1.0)
        few.append(count_rows(30, acc, 0.1, top_up=0.2))
        seconds += "context:count:more" in [s.label for s in acc.ledger]
        assert acc.spent <= 0.3 + 1e-9
        acc = Accountant(1.0)
        many.append(count_rows(5000, acc, 0.1, top_up=0.2))
        assert [s.label for s in acc.ledger] == ["context:count"]
    # A first count far above 30 (noise scale 10) may not ask for a second one.
    assert seconds >= 175
    # The combined count is more precise: median error about 4.5 rows against 6.9 for
    # the first count alone.
    err = np.abs(np.array([c.noisy - 30.0 for c in few]))
    assert np.median(err) < 5.6
    assert all(c.epsilon == 0.1 for c in many)


def _job(n: int, seed: int, exponent: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.choice(SCALE_OUTS, n)
    size = rng.choice((9630.0, 12000.0, 15000.0, 19260.0), n)
    rt = 2000.0 * (size / 15000.0) * m**exponent * np.exp(0.05 * rng.standard_normal(n))
    return pd.DataFrame({"instance_count": m, "data_size_MB": size, "gross_runtime": rt})


def _domain() -> Domain:
    return Domain(
        (
            ("instance_count", NumericDomain(values=SCALE_OUTS, log=True, integer=True)),
            ("data_size_MB", NumericDomain(lower=900.0, upper=200_000.0, log=True, bins=20)),
            ("gross_runtime", NumericDomain(lower=10.0, upper=14_400.0, log=True, bins=20)),
        )
    )


def _speedup(s: PerfModelSynthesizer) -> float:
    out = s.sample(4000)
    logt = np.log(out["gross_runtime"].to_numpy())
    m = out["instance_count"].to_numpy()
    return float(np.mean(logt[m == 2.0]) - np.mean(logt[m == 12.0]))


def test_few_rows_fall_back_on_the_public_scale_out_prior():
    # 30 runs at ε = 1: no scale-out slope survives the noise; the share still says
    # that runtime falls with the scale-out (m^-0.75: log 6 * 0.75 = 1.34 from 2 to 12)
    # instead of a flat runtime.
    gaps = []
    for seed in range(12):
        s = PerfModelSynthesizer(domain=_domain(), epsilon=1.0, random_state=seed)
        s.fit(_job(30, seed, -0.9))
        assert sum(x.epsilon for x in s.ledger_) == pytest.approx(1.0)
        gaps.append(_speedup(s))
    assert np.median(gaps) > 0.6


def test_many_rows_let_the_data_overrule_the_scale_out_prior():
    # 3000 runs whose runtime does not depend on the scale-out: the released slopes
    # follow the data, not the prior's 1.34.
    gaps = []
    for seed in range(4):
        s = PerfModelSynthesizer(domain=_domain(), epsilon=1.0, random_state=seed)
        gaps.append(_speedup(s.fit(_job(3000, seed, 0.0))))
    assert abs(float(np.median(gaps))) < 0.3


def test_declared_scale_out_elasticity_replaces_the_public_prior():
    gaps = []
    for seed in range(8):
        s = PerfModelSynthesizer(
            domain=_domain(), epsilon=1.0, random_state=seed, elasticity={"instance_count": 0.0}
        )
        gaps.append(_speedup(s.fit(_job(30, seed, -0.9))))
    # a declared flat prior is not overridden by the default m^-0.75
    assert np.median(gaps) < 0.6


def test_feature_spans_follow_the_noisy_marginal_and_features_stay_in_the_cube():
    dom = Domain(
        (
            ("a", NumericDomain(lower=1.0, upper=1000.0, log=True, bins=10)),
            ("b", NumericDomain(values=(1.0, 2.0), log=True)),
        )
    )
    centers = [np.exp(np.linspace(0.35, 6.55, 10)), np.array([1.0, 2.0])]
    marg = np.zeros(10)
    marg[3:6] = 1.0 / 3
    spans = feature_spans(dom, ("a", "b"), centers, (marg, np.array([0.5, 0.5])))
    t = np.log(centers[0])
    assert spans[0] == (t[3], t[5]) and spans[1] is None
    codes = np.column_stack([np.arange(10), np.zeros(10, dtype=int)])
    phi, labels = features(dom, ("a", "b"), centers, codes, None, spans=spans)
    assert labels[1] == "log(a)"
    assert np.all(np.abs(phi) <= 1.0)
    assert phi[3, 1] == -1.0 and phi[5, 1] == 1.0 and phi[0, 1] == -1.0 and phi[9, 1] == 1.0
    # a flat marginal keeps the whole range
    flat = feature_spans(dom, ("a", "b"), centers, (np.full(10, 0.1), np.array([0.5, 0.5])))
    assert flat[0] == (t[0], t[9])


def test_a_runtime_window_in_the_search_range_is_the_data_or_nothing():
    # No domain file: the runtime is searched in 2**-20 .. 2**40 (62 bins here).  A run
    # that does not stand out is not replaced by the best 3-bin block (as likely a
    # noise block decades away as the data) but by the whole range, which the release
    # refuses naming --domain.  112 runs at ε = 0.128, as linearregression without a
    # domain file at ε = 1.
    t = np.exp(5.5 + 0.3 * np.random.default_rng(1).standard_normal(112))
    count = RowCount(112.0, 112.0, 112.0, 0.1)
    elsewhere = 0
    for _ in range(300):
        win = runtime_window(
            t, SEARCH_LOWER, SEARCH_UPPER, count, accountant=Accountant(1.0), epsilon=0.128,
            name="t",
        )
        whole = (win.low, win.high) == (SEARCH_LOWER, SEARCH_UPPER)
        elsewhere += not whole and not (win.low < np.exp(5.5) < win.high < 1e3 * win.low)
    # measured 6 in 2000 (0.3 %; OpenDP's noise cannot be seeded): the bound is the old
    # 2 %, over 300 fits so that it fails by chance with probability ~4e-5, not ~4e-3
    assert elsewhere <= 6


def test_a_small_job_without_a_domain_file_is_refused_not_released_from_noise(monkeypatch):
    # 29 runs (sort's training split) with nothing declared: the runtime window's ε n
    # stays below the search range's minimum signal, so none is bought and the release
    # is refused naming --domain.  Bought anyway, 4 releases in 300 held runtimes of
    # 10^6 to 10^11 s (a noise run among the search range's 100+ bins).
    import jobcast.privacy.perfmodel.synthesizer as perfmodel_mod

    bought = []

    def spy(*args, **kwargs):
        bought.append(kwargs["epsilon"] is not None)
        return runtime_window(*args, **kwargs)

    monkeypatch.setattr(perfmodel_mod, "runtime_window", spy)
    rng = np.random.default_rng(5)
    m = rng.choice(SCALE_OUTS, size=29)
    size = rng.choice([9630.0, 13482.0, 19260.0], size=29)
    rt = 20.0 + 0.1 * size / m * np.exp(rng.normal(0.0, 0.05, 29))
    frame = pd.DataFrame({"instance_count": m, "data_size_MB": size, "gross_runtime": rt})
    dom = Domain(tuple(
        (n, NumericDomain(log=True, integer=n == "instance_count")) for n in frame.columns
    ))
    off = 0
    for seed in range(40):
        try:
            s = PerfModelSynthesizer(domain=dom, epsilon=1.0, random_state=seed).fit(frame)
        except DomainError as e:
            assert "--domain" in str(e)
            continue
        out = s.sample(200)["gross_runtime"]
        off += not rt.min() / 10 < out.median() < rt.max() * 10
    # Bought only when the noisy count comes out far above the rows: measured 115 in
    # 4000 fits, and 2 of those released runtimes off by more than 10x (every window on
    # noise; the README's known no-domain tail).  OpenDP's noise is not seedable: at those
    # rates the bounds below fail with probability about 1e-4 and 2e-4.
    assert sum(bought) <= 6
    assert off <= 1


def test_a_scale_out_grid_declared_without_log_still_gets_the_public_prior():
    """Was: the README's own domain file (the scale-out grid without "log": true) gave
    sort's 36 runs one runtime in every row at epsilon 1: the slopes' noise swamped them,
    and the public scale-out curve was only applied to a log-scale scale-out."""
    from tests.conftest import shared_file

    frame = pd.read_csv(shared_file("c3o-paper", "sort.csv"))
    dom = Domain((
        ("instance_count", NumericDomain(values=(2, 4, 6, 8, 10, 12), integer=True)),
        ("data_size_MB", NumericDomain(lower=1000.0, upper=100000.0, log=True)),
        ("gross_runtime", NumericDomain(lower=10.0, upper=14400.0, log=True)),
    ))  # fmt: skip
    for seed in range(3):
        s = make_synthesizer("perfmodel", domain=dom, epsilon=1.0, random_state=seed).fit(frame)
        out = s.sample(500)
        by_m = out.groupby("instance_count")["gross_runtime"].median()
        assert out["gross_runtime"].nunique() > 1, seed
        assert by_m.loc[2] > by_m.loc[12], by_m  # slower on fewer machines, as the prior says
