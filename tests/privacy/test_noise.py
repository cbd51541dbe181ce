"""Statistical tests of the noise steps.

OpenDP's sampler is not seedable (it uses a CSPRNG): large samples and wide margins.
"""

import math

import numpy as np
import pytest

from jobcast.errors import BudgetExceededError, PrivacyError
from jobcast.privacy.accountant import Accountant
from jobcast.privacy.bayesnet import mutual_information_scores, score_sensitivity
from jobcast.privacy.bounds import dp_log_range
from jobcast.privacy.noise import (
    exponential_select,
    laplace_int,
    linf_laplace_int,
    linf_noise_variance,
    quantize,
)

SAMPLES = 20_000


def _acc(epsilon: float) -> Accountant:
    """A fresh accountant holding exactly one mechanism's budget."""
    return Accountant(epsilon)


def _empirical_loss(a: np.ndarray, b: np.ndarray, min_count: int = 400) -> np.ndarray:
    """log(P_a(v) / P_b(v)) for every output v seen often enough in both samples."""
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    ca = np.bincount(a - lo, minlength=hi - lo + 1)
    cb = np.bincount(b - lo, minlength=hi - lo + 1)
    keep = (ca >= min_count) & (cb >= min_count)
    return np.log(ca[keep] / cb[keep])


@pytest.mark.parametrize("epsilon", [0.5, 1.0])
def test_noisy_count_privacy_loss_within_epsilon(epsilon):
    # Neighbouring histograms: one execution added to a cell of count 5.
    d = laplace_int(np.full(SAMPLES, 5), sensitivity=1, accountant=_acc(epsilon), label="test")
    d2 = laplace_int(np.full(SAMPLES, 6), sensitivity=1, accountant=_acc(epsilon), label="test")
    loss = _empirical_loss(d, d2)
    assert len(loss) >= 4
    # 5 standard errors of a log-ratio of counts >= 400
    tol = 5 * math.sqrt(2 / 400)
    assert np.abs(loss).max() <= epsilon + tol
    # calibrated, not just "very noisy": the loss actually reaches epsilon
    assert np.abs(loss).max() >= epsilon - tol


def test_fixed_point_sum_loss_within_epsilon():
    # a sum whose one-execution change is at most 3 steps
    eps = 1.0
    a = laplace_int(
        np.zeros(SAMPLES, dtype=np.int64), sensitivity=3, accountant=_acc(eps), label="test"
    )
    b = laplace_int(np.full(SAMPLES, 3), sensitivity=3, accountant=_acc(eps), label="test")
    loss = _empirical_loss(a, b, min_count=300)
    assert np.abs(loss).max() <= eps + 5 * math.sqrt(2 / 300)


def test_noise_scale_matches_discrete_laplace_variance():
    eps = 0.5
    x = laplace_int(
        np.zeros(SAMPLES, dtype=np.int64), sensitivity=1, accountant=_acc(eps), label="test"
    )
    p = math.exp(-eps)
    var = 2 * p / (1 - p) ** 2
    assert x.var() == pytest.approx(var, rel=0.08)
    assert abs(x.mean()) < 5 * math.sqrt(var / SAMPLES)


def _cube_draws(q: tuple[int, ...], sensitivity: int, eps: float, n: int) -> np.ndarray:
    return np.array(
        [
            linf_laplace_int(
                np.array(q), sensitivity=sensitivity, accountant=_acc(eps), label="test"
            )
            for _ in range(n)
        ]
    )


def test_cube_noise_privacy_loss_within_epsilon():
    # Neighbours differ by a corner of the cube: both coordinates move by the full
    # sensitivity (L1 change 2, L-infinity change 1).  The K-norm noise still keeps
    # every output's probability ratio within exp(ε), and reaches it.
    eps = 1.0
    a = _cube_draws((0, 0), 1, eps, SAMPLES)
    b = _cube_draws((1, -1), 1, eps, SAMPLES)
    lo = min(a.min(), b.min())
    width = max(a.max(), b.max()) - lo + 1

    def counts(x: np.ndarray) -> np.ndarray:
        return np.bincount((x[:, 0] - lo) * width + (x[:, 1] - lo), minlength=width * width)

    ca, cb = counts(a), counts(b)
    keep = (ca >= 300) & (cb >= 300)
    loss = np.abs(np.log(ca[keep] / cb[keep]))
    tol = 5 * math.sqrt(2 / 300)
    assert keep.sum() >= 9
    assert loss.max() <= eps + tol
    assert loss.max() >= eps - tol


def test_cube_noise_variance_is_the_k_norm_variance():
    eps, s, d = 0.5, 40, 4
    z = _cube_draws((0,) * d, s, eps, 4000)
    var = linf_noise_variance(d, s, eps)
    assert z.var(axis=0) == pytest.approx(np.full(d, var), rel=0.12)
    assert np.abs(z.mean(axis=0)).max() < 5 * math.sqrt(var / 4000)
    corr = np.corrcoef(z.T)[np.triu_indices(d, 1)]
    assert np.abs(corr).max() < 0.08  # symmetric cube: uncorrelated coordinates
    # against Laplace noise calibrated to the L1 sensitivity d * s on each coordinate
    assert var < 2 * (d * s / eps) ** 2 / 3


def _selection_frequencies(scores: np.ndarray, eps: float, draws: int) -> np.ndarray:
    picks = [
        exponential_select(scores, sensitivity=1.0, accountant=_acc(eps), label="test")
        for _ in range(draws)
    ]
    return np.bincount(picks, minlength=len(scores)) / draws


def test_selection_privacy_loss_within_epsilon():
    # neighbouring score vectors: every score moves by at most the sensitivity 1
    eps, draws = 1.0, 4000
    f = _selection_frequencies(np.array([0.0, 1.0, 2.0]), eps, draws)
    f2 = _selection_frequencies(np.array([1.0, 0.0, 1.0]), eps, draws)
    assert f.argmax() == 2  # the best candidate is favoured
    loss = np.abs(np.log(f / f2))
    # standard error of a log-frequency ratio with >= ~200 draws per cell: < 0.1
    assert loss.max() <= eps + 0.35


@pytest.mark.parametrize("eps", [0.0, -1.0, math.nan])
def test_bad_epsilon_rejected(eps):
    acc = Accountant(1.0)
    with pytest.raises(PrivacyError):
        laplace_int(
            np.zeros(3, dtype=np.int64), sensitivity=1, accountant=acc, label="x", epsilon=eps
        )
    with pytest.raises(PrivacyError):
        exponential_select(np.zeros(3), sensitivity=1.0, accountant=acc, label="x", epsilon=eps)
    with pytest.raises(PrivacyError):
        linf_laplace_int(
            np.zeros(3, dtype=np.int64), sensitivity=1, accountant=acc, label="x", epsilon=eps
        )
    with pytest.raises(PrivacyError):
        Accountant(eps)
    assert acc.ledger == ()


def test_every_mechanism_charges_the_accountant_before_drawing():
    acc = Accountant(1.0)
    laplace_int(np.zeros(3, dtype=np.int64), sensitivity=1, accountant=acc, label="a", epsilon=0.25)
    exponential_select(np.arange(3.0), sensitivity=1.0, accountant=acc, label="b", epsilon=0.25)
    dp_log_range(np.array([5.0, 9.0]), accountant=acc, label="c", epsilon=0.25)
    linf_laplace_int(np.zeros(3, dtype=np.int64), sensitivity=2, accountant=acc, label="d",
                     epsilon=0.125)
    laplace_int(np.zeros(2, dtype=np.int64), sensitivity=1, accountant=acc, label="e")
    assert [s.label for s in acc.ledger] == ["a", "b", "c", "d", "e"]
    assert acc.exhausted
    # over budget: refused before any noise is drawn, nothing recorded
    with pytest.raises(BudgetExceededError):
        laplace_int(
            np.zeros(1, dtype=np.int64), sensitivity=1, accountant=acc, label="e", epsilon=0.1
        )
    with pytest.raises(BudgetExceededError):
        linf_laplace_int(np.zeros(2, dtype=np.int64), sensitivity=1, accountant=acc, label="f")
    assert len(acc.ledger) == 5
    with pytest.raises(PrivacyError, match="Accountant"):
        laplace_int(
            np.zeros(1, dtype=np.int64),
            sensitivity=1,
            accountant=None,  # type: ignore[arg-type]
            label="f",
            epsilon=0.1,
        )


def test_norm_is_checked_and_linf_keeps_the_shape():
    acc = Accountant(1.0)
    with pytest.raises(PrivacyError, match="norm"):
        laplace_int(
            np.zeros(3, dtype=np.int64), sensitivity=1, accountant=acc, label="x",
            norm="l2",  # type: ignore[arg-type]
        )
    assert acc.ledger == ()
    z = laplace_int(
        np.zeros((2, 3), dtype=np.int64), sensitivity=4, accountant=acc, label="cube",
        epsilon=0.5, norm="linf",
    )
    assert z.shape == (2, 3) and z.dtype == np.int64
    assert [(s.label, s.epsilon) for s in acc.ledger] == [("cube", 0.5)]
    # one coordinate: the cube is the interval, the same discrete Laplace mechanism
    one = linf_laplace_int(np.array([7]), sensitivity=1, accountant=acc, label="one")
    assert one.shape == (1,) and acc.exhausted


def test_quantize_bounds_sensitivity():
    q = quantize(np.array([-0.3, 0.3, 0.1499]), resolution=0.3 / 1000)
    assert q.tolist() == [-1000, 1000, 500]


def test_score_sensitivity_holds_on_random_neighbours():
    rng = np.random.default_rng(3)
    card = np.array([3, 2, 4])
    worst = 0.0
    for _ in range(300):
        n = int(rng.integers(1, 40))
        codes = np.column_stack([rng.integers(c, size=n) for c in card])
        # skewed tables too: copies of one row
        if rng.random() < 0.3:
            codes[:] = codes[0]
        extra = np.array([[rng.integers(c) for c in card]])
        for par, a in [((0,), 1), ((0, 1), 2), ((), 0)]:
            u = mutual_information_scores(codes, card, par, [a])[0]
            u2 = mutual_information_scores(np.vstack([codes, extra]), card, par, [a])[0]
            worst = max(worst, abs(u2 - u) - (math.log(n + 1) + 1))
            assert abs(u2 - u) <= score_sensitivity(n + 1) / 2 + 1e-9
    assert worst <= 1e-9


def test_dp_log_range_covers_bulk():
    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(np.log(100), np.log(1000), 2000))
    lo, hi = dp_log_range(x, accountant=_acc(1.0))
    assert lo <= 100 and hi >= 1000
    assert lo >= 100 / 8 and hi <= 1000 * 8


def test_dp_log_range_subarray_window_ignores_noise_far_away():
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(np.log(100), np.log(700), 150))
    for _ in range(5):
        lo, hi = dp_log_range(
            x,
            accountant=_acc(1.0),
            lower=10.0,
            upper=14400.0,
            width=0.25,
            threshold=3.0,
            mode="subarray",
        )
        assert 100 / 3 <= lo <= 200 and 350 <= hi <= 700 * 3
    # without noise: exactly the bins from the first to the last non-empty one
    lo, hi = dp_log_range(
        x, accountant=None, lower=10.0, upper=14400.0, width=0.25, mode="subarray"
    )
    assert lo <= x.min() < lo * np.exp(0.25) and hi / np.exp(0.25) <= x.max() <= hi
