import numpy as np
import pytest

from jobcast.progress.quality import (
    h_curve,
    n_curve,
    normalized_quality,
    plot_quality,
    quality_curve,
)

# a known point set: similarity s and accuracy a
S = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
A = np.array([0.2, 0.4, 0.6, 0.8, 1.0])


def test_h_and_n_on_known_points():
    t = np.array([0.0, 0.5, 0.8, 0.95])
    assert h_curve(S, A, t)[:3].tolist() == pytest.approx([0.6, 0.8, 1.0])
    assert np.isnan(h_curve(S, A, t)[3])
    assert n_curve(S, A, t).tolist() == pytest.approx([1.0, 0.6, 0.2, 0.0])


def test_h_counts_ties_at_threshold():
    s = np.array([0.5, 0.5, 0.2])
    a = np.array([1.0, 0.0, 0.5])
    assert h_curve(s, a, np.array([0.5]))[0] == pytest.approx(0.5)
    assert n_curve(s, a, np.array([0.5]))[0] == pytest.approx(2 / 3)


def test_normalized_quality_perfect_reversed_and_unrelated():
    x = np.array([0.2, 0.4, 0.6])
    assert normalized_quality(S, A, x).tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert normalized_quality(S, A[::-1], x).tolist() == pytest.approx([-1.0, -1.0, -1.0])
    rng = np.random.default_rng(0)
    s = rng.uniform(size=20000)
    a = rng.uniform(size=20000)
    q = normalized_quality(s, a, np.array([0.1, 0.5]))
    assert np.abs(q).max() < 0.05
    assert np.isnan(normalized_quality(S, np.full(5, 0.5), np.array([0.4]))[0])


def test_threshold_rule_and_plot(tmp_path):
    curve = quality_curve(S, A, measure="runtime", grid=np.round(np.linspace(0, 1, 11), 10))
    # h(t) >= 0.8 first at t = 0.4 (points 0.5, 0.7, 0.9 -> mean 0.8), n = 0.6
    assert curve.threshold(0.79, 0.5) == pytest.approx(0.4)
    assert curve.threshold(0.99, 0.5) is None
    assert curve.to_dict()["n_points"] == 5
    out = plot_quality({"runtime": curve}, tmp_path / "q.png", title="test")
    assert out.exists() and out.stat().st_size > 1000
