"""JSON-ready dicts of value objects: named attributes under stable keys, in a stable order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["field_dict"]


def field_dict(
    obj: object, names: Iterable[str], *, keys: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``{key: getattr(obj, name)}`` for every name, in the order of ``names``.

    Parameters
    ----------
    obj
        The object whose attributes are read (values are taken as they are).
    names
        The attributes, in the order the dict lists them.
    keys
        The key of an attribute published under another name (``{"from_epsilon": "from"}``);
        every other attribute is keyed by its name.

    Raises
    ------
    AttributeError
        When ``obj`` has no attribute of one of the names (a programming error).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> field_dict(SimpleNamespace(a=1, b=2), ("b", "a"), keys={"a": "first"})
    {'b': 2, 'first': 1}
    """
    renamed = keys or {}
    return {renamed.get(name, name): getattr(obj, name) for name in names}
