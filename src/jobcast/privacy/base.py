"""Common fit/sample machinery of the synthesizers: domain checks, budget, bounds, codes.

A synthesizer is a scikit-learn-like estimator: ``__init__`` only stores its
arguments, ``fit(frame)`` spends the privacy budget through *one* accountant per
release and keeps only differentially private results (attributes ending in ``_``),
``sample(n_rows)`` is post-processing and may be called any number of times.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import (
    BudgetExceededError,
    DomainError,
    InputError,
    PrivacyError,
    ReleaseRefusedError,
)
from jobcast.privacy.accountant import Accountant, Spend
from jobcast.privacy.bounds import dp_log_range
from jobcast.privacy.discretize import Discretizer
from jobcast.privacy.domain import Domain, NumericDomain
from jobcast.privacy.noise import check_epsilon

__all__ = ["BaseSynthesizer", "check_rows", "collapsed_error"]

logger = logging.getLogger(__name__)

_PROBE_ROWS = 1000  # synthetic rows drawn to detect a collapsed bound estimate


def check_rows(n_rows: Any) -> int:
    """Return ``n_rows`` as an int if it is a positive integer, else raise InputError."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer):
        raise InputError(f"the number of rows must be a positive integer, got {n_rows!r}")
    if n_rows <= 0:
        raise InputError(f"the number of rows must be a positive integer, got {n_rows!r}")
    return int(n_rows)


#: What a release's noisy row count (a DP output it paid for) may say, and why rows are
#: left out: the one wording of the refusal and of the warning of a release that went ahead.
_FEW_INSIDE = (
    "The release's noisy row count (a DP output it paid for) says that only a handful of "
    "executions may lie inside the declared domain"
)
_LEFT_OUT_EXAMPLES = (
    "(a runtime in minutes below a 10 s bound, a scale-out off the grid, an undeclared category)"
)

#: Public placeholder bounds of the refusal's example (valid JSON the domain check accepts).
_EXAMPLE_BOUNDS = {"type": "numeric", "lower": 1, "upper": 1000000, "log": True}


def collapsed_error(
    names: list[str], spent: float, *, few_rows: bool | None = None
) -> ReleaseRefusedError:
    """The refusal of a release whose bought bounds collapsed, naming the ``--domain`` fix.

    ``spent`` is the ε the mechanism used before deciding (charged to the ledger).
    ``few_rows`` is what the mechanism's noisy row count (a DP output it paid for, so
    reading it is post-processing) says: ``True`` when it leaves open that only a
    handful of rows lie inside the declared domain -- then the named columns are not
    necessarily at fault, since rows outside *any* declared column's domain are left out
    and nobody can tell which column without reading them; ``False`` when the rows are
    there and these columns were not located; ``None`` when no count was taken.
    """
    example = json.dumps({n: _EXAMPLE_BOUNDS for n in names})[1:-1]
    charged = (
        f"; the decision was made on the rows, so the epsilon spent on it ({spent:.3g}) "
        "counts against the budget"
        if spent > 0
        else ""
    )
    fix = (
        '. Declare public bounds (or a grid) for them in the domain file\'s "columns" and '
        "pass --domain FILE (`jobcast domain init --job NAME` writes a skeleton), e.g. "
        f"{example} (with public bounds of your own in place of 1 and 1000000)"
    )
    cause = {
        True: (
            f". {_FEW_INSIDE}, so these columns need not be at fault: rows with a value "
            f"outside ANY declared column's domain {_LEFT_OUT_EXAMPLES} are left out, and "
            "which column leaves them out cannot be told without reading them. Check the "
            "units and the declared bounds, grids and categories of every column first "
            "(runtimes in seconds); if the job simply has few executions, declare bounds "
            "for the columns named"
        ),
        False: "",
        None: (
            ". Which columns are at fault cannot be told without reading the rows: if few "
            "rows lie inside the declared domain (rows outside any declared column's domain "
            "are left out: check units, bounds and grids), every column suffers"
        ),
    }[few_rows]
    return ReleaseRefusedError(
        f"the privately estimated range of column(s) {names} could not be located or "
        "collapsed (too few rows for the budget share that buys it): the share would hold "
        "noise, one value or its range's edge for every row. Nothing was released"
        + charged
        + cause
        + fix
        + ".",
        spent=spent,
    )


def few_rows_warning(method: str) -> str:
    """What a release says when its noisy row count leaves open that few rows fitted.

    Reading the count is post-processing (a DP output the release paid for).
    """
    return (
        f"{method}: {_FEW_INSIDE[0].lower()}{_FEW_INSIDE[1:]}, so the share may be mostly "
        f"noise. Rows with a value outside any declared column's domain {_LEFT_OUT_EXAMPLES} "
        "are left out: check the units and the declared bounds, grids and categories of "
        "every column (runtimes in seconds)"
    )


class BaseSynthesizer(ABC):
    """Base class: subclasses implement :meth:`_fit` and :meth:`_sample`.

    Subclasses define ``__init__`` with keyword arguments ``domain``, ``epsilon``,
    ``no_dp`` and ``random_state`` (plus their own), stored unchanged. Those that let
    :meth:`_resolve_bounds` buy undeclared bounds with a share of ε also take
    ``bounds_share`` (the synthesizers of :mod:`jobcast.privacy.synthesizers`);
    :class:`~jobcast.privacy.perfmodel.PerfModelSynthesizer` does not: it overrides
    :meth:`_resolve_bounds` and locates the range in its own stage.
    """

    #: short name used by :func:`jobcast.privacy.make_synthesizer` and manifests
    method: str = ""
    #: whether the method reads the private rows at all (``random`` does not)
    uses_data: bool = True

    domain: Domain | None
    epsilon: float | None
    no_dp: bool
    bounds_share: float
    random_state: int | np.random.Generator | None

    # -- scikit-learn protocol -------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments (scikit-learn protocol)."""
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params: Any) -> BaseSynthesizer:
        """Set constructor arguments (scikit-learn protocol)."""
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise InputError(f"unknown parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "domain")
        return f"{type(self).__name__}({args})"

    # -- fitting ---------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, *, accountant: Accountant | None = None) -> BaseSynthesizer:
        """Learn a differentially private model of ``frame`` (one row = one execution).

        Parameters
        ----------
        frame
            The private executions; its columns must be exactly the domain's. Rows with a
            value outside its declared domain (off a grid, beyond bounds, an undeclared
            category, missing) are left out without a word (:meth:`Domain.conform`).
        accountant
            The release's accountant; by default a new one of ``epsilon``.

        Returns
        -------
        self

        Raises
        ------
        PrivacyError
            If ``epsilon`` is not > 0 (and ``no_dp`` is not set).
        DomainError
            On unknown or missing columns.
        """
        if not isinstance(frame, pd.DataFrame):
            raise InputError("fit expects a pandas DataFrame of executions")
        if not isinstance(self.domain, Domain):
            raise DomainError("a synthesizer needs a Domain (see jobcast.privacy.domain)")
        if self.no_dp is not True and self.no_dp is not False:
            raise InputError(f"no_dp must be True or False, got {self.no_dp!r}")
        if self.no_dp:
            acc = None
            logger.warning("fitting %s WITHOUT differential privacy (no_dp=True)", self.method)
        else:
            eps = check_epsilon(self.epsilon)
            acc = accountant if accountant is not None else Accountant(eps)
            if not np.isclose(acc.epsilon, eps):
                raise PrivacyError(
                    f"the accountant's total {acc.epsilon} differs from epsilon={eps}"
                )
            if acc.exhausted:
                raise BudgetExceededError(
                    f"no privacy budget left in this release (all of {acc.epsilon:g} is spent)"
                )
        if len(frame) == 0 and self.uses_data:
            raise InputError("cannot synthesize from an empty table")
        self.domain.validate(frame.iloc[:0])  # the columns: public, refused if wrong
        # rows outside the declared domain are left out, silently: a refusal, a warning
        # or a count would depend on the private rows (and bracket their extremes)
        frame = self.domain.conform(frame)
        names = list(self.domain.names)
        if list(frame.columns) != names:  # reorder only when needed (pandas copies)
            frame = frame[names]
        self.rng_ = np.random.default_rng(self.random_state)
        domain = self._resolve_bounds(frame, acc)
        self.domain_ = domain
        self.discretizer_ = Discretizer(domain)
        self._fit(frame, acc)
        if acc is not None and self.uses_data:
            acc.check_exhausted()
        self._check_collapse(acc.spent if acc is not None else 0.0)
        self.ledger_: tuple[Spend, ...] = acc.ledger if acc is not None else ()
        self.epsilon_spent_: float | None = acc.spent if acc is not None else None
        return self

    def _resolve_bounds(self, frame: pd.DataFrame, acc: Accountant | None) -> Domain:
        """Estimate undeclared log-scale bounds with ``bounds_share`` of ε (or none if declared)."""
        assert self.domain is not None
        todo = self.domain.undeclared
        domain = self.domain
        if not todo:
            return domain
        if acc is None:
            each: float | None = None
        else:
            share = float(self.bounds_share)
            if not 0.0 < share < 1.0:
                raise PrivacyError(f"bounds_share must be in (0, 1), got {self.bounds_share!r}")
            each = acc.epsilon * share / len(todo)
        for name in todo:
            x = frame[name].to_numpy(dtype=float)
            if each is None:
                lo, hi = dp_log_range(x, accountant=None)
            else:
                lo, hi = dp_log_range(x, accountant=acc, label=f"bounds:{name}", epsilon=each)
            dom = domain[name]
            assert isinstance(dom, NumericDomain)
            domain = domain.replace(name, dom.with_bounds(lo, hi))
        return domain

    def _check_collapse(self, spent: float) -> None:
        """Refuse a release whose bought bounds collapsed, before anything is written.

        Bounds estimated with a small share of ε on few rows can land in the noise:
        then every synthetic value of the column is one value or sits on one edge of
        its estimated range (scale-out 1 for every row, one runtime for all).  A draw
        of the fitted model (post-processing, no budget, its own generator) shows it;
        the error names the columns and the ``--domain`` file that avoids it.  ``spent``
        is the ε used before the decision (a :class:`~jobcast.errors.ReleaseRefusedError`
        carries it to the ledger).
        """
        assert self.domain is not None
        todo = [n for n in self.domain.undeclared if n in self.domain_.names]
        if not todo:
            return
        probe = self._sample(_PROBE_ROWS, np.random.default_rng(0))
        bad = []
        for name in todo:
            dom = self.domain_[name]
            assert isinstance(dom, NumericDomain) and dom.lower is not None
            x = np.asarray(probe[name], dtype=float)
            at_edge = np.isclose(x, dom.lower, rtol=1e-6) | np.isclose(
                x, float(dom.upper or dom.lower), rtol=1e-6
            )
            if np.unique(x).size == 1 or at_edge.mean() > 0.5:
                bad.append(name)
        if bad:
            raise collapsed_error(bad, spent)

    def _check_fitted(self) -> None:
        if not hasattr(self, "discretizer_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")

    def sample(self, n_rows: int, *, random_state: Any = None) -> pd.DataFrame:
        """Draw ``n_rows`` synthetic executions (post-processing: costs no budget).

        Parameters
        ----------
        n_rows
            Number of rows, > 0; any number, unrelated to the private row count.
        random_state
            Seed for this draw; by default the generator seeded in ``fit`` continues.
        """
        self._check_fitted()
        n = check_rows(n_rows)
        rng = self.rng_ if random_state is None else np.random.default_rng(random_state)
        return self._sample(n, rng)

    def parameters(self) -> dict[str, Any]:
        """JSON-ready constructor parameters for a manifest (domain and seed excluded)."""
        out: dict[str, Any] = {}
        for k, v in self.get_params().items():
            if k in ("domain", "random_state"):
                continue
            out[k] = v.item() if isinstance(v, np.generic) else v
        return out

    @abstractmethod
    def _fit(self, frame: pd.DataFrame, acc: Accountant | None) -> None:
        """Spend the budget on ``frame`` (validated, domain-ordered)."""

    @abstractmethod
    def _sample(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """Draw rows from the fitted model."""
