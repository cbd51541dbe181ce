"""The privacy experiments under declared-domain protocols, and the secrets experiment."""

from __future__ import annotations

import pytest

from jobcast.errors import InputError
from jobcast.evaluation.privacy import evaluate_privacy

pytest.importorskip("anonymeter")


def test_secrets_compares_grid_and_bounds_shares():
    ev = evaluate_privacy(
        ("sort",), methods=("perfmodel",), epsilons=(1.0,), include_no_dp=False,
        experiments=("secrets",), risk_attacks=5, repeats=1,
    )
    assert not ev.errors
    got = {(r.domains, r.column) for r in ev.secrets}
    assert got == {("grid", "data_size_MB"), ("bounds", "data_size_MB")}
    for r in ev.secrets:
        assert 0.0 <= r.inference <= 1.0 and r.median_error >= 0.0
    assert "secrets" in ev.to_dict()


def test_unknown_domains_protocol_is_refused():
    with pytest.raises(InputError, match="domains"):
        evaluate_privacy(("sort",), experiments=("time",), domains="exact")
