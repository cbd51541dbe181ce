"""Performance-model-aware DP synthesizer: exact configurations plus a DP runtime model.

Runtime metrics are a *relation*: the runtime of a Spark job is a smooth function of its
configuration (scale-out, sizes, parameters).  PrivBayes spends its budget on many
noisy tables and loses that relation at small ε; this method spends it where it matters.
:meth:`PerfModelSynthesizer._fit` calls the stages in order, each a module of this
package returning a small frozen result:

1. :mod:`~.budget` -- the number of executions (``count_share``; one noisy count,
   sensitivity 1, and a second of up to 0.2 when the first says its relative noise
   would exceed 0.15), from which every later share is sized (adaptive sequential
   composition: the shares still sum to ε).
2. :mod:`~.locate` -- each context column with bounds but no grid (a coarse public
   range, or the public search range of a column declared without bounds) is narrowed
   to the DP window holding its rows, 0.10 to 0.30 of the budget split over those
   columns (``window:COLUMN`` in the ledger; skipped when ``ε n < 3``; declared
   coarse ranges get only what the runtime window and 0.2 for the model leave).  A column whose
   window reaches the bottom of the search range holds zeros: it becomes linear from 0
   (decided on the DP output, not on the values).
3. :mod:`~.design` -- the configurations (``context_share``): the noisy histogram of the
   grid when it would not be more than 90 % prior, else the located columns' noisy
   marginals (rows a window clips are put at its edge bins, where the rows behind the
   model's sums are encoded) and their product (uniform elsewhere).  Any number of
   columns: a grid of more than ``MAX_CELLS`` configurations is represented by
   configurations drawn from the product (``design_`` says which: ``"histogram"``,
   ``"marginals"`` or ``"sampled marginals"``).
4. :mod:`~.window` -- the runtime window (``window_share``, up to 0.40 when the noisy
   count says the rows are few): the clipping interval ``[L, U]`` of ``log(runtime)``
   and its noisy centre ``c``, never the raw extremes (a search range whose run did
   not stand out is refused, naming ``--domain``).
5. :mod:`~.coefficients` -- the runtime model (the rest, 0.45 to 0.90): noisy
   sufficient statistics ``Σ φ(x) (y - c)`` of ``log t = c + φ(x)·β`` with ``φ`` the
   normalised (log) context attributes in ``[-1, 1]`` plus ``1/scale-out`` (Ernest's
   serial term), K-norm noise of their L-infinity sensitivity ``R = max(U - c, c - L)``;
   slopes whose noise would swamp the public prior are not released.  ``β`` is the
   Gaussian posterior mean given the noisy sums and the noisy design.  The scale-out
   slopes' prior mean is the public curve ``runtime ∝ m**-0.75`` (fitted on the
   released scale-out features, post-processing).  A numeric feature spans the
   central 96 % of its column's noisy marginal.
6. :mod:`~.corrections` (``correction_share``, only the stages whose noise would not
   swamp them, judged from the noisy count; the rest goes to the model): residual
   levels per value of each context column, then per configuration of a grid.

Robustness for few rows: the row count in every ratio is the posterior mean of
``n >= 1`` given the noisy counts, windows are sized from a low guess of it, the
level's prior is the window's noisy centre, and the level is clipped to the window.
A share ``coverage`` of the synthetic rows is uniform over the declared grid (a model
trained on the share also sees configurations the owner never ran); public beliefs
such as "runtime grows linearly with the input size" can be declared as
``elasticity={column: 1.0}``: the prior mean of that slope.  Real-valued sums are
released in fixed point (:func:`jobcast.privacy.noise.quantize`).  The synthetic runtime
of a configuration is ``exp(c + φβ + corrections + jitter * z)``.
"""

from __future__ import annotations

from jobcast.privacy.perfmodel.synthesizer import PerfModelSynthesizer

__all__ = ["PerfModelSynthesizer"]
