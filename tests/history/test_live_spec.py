"""The spec of a job first seen live: one builder for the collector, the follower and watch."""

from __future__ import annotations

import numpy as np

from jobcast.history import AttributeKind
from jobcast.history.importers.kinds import live_context, live_job_spec


def test_live_job_spec_numbers_texts_and_booleans() -> None:
    """Was: True counted as a number (isinstance(True, int)), in three copies of the rule."""
    context = {"input_size": 5.0, "cores": np.int64(4), "mode": "fast", "cache": True}
    spec = live_job_spec("j", context)
    assert spec.name == "j"
    assert (spec.runtime_column, spec.scale_out_column, spec.machine_type_column) == (None,) * 3
    assert [(a.name, a.numeric) for a in spec.attributes] == [
        ("input_size", True),
        ("cores", True),
        ("mode", False),
        ("cache", False),
    ]
    assert spec.attribute("input_size").kind is AttributeKind.DATASET
    assert spec.attribute("cores").kind is AttributeKind.RESOURCE
    assert live_job_spec("j", {}).attributes == ()


def test_live_context_stores_booleans_as_their_json_text() -> None:
    assert live_context({"cache": True, "off": False, "n": 1, "s": "x", "none": None}) == {
        "cache": "true",
        "off": "false",
        "n": 1,
        "s": "x",
        "none": None,
    }
