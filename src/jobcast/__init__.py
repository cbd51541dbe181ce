"""jobcast: runtime prediction, progress estimation and private sharing of job metrics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jobcast")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
