"""SparkRestError lives in jobcast.errors as a NetworkError, importable where it was."""

from __future__ import annotations

import jobcast.collect
import jobcast.collect.rest
from jobcast import errors


def test_spark_rest_error_is_one_network_error_class_in_errors() -> None:
    assert errors.SparkRestError is jobcast.collect.SparkRestError
    assert errors.SparkRestError is jobcast.collect.rest.SparkRestError
    assert issubclass(errors.SparkRestError, errors.NetworkError)
    assert not issubclass(errors.SparkRestError, errors.InputError)  # the CLI exits 1
    assert "SparkRestError" in errors.__all__ and "SparkRestError" in jobcast.collect.__all__
