"""jobcast: runtime prediction, progress estimation and private sharing of job metrics."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # read on first use: importlib.metadata costs more than a command's own start-up
    if name != "__version__":
        raise AttributeError(f"module 'jobcast' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("jobcast")
    except PackageNotFoundError:  # running from a source tree without installation
        value = "0.0.0"
    globals()["__version__"] = value
    return value
