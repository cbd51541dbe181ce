"""The only place that samples privacy noise: OpenDP's discrete Laplace and noisy-max mechanisms.

Every mechanism here takes the *sensitivity* of the released quantity (stated and
cited by the caller) and the release's :class:`~jobcast.privacy.accountant.Accountant`
with a label and the ε to spend (``None``: all that remains).  It records the spend in
the accountant *before* drawing (so no noise is ever drawn unaccounted, and an
over-budget spend raises before anything is released), builds the OpenDP measurement,
and checks with OpenDP's own privacy map that it costs no more than that ε.

Why integers: OpenDP samples the discrete Laplace (two-sided geometric) exactly, with
no floating-point attack surface (Mironov, CCS 2012), and an order of magnitude faster
than its exact continuous Laplace.  Real-valued sums are therefore released in fixed
point: each execution's contribution is rounded to a multiple of a public
``resolution`` *before* summing (:func:`quantize`), so the sensitivity of the integer
sum is exact.

References
----------
.. [1] C. Dwork, F. McSherry, K. Nissim, A. Smith, "Calibrating noise to sensitivity
   in private data analysis", TCC 2006 (Laplace mechanism; a count has L1 sensitivity 1).
.. [2] A. Ghosh, T. Roughgarden, M. Sundararajan, "Universally utility-maximizing
   privacy mechanisms", STOC 2009 (geometric / discrete Laplace mechanism).
.. [3] F. McSherry, K. Talwar, "Mechanism design via differential privacy", FOCS 2007
   (exponential mechanism), and R. McKenna, D. Sheldon, "Permute-and-flip: a new
   mechanism for differentially private selection", NeurIPS 2020: OpenDP's
   ``make_noisy_max`` under pure DP is report-noisy-max with exponential noise, which is
   permute-and-flip -- ``2 * sensitivity / scale``-DP for scores that may move in both
   directions, like the exponential mechanism it replaces, and never less accurate.
.. [4] F. McSherry, "Privacy integrated queries", SIGMOD 2009 (parallel composition:
   disjoint cells of one histogram cost ε once).
.. [5] M. Hardt, K. Talwar, "On the geometry of differential privacy", STOC 2010 (the
   K-norm mechanism: noise with density proportional to ``exp(-ε ||z||_K)`` is ε-DP
   when every one-execution change lies in ``K``; for a vector whose coordinates each
   move by at most ``s``, ``K`` is the cube and the noise per coordinate is
   ``sqrt(6 d² / ((d + 1)(d + 2)))`` times smaller (1.9 for ``d = 5``, at most
   ``sqrt(6)``) than Laplace noise calibrated to the L1 sensitivity ``d s``).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any, Literal

import numpy as np
import opendp.prelude as dp

from jobcast.errors import PrivacyError
from jobcast.privacy.accountant import Accountant, check_epsilon

__all__ = [
    "laplace_int",
    "linf_laplace_int",
    "linf_noise_variance",
    "quantize",
    "exponential_select",
    "check_epsilon",
]

# OpenDP gates mechanisms that are not yet fully vetted behind "contrib"; the discrete
# Laplace and noisy-max measurements used here are among them.
dp.enable_features("contrib")

_SLACK = 1e-9


@lru_cache(maxsize=256)
def _int_laplace(scale: float) -> Any:
    return dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64"), scale=scale
    )


@lru_cache(maxsize=256)
def _noisy_max(scale: float) -> Any:
    return dp.m.make_noisy_max(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float),
        dp.max_divergence(),
        scale=scale,
    )


def _check_int_sensitivity(sensitivity: int) -> None:
    if int(sensitivity) != sensitivity or sensitivity < 1:
        raise PrivacyError(f"sensitivity must be a positive integer, got {sensitivity!r}")


def _charge(accountant: Accountant, label: str, epsilon: float | None) -> float:
    """Check ε (> 0, or ``None`` for all that remains), record the spend; return its ε."""
    if epsilon is not None:
        check_epsilon(epsilon)
    if not isinstance(accountant, Accountant):
        raise PrivacyError(
            f"the mechanism for {label!r} needs the release's Accountant, got {accountant!r}"
        )
    return accountant.spend_rest(label) if epsilon is None else accountant.spend(label, epsilon)


def laplace_int(
    values: np.ndarray,
    *,
    sensitivity: int,
    accountant: Accountant,
    label: str,
    epsilon: float | None = None,
    norm: Literal["l1", "linf"] = "l1",
) -> np.ndarray:
    """Add discrete noise to a vector of integers (counts or fixed-point sums), ε-DP.

    With ``norm="l1"``, discrete Laplace noise of scale ``sensitivity / ε`` on every
    coordinate [1]_ [2]_, drawn by OpenDP.

    With ``norm="linf"``, K-norm noise for the cube: when one execution changes *every*
    coordinate of a ``d``-vector by at most ``s`` (an L-infinity sensitivity, such as the
    sufficient statistics ``Σ φ(x) y`` of a regression with ``|φ_j| <= 1``), the noise
    ``z`` with probability proportional to ``exp(-ε max_j |z_j| / s)`` on the integer
    lattice is ε-DP: for any change ``Δ`` with ``max |Δ_j| <= s`` the triangle
    inequality bounds the probability ratio by ``exp(ε)`` [5]_.  Its variance per
    coordinate (:func:`linf_noise_variance`) is ``(d + 1)(d + 2) / 6`` times the variance
    of discrete Laplace noise on one coordinate, against ``d²`` for Laplace noise
    calibrated to the L1 sensitivity ``d s``: 3.6 times less variance for ``d = 5``.
    Sampling is exact, in two steps (:func:`_cube_norm` and :func:`_cube_shell_point`):
    the norm ``m = max_j |z_j|``, whose probability is proportional to the number of
    lattice points on the cube's shell of radius ``m`` times ``exp(-ε m / s)``, by
    rejection from the L1 norm of ``d`` draws of OpenDP's discrete Laplace (same rate;
    accepted with the ratio of shell sizes, most often), then a point uniformly on that
    shell.  The noise never depends on the data, only on ``d``, ``s`` and ε.  For one
    coordinate both norms are the same discrete Laplace mechanism.

    Parameters
    ----------
    values
        Integer vector whose sensitivity (add or remove one execution) is
        ``sensitivity``.
    sensitivity
        In the same integer units: the L1 sensitivity of the whole vector
        (``norm="l1"``), or the bound ``s`` on the change of each coordinate
        (``norm="linf"``).
    accountant, label
        The release's accountant and what this spend is recorded as.
    epsilon
        ε of this mechanism (``None``: all that remains in ``accountant``).
    norm
        The norm ``sensitivity`` is stated in, which shapes the noise.

    Returns
    -------
    numpy.ndarray
        The noisy vector (int64), same shape as ``values``.

    Raises
    ------
    PrivacyError
        If ε is not > 0, the sensitivity is not a positive integer, or OpenDP's privacy
        map says the measurement would cost more than ε.
    """
    if norm not in ("l1", "linf"):
        raise PrivacyError(f'norm must be "l1" or "linf", got {norm!r}')
    _check_int_sensitivity(sensitivity)
    arr = np.asarray(values).astype(np.int64)
    eps = _charge(accountant, label, epsilon)
    if arr.size == 0:
        return arr
    if norm == "linf" and arr.size > 1:
        d = int(arr.size)
        m = _cube_norm(d, float(sensitivity) / eps)
        return arr + _cube_shell_point(d, m).reshape(arr.shape)
    meas = _int_laplace(float(sensitivity) / eps)
    spent = float(meas.map(int(sensitivity)))
    if spent > eps * (1 + _SLACK):
        raise PrivacyError(f"discrete Laplace would spend {spent} > {eps}")
    return np.asarray(meas(arr.ravel().tolist()), dtype=np.int64).reshape(arr.shape)


#: :func:`laplace_int` for a sensitivity bound on each coordinate (K-norm noise for the cube).
linf_laplace_int = partial(laplace_int, norm="linf")


def linf_noise_variance(d: int, sensitivity: float, epsilon: float) -> float:
    """Variance per coordinate of ``norm="linf"`` noise (continuous approximation).

    ``z = r u`` with ``r ~ Gamma(d + 1, 1 / ε)`` and ``u`` uniform in the cube
    ``[-s, s]^d``: ``E[r²] s² / 3 = (d + 1)(d + 2) s² / (3 ε²)``; for ``d = 1`` this is
    the Laplace variance ``2 (s / ε)²``.
    """
    return (d + 1) * (d + 2) * (float(sensitivity) / float(epsilon)) ** 2 / 3.0


_SYSRAND = random.SystemRandom()  # OS entropy, like OpenDP's own sampler


def _cube_shell(d: int, m: int) -> int:
    """Lattice points ``z`` in ``Z^d`` with ``max_j |z_j| = m``."""
    return 1 if m == 0 else (2 * m + 1) ** d - (2 * m - 1) ** d


def _l1_shell(d: int, t: int) -> int:
    """Lattice points ``z`` in ``Z^d`` with ``Σ_j |z_j| = t``."""
    if t == 0:
        return 1
    return sum(2**k * math.comb(d, k) * math.comb(t - 1, k - 1) for k in range(1, min(d, t) + 1))


def _cube_norm(d: int, scale: float) -> int:
    """``m`` with probability proportional to ``_cube_shell(d, m) * exp(-m / scale)``.

    Proposal: ``t = Σ |L_k|`` of ``d`` OpenDP discrete Laplace draws of that scale, whose
    probability is ``_l1_shell(d, t) * exp(-t / scale)`` up to a constant; the ratio of
    the two shells grows from 1 (``t = 0``) towards ``d!``, so ``t`` is accepted with
    probability ``_cube_shell / (_l1_shell * d!) <= 1``: nearly always for the large
    ``t`` of fixed-point sums.
    """
    proposal = _int_laplace(scale)
    bound = math.factorial(d)
    while True:
        t = int(np.abs(np.asarray(proposal([0] * d), dtype=np.int64)).sum())
        accept = Fraction(_cube_shell(d, t), _l1_shell(d, t) * bound)
        if _SYSRAND.random() < accept:
            return t


def _cube_shell_point(d: int, m: int) -> np.ndarray:
    """A point uniformly on ``{z in Z^d : max_j |z_j| = m}``.

    One coordinate (uniform) is set to ``±m``, the others uniform on ``[-m, m]``; a point
    with ``c`` coordinates at ``±m`` can be reached in ``c`` ways, so it is kept with
    probability ``1 / c``.
    """
    if m == 0:
        return np.zeros(d, dtype=np.int64)
    while True:
        z = [_SYSRAND.randint(-m, m) for _ in range(d)]
        z[_SYSRAND.randrange(d)] = m if _SYSRAND.random() < 0.5 else -m
        c = sum(abs(v) == m for v in z)
        if c == 1 or _SYSRAND.randrange(c) == 0:
            return np.asarray(z, dtype=np.int64)


def quantize(x: np.ndarray, *, resolution: float) -> np.ndarray:
    """Round each execution's real-valued contribution to an integer multiple of ``resolution``.

    Done per execution, before summing, so that a bound ``|x| <= b`` gives the exact
    integer sensitivity ``ceil(b / resolution)`` of the sum.
    """
    return np.rint(np.asarray(x, dtype=float) / resolution).astype(np.int64)


def exponential_select(
    scores: np.ndarray,
    *,
    sensitivity: float,
    accountant: Accountant,
    label: str,
    epsilon: float | None = None,
) -> int:
    """Pick an index privately by its score (permute-and-flip, for the exponential mechanism).

    Parameters
    ----------
    scores
        Utility of each candidate; one execution changes any score by at most
        ``sensitivity`` (L-infinity).
    sensitivity
        Bound on the change of every score when one execution is added or removed.
    accountant, label
        The release's accountant and what this spend is recorded as.
    epsilon
        ε of this selection (``None``: all that remains in ``accountant``).

    Returns
    -------
    int
        The selected index; for every index, its probability changes by at most a
        factor ``exp(epsilon)`` between neighbouring data sets [3]_.
    """
    if not sensitivity > 0 or not math.isfinite(sensitivity):
        raise PrivacyError(f"sensitivity must be a finite number > 0, got {sensitivity!r}")
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        raise PrivacyError("the exponential mechanism needs at least one candidate")
    eps = _charge(accountant, label, epsilon)
    if s.size == 1:
        return 0
    if not np.isfinite(s).all():
        raise PrivacyError("scores must be finite")
    scale = 2.0 * float(sensitivity) / eps
    meas = _noisy_max(scale)
    spent = float(meas.map(float(sensitivity)))
    if spent > eps * (1 + _SLACK):
        raise PrivacyError(f"noisy max would spend {spent} > {eps}")
    return int(meas(s.tolist()))
