"""Coarse public ranges: the data located inside them with budget, collapses refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import jobcast.privacy.perfmodel.locate as locate_mod
from jobcast.errors import DomainError
from jobcast.evaluation.privacy_domains import c3o_paper_domain, coarse_range, load_c3o_paper
from jobcast.privacy import Accountant, Domain, NumericDomain, PerfModelSynthesizer
from jobcast.privacy.bounds import Window, dp_log_range, dp_window
from jobcast.privacy.discretize import Discretizer
from jobcast.privacy.domain import integer_bounds
from jobcast.privacy.perfmodel.budget import RowCount
from jobcast.privacy.perfmodel.locate import window_marginal


def _job(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.choice([2, 4, 8], size=n)
    size = rng.choice([10_000.0, 15_000.0, 20_000.0], size=n)
    rt = 30.0 + 0.02 * size / m * np.exp(rng.normal(0, 0.05, n))
    return pd.DataFrame({"instance_count": m, "data_size_MB": size, "gross_runtime": rt})


def _coarse_domain() -> Domain:
    return Domain(
        (
            ("instance_count", NumericDomain(values=(2, 4, 8), integer=True, log=True)),
            ("data_size_MB", NumericDomain(lower=1000.0, upper=200_000.0, log=True)),
            ("gross_runtime", NumericDomain(lower=10.0, upper=14400.0, log=True)),
        )
    )


def test_window_cover_keeps_separate_groups():
    # iterations 1 and 25..100: a maximum-subarray run would drop the far group of 1
    x = np.repeat([1.0, 25.0, 50.0, 100.0], 40)
    for _ in range(20):
        win = dp_window(
            x, accountant=Accountant(2.0), label="w", epsilon=2.0, lower=0.1, upper=1000.0,
            width=0.25, threshold=3.0, cover=True,
        )
        assert win.low <= 1.0 and win.high >= 100.0
        assert win.low >= 0.1 * 0.99 and win.high <= 1000.0


def test_window_marginal_puts_clipped_rows_at_the_window_edges():
    # Five groups over five bins each of rows: a weak window cuts groups off and the
    # encoder clips their rows into its edge bins.  The design's marginal must put them
    # there too (from the noisy counts beside the window), or the model's noisy sums
    # and its design disagree.  OpenDP's noise is not seedable: averages over 40 draws
    # (the inside-only marginal errs by 2.2 to 2.7 bins on average, this one by about 1).
    x = np.repeat([1.0, 4.0, 16.0, 64.0, 256.0], 40)
    count = RowCount(noisy=200.0, hint=200.0, low=190.0, epsilon=1.0)
    k = np.arange(20)
    new, old, clipped = [], [], 0
    for _ in range(40):
        win = dp_window(
            x, accountant=Accountant(0.2), label="w", epsilon=0.2, lower=0.1, upper=1e4,
            width=0.5, threshold=3.0,
        )
        dom = NumericDomain(lower=win.low, upper=win.high, log=True, bins=20)
        codes = Discretizer(Domain((("x", dom),))).encode_column("x", x)
        p = window_marginal(win, dom, 0.2, count)
        inside = window_marginal(dataclasses.replace(win, below=(), above=()), dom, 0.2, count)
        assert p.shape == (20,) and p.sum() == pytest.approx(1.0)
        new.append(abs(p @ k - codes.mean()))
        old.append(abs(inside @ k - codes.mean()))
        clipped += ((x < win.low) | (x > win.high)).mean() > 0.1
    assert clipped >= 20  # the case under test happened
    assert np.mean(new) < 0.7 * np.mean(old)
    assert np.median(new) < 2.0


def test_linear_window_finds_a_probability_column():
    x = np.repeat([0.0, 0.25, 0.5, 0.75, 1.0], 30)
    for _ in range(20):
        win = dp_window(
            x, accountant=Accountant(1.0), label="w", epsilon=1.0, lower=0.0, upper=10.0,
            width=0.5, log=False, threshold=3.0,
        )
        assert win.low == 0.0 and 0.5 <= win.high <= 4.0


def test_bounded_context_column_is_located_and_recorded():
    frame = _job(300, 0)
    hits = 0
    for seed in range(10):
        s = PerfModelSynthesizer(domain=_coarse_domain(), epsilon=2.0, random_state=seed)
        s.fit(frame)
        assert any(sp.label == "window:data_size_MB" for sp in s.ledger_)
        assert sum(sp.epsilon for sp in s.ledger_) == pytest.approx(2.0)
        dom = s.domain_["data_size_MB"]
        assert isinstance(dom, NumericDomain) and dom.lower is not None
        assert 1000.0 <= dom.lower and (dom.upper or 0) <= 200_000.0
        x = s.sample(2000)["data_size_MB"].to_numpy(dtype=float)
        # most synthetic sizes near the real ones, not spread over the public range
        hits += np.mean((x > 5000) & (x < 40_000)) > 0.8
    assert hits >= 8


def test_located_release_predicts_the_relation():
    frame = _job(300, 1)
    test = _job(100, 2)
    errors = []
    for seed in range(6):
        s = PerfModelSynthesizer(domain=_coarse_domain(), epsilon=10.0, random_state=seed)
        syn = s.fit(frame).sample(1000)
        key = ["instance_count", "data_size_MB"]
        syn = syn.assign(data_size_MB=syn.data_size_MB.round(-4).clip(10_000, 20_000))
        means = syn.groupby(key).gross_runtime.median()
        truth = test.groupby(key).gross_runtime.median()
        joined = truth.to_frame("t").join(means.to_frame("p"), how="inner")
        errors.append(float(np.mean(np.abs(joined.p - joined.t) / joined.t)))
    assert np.median(errors) < 0.2


def test_collapsed_bound_estimate_is_refused_with_the_domain_fix(monkeypatch):
    frame = _job(40, 3)
    dom = Domain(
        (
            ("instance_count", NumericDomain(log=True, integer=True)),
            ("data_size_MB", NumericDomain(values=(10_000.0, 15_000.0, 20_000.0), log=True)),
            ("gross_runtime", NumericDomain(lower=10.0, upper=14400.0, log=True)),
        )
    )

    def collapsed(x, **kwargs):  # a noise run: every synthetic scale-out would be 1
        kwargs["accountant"].spend(kwargs["label"], kwargs["epsilon"])
        return Window(low=1.0, high=1.9, centre=0.3, centre_var=1.0, total=40.0, bins=50,
                      significant=True, edges=(0.0, 0.64), counts=(40.0,))

    monkeypatch.setattr(locate_mod, "dp_window", collapsed)
    with pytest.raises(DomainError, match="--domain") as info:
        PerfModelSynthesizer(domain=dom, epsilon=1.0, random_state=0).fit(frame)
    assert "instance_count" in str(info.value)


def test_strict_bound_estimate_refuses_a_histogram_lost_in_the_noise():
    x = np.array([100.0, 120.0, 130.0])
    # OpenDP's noise is not seedable: a rate over many draws (about 97 % refused; under
    # 90 of 100 has a probability of about 1e-4 at that rate, and would be a real change)
    refused = 0
    for _ in range(100):
        try:
            dp_log_range(x, accountant=Accountant(0.05), label="b", epsilon=0.05, strict=True)
        except DomainError:
            refused += 1
    assert refused >= 90


def test_zeros_in_an_estimated_column_make_it_linear_not_a_refusal():
    # Whether a column holds zeros is private: no refusal may depend on it.  The
    # window inside the public search range reaches its bottom bin (zeros are clipped
    # there), so the column is released on a linear scale from 0 (post-processing).
    rng = np.random.default_rng(0)
    p = rng.choice([0.0, 0.25, 0.5, 1.0], size=400)
    rt = 50.0 * (1 + p) * np.exp(rng.normal(0, 0.05, 400))
    frame = pd.DataFrame({"p": p, "gross_runtime": rt})
    dom = Domain((("p", NumericDomain(log=True)), ("gross_runtime", NumericDomain(log=True))))
    s = PerfModelSynthesizer(domain=dom, epsilon=5.0, scale_out=None, random_state=0).fit(frame)
    got = s.domain_["p"]
    assert not got.log and got.lower == 0.0 and 1.0 <= got.upper < 10.0
    out = s.sample(500)
    assert (out["p"] >= 0).all() and out["p"].min() < 0.2


def test_bounds_protocol_declares_coarse_ranges_only():
    assert coarse_range(np.array([10_100.0, 20_200.0])) == (1000.0, 1e6, True)
    assert coarse_range(np.array([0.0, 0.25, 1.0])) == (0.0, 10.0, False)
    frame = load_c3o_paper("grep")
    dom = c3o_paper_domain("grep", "bounds", frame)
    assert dom["instance_count"].kind == "grid"
    for name in ("data_size_MB", "p_occurrence"):
        assert dom[name].kind == "bounded"
    none = c3o_paper_domain("grep", "none")
    assert all(d.kind == "estimated" for _, d in none.columns)


def test_a_coarse_range_is_whole_powers_of_ten_a_decade_beyond_the_values():
    # published as is in every share: it may reveal the decades of the smallest and the
    # largest value (public knowledge under ``bounds``), never their leading digits
    sort = load_c3o_paper("sort")["data_size_MB"].to_numpy(dtype=float)  # 9630 .. 19260
    assert coarse_range(sort) == (100.0, 1e6, True)
    assert coarse_range(np.array([1000.0, 100_000.0])) == (100.0, 1e6, True)  # exact decades
    assert coarse_range(np.array([0.002, 0.5])) == (1e-4, 10.0, True)
    assert coarse_range(np.array([-3.0, 2.0])) == (-100.0, 100.0, False)
    assert coarse_range(np.array([0.0, 0.0])) == (0.0, 1.0, False)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((9630.0, 19_260.0), (1000.0, 100_000.0)),  # minima in [1e3, 1e4), maxima in (1e4, 1e5]
        ((9999.0, 10_001.0), (1001.0, 99_999.0)),
        ((1.5e8, 3e8), (1.01e8, 9.9e8)),
        ((0.0, 0.25), (0.0, 0.99)),  # linear: the largest magnitude's decade only
    ],
)
def test_columns_within_the_same_decades_declare_the_same_range(a, b):
    assert coarse_range(np.array(a)) == coarse_range(np.array(b))


def test_the_declared_range_reveals_only_the_decades_of_min_and_max():
    # every column with its smallest value in [1e3, 1e4) and its largest in (1e4, 1e5]
    # (sort's sizes, 9630 .. 19260, among them) declares the same range
    rng = np.random.default_rng(0)
    lows = 10.0 ** rng.uniform(3, 4, 500)
    highs = 10.0 ** (5 - rng.uniform(0, 1, 500))
    cols = [np.array([lo, (lo + hi) / 2, hi]) for lo, hi in zip(lows, highs, strict=True)]
    ranges = {coarse_range(col) for col in cols}
    assert ranges == {(100.0, 1e6, True)}


def test_a_window_between_two_integers_still_yields_integers_in_the_domain(monkeypatch):
    # a noise spike can locate an integer column between two integers: its synthetic
    # values rounded to 0 and the release refused its own package (CI, 5 December 2026)
    frame = _job(300, 1).assign(iterations=np.repeat([1, 25, 50, 100], 75))
    dom = Domain(
        (
            ("instance_count", NumericDomain(values=(2, 4, 8), integer=True, log=True)),
            ("data_size_MB", NumericDomain(values=(10_000.0, 15_000.0, 20_000.0), log=True)),
            ("iterations", NumericDomain(lower=0.1, upper=1000.0, log=True, integer=True)),
            ("gross_runtime", NumericDomain(lower=10.0, upper=14400.0, log=True)),
        )
    )
    real_window = locate_mod.dp_window

    def between(x, **kwargs):
        if kwargs["label"] != "window:iterations":
            return real_window(x, **kwargs)
        kwargs["accountant"].spend(kwargs["label"], kwargs["epsilon"])
        edges = (float(np.log(0.27)), float(np.log(0.45)))
        return Window(low=0.27, high=0.45, centre=-1.0, centre_var=1.0, total=300.0,
                      bins=40, significant=True, edges=edges, counts=(300.0,))  # fmt: skip

    monkeypatch.setattr(locate_mod, "dp_window", between)
    s = PerfModelSynthesizer(domain=dom, epsilon=2.0, random_state=0).fit(frame)
    located = s.domain_["iterations"]
    assert isinstance(located, NumericDomain) and located.lower is not None
    assert located.lower <= 0.27 and 1.0 <= (located.upper or 0.0) <= 1000.0
    x = s.sample(500)["iterations"].to_numpy()
    assert ((x >= 1) & (x <= 1000)).all() and np.array_equal(x, np.rint(x))


@pytest.mark.parametrize(
    "window, declared, expected",
    [
        ((0.27, 0.45), (0.1, 1000.0), (0.27, 1.5)),  # nearest is 0, below the domain
        ((0.55, 0.9), (0.1, 1000.0), (0.5, 1.5)),
        ((0.74, 1.22), (0.1, 1000.0), (0.74, 1.22)),  # holds 1: kept
        ((20.1, 148.4), (0.1, 1000.0), (20.1, 148.4)),
        ((999.2, 999.9), (0.1, 999.5), (998.5, 999.5)),  # capped at the declared bound
    ],
)
def test_integer_bounds_reach_the_nearest_integer(window, declared, expected):
    assert integer_bounds(*window, *declared, log=True) == pytest.approx(expected)
    widened = NumericDomain(lower=declared[0], upper=declared[1], log=True, integer=True)
    located = widened.with_bounds(*window)
    assert (located.lower, located.upper) == pytest.approx(expected)


def test_estimated_integer_bounds_without_outer_bounds():
    # an undeclared log-scale integer column: the nearest integer is at least 1
    assert integer_bounds(0.3, 0.45, log=True) == pytest.approx((0.3, 1.5))
    assert integer_bounds(2.6, 2.8) == pytest.approx((2.5, 3.5))
    assert NumericDomain(log=True, integer=True).with_bounds(0.3, 0.45).upper == 1.5
