"""Robustness of perfmodel shares of a small job (few rows, ε = 1): no useless share.

A sort-like job with 29 executions on a 6 x 6 grid (scale-out x input size) and a wide
public runtime domain (10 s .. 4 h).  The privacy noise comes from OpenDP (not seedable),
the job's rows and the sampling are seeded; the bounds below hold with a wide margin
(the per-fit level error is about 0.2 in log units on average, rarely above 1;
the original noise is unseeded, so the bounds leave room for its rare tails).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError
from jobcast.privacy import Domain, NumericDomain, PerfModelSynthesizer
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.bounds import dp_window
from jobcast.privacy.perfmodel.budget import count_posterior_mean

SCALE_OUTS = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
SIZES = (9630.0, 11556.0, 13482.0, 15408.0, 17334.0, 19260.0)


def _truth(m: np.ndarray, size: np.ndarray) -> np.ndarray:
    return 20.0 + 0.12 * size / m**0.9


def _domain() -> Domain:
    return Domain(
        (
            ("instance_count", NumericDomain(values=SCALE_OUTS, log=True, integer=True)),
            ("data_size_MB", NumericDomain(values=SIZES, log=True, integer=True)),
            ("gross_runtime", NumericDomain(lower=10.0, upper=4 * 3600.0, log=True, bins=20)),
        )
    )


def _job(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gm, gs = (a.ravel() for a in np.meshgrid(SCALE_OUTS, SIZES))
    idx = rng.integers(0, gm.size, n)
    frame = pd.DataFrame({"instance_count": gm[idx], "data_size_MB": gs[idx]})
    rt = _truth(gm[idx], gs[idx]) * np.exp(0.05 * rng.standard_normal(n))
    frame["gross_runtime"] = rt
    return frame


def _log_level_errors(n_fits: int, n_rows: int, epsilon: float) -> np.ndarray:
    domain = _domain()
    errs = []
    for seed in range(n_fits):
        s = PerfModelSynthesizer(domain=domain, epsilon=epsilon, random_state=seed)
        out = s.fit(_job(n_rows, seed)).sample(300)
        ratio = out["gross_runtime"] / _truth(out["instance_count"], out["data_size_MB"])
        errs.append(abs(float(np.mean(np.log(ratio)))))
    return np.array(errs)


def test_runtime_level_of_small_job_shares_stays_within_a_factor():
    errs = _log_level_errors(40, 29, 1.0)
    # Nine in ten levels within a factor 2.5, at most two beyond a factor 4 and at most
    # one beyond a factor 20.  Measured over 60 000 fits of this job (6 December 2026):
    # 129 beyond a factor 4 (1 in 470) and 8 beyond a factor 20 (1 in 7 500, a noise
    # spike in an empty end bin of the runtime window beating the data's run), so these
    # fail by chance about once in 10 000 runs (none beyond 20 failed once in 190), while
    # the code before the robustness changes (one in ten beyond a factor 4) fails surely.
    assert np.quantile(errs, 0.9) < np.log(2.5)
    assert (errs > np.log(4.0)).sum() <= 2
    assert (errs > np.log(20.0)).sum() <= 1


def test_more_budget_gives_a_tighter_level():
    errs = _log_level_errors(15, 29, 10.0)
    assert np.quantile(errs, 0.9) < np.log(1.5)


@pytest.mark.parametrize("noisy", [-30.0, 0.0, 5.0, 29.0, 500.0])
def test_count_posterior_mean_is_at_least_one_and_tracks_large_counts(noisy):
    scale = 10.0
    got = count_posterior_mean(noisy, scale)
    assert got >= 1.0
    if noisy > 10 * scale:
        assert abs(got - noisy) < 0.5
    # Truncation at n >= 1 pulls small or negative releases up, never down.
    assert got >= noisy or noisy > 10 * scale


def test_features_are_dropped_when_noise_dominates_and_kept_otherwise():
    domain = _domain()
    small = PerfModelSynthesizer(domain=domain, epsilon=0.5, random_state=0).fit(_job(29, 1))
    big = PerfModelSynthesizer(domain=domain, epsilon=50.0, random_state=0).fit(_job(2000, 1))
    assert small.released_[0] == "intercept" and len(small.released_) < 4
    assert len(big.released_) == 4
    assert len(small.coef_) == len(small.features_) == 4
    # A coefficient that is not released stays at its prior mean: 0 without
    # elasticities, but the public scale-out prior (runtime falling with scale-out) for
    # log(instance_count) when neither scale-out slope is released.
    dropped = [j for j, lab in enumerate(small.features_) if lab not in small.released_]
    scale = [j for j, lab in enumerate(small.features_) if "instance_count" in lab]
    assert dropped and all(small.coef_[j] == 0.0 for j in dropped if j not in scale)
    if not set(scale) & {small.features_.index(lab) for lab in small.released_}:
        assert small.coef_[small.features_.index("log(instance_count)")] < 0.0


def _labels(s: PerfModelSynthesizer) -> list[str]:
    return [spend.label for spend in s.ledger_]


def test_per_value_corrections_only_when_their_noise_is_small():
    domain = _domain()
    frame = _job(2000, 3)
    # Many rows per value at a large ε: one correction release per context column.
    big = PerfModelSynthesizer(domain=domain, epsilon=50.0, random_state=0).fit(frame)
    assert "corrections:instance_count" in _labels(big)
    assert "corrections:data_size_MB" in _labels(big)
    assert sum(x.epsilon for x in big.ledger_) == pytest.approx(50.0)
    # Few rows at ε = 1: corrections would be pure noise; their share goes to the model.
    small = PerfModelSynthesizer(domain=domain, epsilon=1.0, random_state=0).fit(_job(29, 3))
    assert not any(lab.startswith("corrections:") for lab in _labels(small))
    model = {x.label: x.epsilon for x in small.ledger_}["model:coefficients"]
    # (a second row count may take up to 0.2 of the budget when the rows are few)
    assert model > 0.25
    assert sum(x.epsilon for x in small.ledger_) == pytest.approx(1.0)


def test_coverage_spreads_rows_over_the_declared_grid():
    # Without DP the configurations of the rows would be the owner's only; coverage
    # puts a share of the synthetic rows on every declared configuration.
    frame = _job(400, 4)
    frame = frame[frame["instance_count"] != 12.0]
    s = PerfModelSynthesizer(domain=_domain(), no_dp=True, random_state=0).fit(frame)
    out = s.sample(4000)
    share12 = float((out["instance_count"] == 12.0).mean())
    # expected: coverage / 6 of the rows (0.25 / 6 = 0.042)
    assert 0.025 < share12 < 0.06
    none = PerfModelSynthesizer(domain=_domain(), no_dp=True, coverage=0.0, random_state=0)
    assert (none.fit(frame).sample(2000)["instance_count"] == 12.0).sum() == 0
    # the unseen configuration gets the model's runtime, close to the truth
    rows = out[out["instance_count"] == 12.0]
    ratio = rows["gross_runtime"] / _truth(rows["instance_count"], rows["data_size_MB"])
    assert abs(float(np.mean(np.log(ratio)))) < 0.3


def test_declared_elasticity_is_the_prior_mean_of_an_unreleased_slope():
    domain = _domain()
    s = PerfModelSynthesizer(
        domain=domain, epsilon=0.2, elasticity={"data_size_MB": 1.0}, random_state=0
    ).fit(_job(29, 5))
    j = list(s.features_).index("log(data_size_MB)")
    if "log(data_size_MB)" not in s.released_:
        half_range = (np.log(SIZES[-1]) - np.log(SIZES[0])) / 2
        assert s.coef_[j] == pytest.approx(half_range)
    with pytest.raises(Exception, match="not a context column"):
        PerfModelSynthesizer(domain=domain, epsilon=1.0, elasticity={"nope": 1.0}).fit(
            _job(29, 5)
        )


def test_unknown_option_is_refused():
    with pytest.raises(InputError, match="coverage"):
        PerfModelSynthesizer(domain=_domain(), epsilon=1.0, coverage=2.0).fit(_job(30, 0))
    with pytest.raises(InputError, match="select_ratio"):
        PerfModelSynthesizer(domain=_domain(), epsilon=1.0, select_ratio=-1.0).fit(_job(30, 0))


def test_window_goes_where_most_rows_are_not_to_a_lone_spike():
    # 8 adjacent bins of 25 rows each and one far bin of 50: with a per-bin penalty of
    # 22 rows the lone bin wins the maximum subarray (gain 28 against 8 x 3 = 24), but
    # it holds fewer rows than the best 3-bin block of the data (75), so the window is
    # that block.  The noise is negligible here (ε = 5 on counts of 25).
    width = 0.25
    lo = np.log(10.0)
    data = np.exp(lo + width * (np.repeat(np.arange(8), 25) + 4.5))
    spike = np.full(50, np.exp(lo + width * 20.5))
    acc = Accountant(5.0)
    win = dp_window(
        np.concatenate([data, spike]), accountant=acc, label="w", epsilon=5.0,
        lower=10.0, upper=4 * 3600.0, width=width, threshold=110.0, fallback=1,
    )
    low, high, centre = win.low, win.high, win.centre
    assert np.exp(lo + width * 4) <= low < high <= np.exp(lo + width * 12)
    assert lo + width * 4 <= centre <= lo + width * 12
