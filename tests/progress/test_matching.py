import numpy as np
import pytest

from jobcast.errors import InputError
from jobcast.progress.matching import combine_similarities, match, match_masks
from jobcast.progress.parameters import ProgressParameters


def sims_of(runtime, scale_out=None):
    s = np.full((5, len(runtime)), np.nan)
    s[0] = runtime
    if scale_out is not None:
        s[4] = scale_out
    return s


def test_combine_skips_missing_measures_and_renormalises():
    s = sims_of([0.8, 0.4], [0.4, np.nan])
    out = combine_similarities(s, np.array([1.0, 1.0, 1.0, 1.0, 3.0]))
    assert out.tolist() == pytest.approx([(0.8 + 3 * 0.4) / 4, 0.4])


def test_threshold_discards_below_any_measure():
    p = ProgressParameters(thresholds=(0.5, 0, 0, 0, 0.5))
    s = sims_of([0.9, 0.9, 0.4], [0.9, 0.3, 0.9])
    m = match(s, np.ones(3, bool), p)
    assert m.indices.tolist() == [0]
    assert m.level == 1.0


def test_final_threshold_applies_to_weighted_average():
    p = ProgressParameters(weights=(1, 0, 0, 0, 1), final_threshold=0.7)
    s = sims_of([0.9, 0.6], [0.6, 0.6])
    m = match(s, np.ones(2, bool), p)
    assert m.indices.tolist() == [0]
    assert m.similarity == pytest.approx([0.75])


def test_thresholds_lowered_until_one_matches():
    p = ProgressParameters(thresholds=(0.9, 0, 0, 0, 0), lowering_step=0.1)
    s = sims_of([0.5, 0.62, 0.6])
    m = match(s, np.ones(3, bool), p)
    # 0.62 / 0.9 = 0.69 -> lowered to 0.6 (threshold 0.54): both 0.62 and 0.6 match
    assert m.level == pytest.approx(0.6)
    assert m.indices.tolist() == [1, 2]


def test_lowering_reaches_zero_and_keeps_only_valid():
    p = ProgressParameters(thresholds=(1.0, 0, 0, 0, 0))
    s = sims_of([0.0, 0.0, 0.0])
    valid = np.array([False, True, True])
    m = match(s, valid, p)
    assert m.level == 0.0
    assert m.indices.tolist() == [1, 2]
    assert match(s, np.zeros(3, bool), p).indices.size == 0


def test_batched_masks_equal_single_matches():
    rng = np.random.default_rng(3)
    sims = rng.uniform(size=(7, 5, 11))
    sims[:, 1:4] = np.nan
    valid = rng.uniform(size=(7, 11)) < 0.8
    p = ProgressParameters(thresholds=(0.8, 0, 0, 0, 0.7), final_threshold=0.75)
    mask, _, level = match_masks(sims, valid, p)
    for c in range(7):
        single = match(sims[c], valid[c], p)
        assert np.flatnonzero(mask[c]).tolist() == single.indices.tolist()
        assert level[c] == pytest.approx(single.level)


def test_parameters_round_trip_and_validation():
    p = ProgressParameters(
        thresholds={"runtime": 0.5}, weights={"runtime": 2.0, "records": 0.0}, exponent=4.0
    )
    assert ProgressParameters.from_dict(p.to_dict()) == p
    assert p.thresholds[0] == 0.5 and p.weights[:2] == (2.0, 0.0)
    with pytest.raises(InputError, match="exponent"):
        ProgressParameters(exponent=1.0)
    with pytest.raises(InputError, match="Threshold"):
        ProgressParameters(thresholds=(1.5, 0, 0, 0, 0))
    with pytest.raises(InputError, match="Unknown"):
        ProgressParameters.from_dict({"weightz": {}})
    with pytest.raises(InputError, match="Weights"):
        ProgressParameters(weights=(0, 0, 0, 0, 0))
