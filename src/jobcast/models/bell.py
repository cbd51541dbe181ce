"""BELL: choose between Ernest and kernel regression of runtime on scale-out by cross-validation."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError
from jobcast.models._base import RuntimeRegressor
from jobcast.models._data import ColumnSpec, check_target, scale_out_only
from jobcast.models.ernest import ernest_features, fit_nnls
from jobcast.models.kernel import (
    bandwidth_candidates,
    group_scale_outs,
    loo_bandwidth,
    nadaraya_watson,
    nested_loo_predictions,
)

__all__ = ["BellModel"]

BellChoice = Literal["ernest", "kernel", "constant"]

# With many distinct scale-outs, this many evenly spread interior ones are held out
# in turn; more folds cost time and hardly change the choice.
_MAX_FOLDS = 20


def _interpolation_predictions(
    points: np.ndarray, means: np.ndarray, counts: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions of Ernest and kernel regression on interpolation splits.

    Every distinct scale-out strictly inside the observed range (at most
    ``_MAX_FOLDS`` of them, evenly spread) is left out in turn with all its runs
    and predicted by both models fitted on the others. Returns the held-out
    positions and the two models' predictions there.
    """
    k = len(points)
    held_out = np.unique(np.linspace(1, k - 2, min(k - 2, _MAX_FOLDS)).round().astype(int))
    features = ernest_features(points)
    ernest = np.empty(len(held_out))
    for j, i in enumerate(held_out):
        train = np.arange(k) != i
        theta = fit_nnls(features[train], means[train], weights=counts[train])
        ernest[j] = float(features[i] @ theta)
    kernel = nested_loo_predictions(points, means, counts, candidates, held_out)
    return held_out, np.maximum(ernest, 1e-12 * float(means.min())), kernel


class BellModel(RuntimeRegressor):
    """BELL's scale-out model for one job context: Ernest or kernel regression.

    Runtime is modelled against the scale-out only. With three or more distinct
    scale-outs both Ernest's parametric model ``[1, 1/m, log m, m]`` (NNLS) and
    Nadaraya-Watson kernel regression (bandwidth by leave-one-out) are evaluated
    on interpolation splits: each scale-out strictly inside the observed range is
    left out and predicted from the others. The model with the lower mean
    absolute relative error (count-weighted) is refitted on all runs; ties go to
    Ernest, which extrapolates. With two distinct scale-outs there is no
    interpolation split and Ernest is used; with one, the mean runtime (nothing
    is known about how the job scales).

    Fitting and predicting take well under a millisecond for tens of
    scale-outs, so progress estimation can refit it for every iteration.

    Parameters
    ----------
    scale_out, n_bandwidths
        As in :class:`jobcast.models.kernel.KernelRegression`, which BELL fits as its
        kernel-regression candidate.
    random_state
        Accepted for a uniform interface with the other runtime models; BELL's
        selection is deterministic and does not use it.

    Attributes
    ----------
    chosen_ : str
        ``"ernest"``, ``"kernel"`` or ``"constant"``.
    coef_ : numpy.ndarray
        Ernest's coefficients fitted on all runs (also when kernel regression won).
    bandwidth_ : float
        The kernel bandwidth chosen by leave-one-out on all runs.
    cv_scores_ : dict
        Mean absolute percentage error (``|prediction - runtime| / runtime``,
        count-weighted) on the interpolation splits per candidate; empty with
        fewer than three distinct scale-outs.
    cv_errors_ : numpy.ndarray
        ``runtime / prediction - 1`` of the chosen model on the interpolation
        splits (mean runtimes at the held-out scale-outs): how much longer than
        predicted the job ran (negative: shorter).
    points_, means_, counts_ : numpy.ndarray
        Distinct scale-outs, mean runtime and number of runs at each.
    n_features_in_ : int

    References
    ----------
    Thamsen, Verbitskiy, Schmidt, Renner, Kao: "Selecting Resources for
    Distributed Dataflow Systems According to Runtime Targets", IPCCC 2016.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[2.0], [4.0], [6.0], [8.0], [10.0]])
    >>> y = 20 + 400 / m[:, 0]
    >>> model = BellModel().fit(m, y)
    >>> model.chosen_
    'ernest'
    >>> round(float(model.predict(np.array([[5.0]]))[0]), 6)
    100.0
    """

    def __init__(
        self,
        *,
        scale_out: ColumnSpec | None = None,
        n_bandwidths: int = 40,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.scale_out = scale_out
        self.n_bandwidths = n_bandwidths
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> BellModel:
        """Choose and fit the scale-out model.

        Parameters
        ----------
        X
            Executions of one job context; only the scale-out column is used.
        y
            Runtimes in seconds (> 0).

        Returns
        -------
        BellModel
            ``self``.

        Raises
        ------
        jobcast.errors.InputError
            On malformed input or scale-outs that are not > 0.
        """
        if not isinstance(self.n_bandwidths, int) or self.n_bandwidths < 1:
            raise InputError(f"n_bandwidths must be an int >= 1, got {self.n_bandwidths!r}.")
        m = scale_out_only(self, X, self.scale_out, reset=True)
        y_arr = check_target(y, len(m))
        points, means, counts = group_scale_outs(m, y_arr)
        self.points_, self.means_, self.counts_ = points, means, counts
        self.coef_ = fit_nnls(ernest_features(points), means, weights=counts)
        candidates = bandwidth_candidates(points, self.n_bandwidths)
        self.bandwidth_, _ = loo_bandwidth(points, means, counts, candidates)
        self.cv_scores_: dict[str, float] = {}
        chosen: BellChoice
        if len(points) == 1:
            chosen, self.cv_errors_ = "constant", np.zeros(0)
        elif len(points) == 2:
            chosen, self.cv_errors_ = "ernest", np.zeros(0)
        else:
            held_out, ernest, kernel = _interpolation_predictions(points, means, counts, candidates)
            truth, weights = means[held_out], counts[held_out]
            self.cv_scores_ = {
                "ernest": float(np.abs(ernest - truth) / truth @ weights / weights.sum()),
                "kernel": float(np.abs(kernel - truth) / truth @ weights / weights.sum()),
            }
            if self.cv_scores_["kernel"] < self.cv_scores_["ernest"]:
                chosen, self.cv_errors_ = "kernel", truth / kernel - 1.0
            else:
                chosen, self.cv_errors_ = "ernest", truth / ernest - 1.0
        self.chosen_: BellChoice = chosen
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict runtimes in seconds at the scale-outs of ``X``."""
        check_is_fitted(self, "chosen_")
        m = scale_out_only(self, X, self.scale_out, reset=False)
        if self.chosen_ == "constant":
            mean = float(self.means_ @ self.counts_ / self.counts_.sum())
            return np.full(len(m), mean)
        if self.chosen_ == "kernel":
            return nadaraya_watson(m, self.points_, self.means_, self.counts_, self.bandwidth_)
        return np.asarray(ernest_features(m) @ self.coef_, dtype=np.float64)
