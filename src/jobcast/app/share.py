"""Private sharing as use cases: release a share, import one, the budget, a domain skeleton.

Each function returns JSON-ready dicts (the ``--json`` output of the command line and
the service's answers); the transactions are :mod:`jobcast.app.release` and
:mod:`jobcast.app.share_import`, the rules live in :mod:`jobcast.privacy.release`,
:mod:`jobcast.privacy.share` and :mod:`jobcast.history.ledger`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobcast.app.json_fields import field_dict
from jobcast.history import HistoryRepository
from jobcast.history.ledger import BudgetState

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from jobcast.privacy.release import ReleaseOptions

__all__ = ["release", "budget", "import_share", "domain_init"]


#: A ledger entry's attributes, in the order its JSON lists them.
_RELEASE_FIELDS = (
    "job",
    "created_at",
    "epsilon",
    "no_dp",
    "method",
    "rows",
    "destination",
    "released_by",
    "digest",
    "refused",
)
#: A budget change's attributes; the epsilons are published as ``from`` and ``to``.
_CHANGE_FIELDS = ("changed_at", "changed_by", "from_epsilon", "to_epsilon")
_CHANGE_KEYS = {"from_epsilon": "from", "to_epsilon": "to"}


def release(repo: HistoryRepository, job: str, **options: Unpack[ReleaseOptions]) -> dict[str, Any]:
    """Release a share of ``job`` (see :func:`jobcast.app.release.release_share`).

    ``options`` are the keyword arguments of ``release_share``.

    Returns
    -------
    dict
        ``job``, ``out``, ``rows``, ``method``, ``epsilon``, ``digest``,
        ``budget_spent``, ``budget``, ``remaining``, ``warnings`` (what the checks of
        the declaration and of the released rows found; empty when nothing).
    """
    from jobcast.app.release import release_share

    done = release_share(repo, job, **options)
    return {
        "job": job,
        "out": str(done.path),
        "rows": done.rows,
        "method": done.method,
        "epsilon": done.epsilon,
        "digest": done.digest,
        "budget_spent": done.spent,
        "budget": done.budget,
        # the ledger's rule (never negative), on the budget and spend the release saw
        "remaining": BudgetState(job, done.budget, done.spent, ()).remaining,
        "warnings": list(done.warnings),
    }


def budget(
    repo: HistoryRepository,
    job: str,
    *,
    set_epsilon: float | None = None,
    confirm_raise: bool = False,
) -> dict[str, Any]:
    """A job's budget, spend, releases and budget changes; optionally set the budget first.

    Returns
    -------
    dict
        ``job``, ``budget``, ``spent``, ``remaining``, ``releases`` (each with ``job``,
        ``created_at``, ``epsilon``, ``no_dp``, ``method``, ``rows``, ``destination``,
        ``released_by``, ``digest``, ``refused``: a mechanism's refusal, charged with
        0 rows) and ``changes`` (``changed_at``, ``changed_by``,
        ``from``, ``to``).
    """
    if set_epsilon is not None:
        repo.set_privacy_budget(job, set_epsilon, confirm_raise=confirm_raise)
    state = repo.budget_state(job)
    return {
        "job": job,
        "budget": state.budget,
        "spent": state.spent,
        "remaining": state.remaining,
        "releases": [field_dict(r, _RELEASE_FIELDS) for r in state.releases],
        "changes": [
            field_dict(c, _CHANGE_FIELDS, keys=_CHANGE_KEYS) for c in repo.budget_changes(job)
        ],
    }


def import_share(
    repo: HistoryRepository,
    directory: str | os.PathLike[str],
    *,
    job: str | None = None,
    merge_into: str | None = None,
    take_over: bool = False,
) -> dict[str, Any]:
    """Verify a share and import its rows (see :func:`jobcast.app.share_import.import_share`).

    ``take_over`` takes over the claim an interrupted import of the share left behind.

    Returns
    -------
    dict
        ``job``, ``created_job``, ``executions``, ``epsilon``, ``differential_privacy``,
        ``origin_job``, ``digest``.
    """
    from jobcast.app.share_import import import_share as _import

    pkg, summary = _import(
        repo, Path(directory), job=job, merge_into=merge_into, take_over=take_over
    )
    return {
        "job": summary.job,
        "created_job": summary.created_job,
        "executions": summary.executions,
        "epsilon": pkg.epsilon,
        "differential_privacy": pkg.differential_privacy,
        "origin_job": pkg.job,
        "digest": pkg.manifest["manifest_sha256"],
    }


def domain_init(repo: HistoryRepository, job: str) -> tuple[dict[str, Any], list[str]]:
    """A domain-file skeleton of ``job`` from its schema alone, and what to edit in it."""
    from jobcast.privacy.domain_init import domain_skeleton, skeleton_notes

    skeleton = domain_skeleton(repo.job(job))
    return skeleton, skeleton_notes(skeleton)
