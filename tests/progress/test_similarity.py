import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError
from jobcast.progress import similarity as sim
from jobcast.progress.arrays import node_profiles, to_arrays


def test_ratio_similarity_bounds_and_zeros():
    a = np.array([1.0, 0.0, 5.0, np.nan])
    b = np.array([4.0, 0.0, 0.0, 1.0])
    out = sim.ratio_similarity(a, b)
    assert out[:3].tolist() == [0.25, 1.0, 0.0]
    assert np.isnan(out[3])


def test_runtime_similarity_identical_is_one_and_orders_by_distance():
    cur = np.array([10.0, 20.0, 30.0])
    hist = np.vstack([cur, cur * 1.1, cur * 2.0])
    sims = sim.runtime_similarity(cur, hist)
    assert sims[0] == pytest.approx(1.0)
    assert sims[0] > sims[1] > sims[2]
    assert sims[2] == pytest.approx(0.5)
    assert ((sims >= 0) & (sims <= 1)).all()


def test_records_similarity_compares_convergence_not_size():
    cur = np.array([100.0, 50.0, 25.0])
    same_shape_bigger = cur * 10
    slower = np.array([100.0, 90.0, 80.0])
    sims = sim.records_similarity(cur, np.vstack([same_shape_bigger, slower]))
    assert sims[0] == pytest.approx(1.0)
    assert sims[1] < 0.7


def test_records_similarity_missing_is_nan():
    cur = np.array([100.0, 50.0])
    hist = np.array([[np.nan, np.nan], [100.0, 50.0]])
    sims = sim.records_similarity(cur, hist)
    assert np.isnan(sims[0]) and sims[1] == pytest.approx(1.0)


def test_iteration_hardware_similarity_averages_shared_metrics():
    cur = {"cpu": np.array([0.5, 0.5]), "net": np.array([10.0, 10.0])}
    hist = {"cpu": np.array([[0.5, 0.5], [0.25, 0.25]])}
    sims = sim.hardware_similarity(cur, hist)
    assert sims is not None
    assert sims.tolist() == pytest.approx([1.0, 0.5])
    assert sim.hardware_similarity({"disk": np.ones(2)}, hist) is None


def test_node_hardware_similarity_sorted_pairwise():
    samples = pd.DataFrame(
        {
            "execution": ["a"] * 4 + ["b"] * 4 + ["c"] * 2,
            "node": ["n1", "n1", "n2", "n2", "m1", "m1", "m2", "m2", "x", "x"],
            "timestamp": range(10),
            # a: nodes average 0.2 and 0.8; b: the same numbers on swapped node names
            "cpu": [0.1, 0.3, 0.7, 0.9, 0.8, 0.8, 0.2, 0.2, 0.4, 0.4],
            "disk_read": [1.0] * 10,
            "disk_write": [1.0] * 10,
        }
    )
    prof = node_profiles(samples)
    assert set(prof.profiles) == {"cpu", "disk"}
    assert prof.profiles["cpu"].shape == (3, 2)
    cur = {m: v[0] for m, v in prof.profiles.items()}
    sims = sim.node_hardware_similarity(cur, prof.profiles)
    assert sims is not None
    assert sims[0] == pytest.approx(1.0)
    assert sims[1] == pytest.approx(1.0)  # same per-node averages once sorted
    assert sims[2] < 1.0  # one node resampled to two: [0.4, 0.4] vs [0.8, 0.2]


def test_input_size_similarity():
    assert sim.input_size_similarity(100.0, np.array([100.0, 50.0, 400.0])).tolist() == [
        1.0,
        0.5,
        0.25,
    ]


def test_scale_out_similarity_counts_mid_run_changes():
    cur = np.array([4.0, 4.0, 8.0, 8.0])
    hist = np.array([[4.0, 4.0, 8.0, 8.0], [4.0, 4.0, 4.0, 4.0], [8.0, 8.0, 8.0, 8.0]])
    sims = sim.scale_out_similarity(cur, hist)
    w = 1 / np.array([4.0, 3.0, 2.0, 1.0])  # recency weights 1/x, latest iteration x = 1
    expected = [1.0, (w @ [1, 1, 0.5, 0.5]) / w.sum(), (w @ [0.5, 0.5, 1, 1]) / w.sum()]
    assert sims.tolist() == pytest.approx(expected)
    assert sims[2] > sims[1]  # agreeing on the latest scale-out counts more


def test_to_arrays_validates():
    good = pd.DataFrame(
        {"execution": [1, 1, 2], "iteration": [0, 1, 0], "duration_s": [1.0, 2.0, 3.0],
         "scale_out": [2, 2, 4]}
    )
    arrays = to_arrays(good)
    assert arrays.n_iter.tolist() == [2, 1]
    assert np.isnan(arrays.runtime[1, 1])
    with pytest.raises(InputError, match="duration_s"):
        to_arrays(good.assign(duration_s=[1.0, -2.0, 3.0]))
    with pytest.raises(InputError, match="without gaps"):
        to_arrays(good.assign(iteration=[0, 2, 0]))
    with pytest.raises(InputError, match="twice"):
        to_arrays(good.assign(iteration=[0, 0, 0]))
    with pytest.raises(InputError, match="lacks"):
        to_arrays(good.drop(columns="scale_out"))
