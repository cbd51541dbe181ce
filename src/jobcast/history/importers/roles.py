"""Which columns of an execution file play which role: runtime, scale-out, machine type."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from jobcast.errors import ImportFormatError
from jobcast.history.records import AttributeKind

__all__ = ["check_roles", "check_kinds"]


def check_roles(
    path: str, *, runtime: str, scale_out: str | None, machine_type: str | None
) -> None:
    """Refuse one column named for two roles (``--runtime``, ``--scale-out``, ``--machine-type``).

    Raises
    ------
    ImportFormatError
        Naming the column and both options.
    """
    roles = [("--runtime", runtime), ("--scale-out", scale_out), ("--machine-type", machine_type)]
    for i, (opt_a, col_a) in enumerate(roles):
        for opt_b, col_b in roles[i + 1 :]:
            if col_a is not None and col_a == col_b:
                raise ImportFormatError(
                    path,
                    f"column {col_a!r} is given as {opt_a} and as {opt_b}; "
                    "name a different column for each",
                    line=1,
                    column=col_a,
                )


def check_kinds(
    path: str,
    *,
    header: Collection[str],
    special: Collection[str],
    kinds: Mapping[str, AttributeKind],
) -> None:
    """Refuse ``--kind`` overrides of columns that are not context attributes.

    Raises
    ------
    ImportFormatError
        Listing the columns ``--kind`` named that are missing or play a role.
    """
    unknown = sorted(set(kinds) - (set(header) - set(special)))
    if unknown:
        raise ImportFormatError(
            path,
            f"--kind names columns that are not context attributes: {unknown}",
            line=1,
        )
