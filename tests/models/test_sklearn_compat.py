"""scikit-learn compatibility: the generic checks, and the same properties on valid runtime data.

sklearn's generic checks feed standardised random numbers as X. The runtime models
read column 0 as the scale-out, a number of machines, and refuse values <= 0 with
an InputError (a ValueError) instead of fitting nonsense; the checks below that
fit such data are expected to fail for that reason alone, and
``test_properties_on_valid_data`` checks what they would check on valid data.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from jobcast.models import (
    AutoModel,
    BellModel,
    ErnestModel,
    GradientBoostingModel,
    KernelRegression,
    LogLinearModel,
    MedianModel,
    OptimisticModel,
)

# Each of these fits sklearn's random data, whose column 0 (the scale-out) holds
# values <= 0; the models refuse them with "scale-outs must be numbers of machines > 0".
NON_POSITIVE_SCALE_OUT = {
    name: "generic data has scale-outs <= 0, which runtime models refuse"
    for name in [
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_readonly_memmap_input",
        "check_regressor_data_not_an_array",
        "check_regressors_int",
        "check_regressors_train",
    ]
}

ESTIMATORS = [
    ErnestModel(),
    KernelRegression(),
    BellModel(),
    GradientBoostingModel(n_estimators=20),
    OptimisticModel(),
    OptimisticModel(kind="gbm", n_estimators=20),
    LogLinearModel(),
    MedianModel(),
    AutoModel(candidates=("loglinear", "optimistic", "ernest")),
]


@pytest.mark.slow  # about 400 checks: a few minutes on a busy 2-core machine
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda _: NON_POSITIVE_SCALE_OUT)
def test_sklearn_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def _valid(rng: np.random.Generator, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    m = rng.choice([2.0, 4, 6, 8, 10], size=n)
    x = rng.uniform(1, 3, size=n)
    return np.column_stack([m, x]), (5 + 40 * x / m) * (1 + 0.02 * rng.standard_normal(n))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_properties_on_valid_data(estimator, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    X, y = _valid(rng)
    params = estimator.get_params()
    model = clone(estimator)
    assert model.fit(X, y) is model  # fit returns self
    assert model.get_params() == params  # fit does not overwrite parameters
    assert model.n_features_in_ == 2
    predicted = model.predict(X)
    assert predicted.shape == (len(y),) and np.all(np.isfinite(predicted))
    # pickling keeps predictions
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), predicted)
    # lists, ints and read-only arrays are accepted
    as_int = X.astype(int)
    clone(estimator).fit(as_int.tolist(), y.tolist()).predict(as_int)
    readonly = X.copy()
    readonly.flags.writeable = False
    np.testing.assert_allclose(clone(estimator).fit(readonly, y).predict(readonly), predicted)
    # DataFrames with names; predicting with other names is refused
    frame = pd.DataFrame(X, columns=["scale_out", "x"])
    fitted = clone(estimator).fit(frame, y)
    np.testing.assert_allclose(fitted.predict(frame), predicted)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.rename(columns={"x": "y"}))


def test_unfitted_predict_raises() -> None:
    from sklearn.exceptions import NotFittedError

    for estimator in ESTIMATORS:
        with pytest.raises(NotFittedError):
            clone(estimator).predict(np.ones((2, 2)))
