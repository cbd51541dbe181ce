"""Differentially private sharing of runtime metrics: domains, budget, synthesizers, shares."""

from jobcast.privacy.accountant import Accountant, Spend
from jobcast.privacy.base import BaseSynthesizer
from jobcast.privacy.bounds import dp_log_range
from jobcast.privacy.consistency import MachineFacts
from jobcast.privacy.discretize import Discretizer
from jobcast.privacy.domain import (
    CategoricalDomain,
    ColumnDomain,
    Domain,
    NumericDomain,
    load_domain,
    save_domain,
)
from jobcast.privacy.perfmodel import PerfModelSynthesizer
from jobcast.privacy.registry import DEFAULT_METHOD, METHODS, make_synthesizer
from jobcast.privacy.release import ShareRelease
from jobcast.privacy.share import (
    MANIFEST_FILE,
    ROWS_FILE,
    SHARE_FORMAT,
    SharePackage,
    create_share,
    read_share,
    verify_share,
    write_share,
)
from jobcast.privacy.synthesizers import (
    IndependentSynthesizer,
    PrivBayesSynthesizer,
    RandomSynthesizer,
)

__all__ = [
    "Accountant",
    "Spend",
    "BaseSynthesizer",
    "dp_log_range",
    "MachineFacts",
    "Discretizer",
    "CategoricalDomain",
    "ColumnDomain",
    "Domain",
    "NumericDomain",
    "load_domain",
    "save_domain",
    "PerfModelSynthesizer",
    "DEFAULT_METHOD",
    "METHODS",
    "make_synthesizer",
    "ShareRelease",
    "MANIFEST_FILE",
    "ROWS_FILE",
    "SHARE_FORMAT",
    "SharePackage",
    "create_share",
    "read_share",
    "verify_share",
    "write_share",
    "IndependentSynthesizer",
    "PrivBayesSynthesizer",
    "RandomSynthesizer",
]
