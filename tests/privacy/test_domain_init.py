"""The notes of ``jobcast domain init``: what to declare, and that it is published."""

from __future__ import annotations

from jobcast.history import Attribute, AttributeKind, JobSpec
from jobcast.privacy.domain_init import domain_skeleton, skeleton_notes


def _notes() -> list[str]:
    spec = JobSpec("sort", (Attribute("data_size_MB", AttributeKind.DATASET, True),))
    return skeleton_notes(domain_skeleton(spec))


def test_the_notes_ask_for_bounds_from_public_knowledge_never_from_the_values():
    # declared bounds are published as is in every share manifest (DP does not cover
    # them), so a range derived from the values ("a decade around them") leaks them
    size = next(n for n in _notes() if n.startswith("data_size_MB:"))
    assert "what you would tell anyone" in size
    assert "never computed from your values, not even rounded" in size
    assert "published as is in every share" in size
    assert "around your values" not in size and "decade" not in size
    assert "a refused release spends its epsilon" in size  # why a small job needs them


def test_the_notes_say_grids_are_published_and_scale_outs_are_a_placeholder():
    said = " ".join(_notes())
    assert "instance_count: 1-1024 is a placeholder" in said
    assert "a 'values' grid is published as is" in said
