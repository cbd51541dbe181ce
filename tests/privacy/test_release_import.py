"""Importing a released share: verified, into its own job unless merged, never twice."""

from __future__ import annotations

import json

import pytest

from jobcast.app.share_import import import_share
from jobcast.errors import ImportFormatError, InputError, UnknownJobError
from jobcast.privacy.share_schema import share_job_name

from .test_release import _import, _release


def test_import_into_a_job_of_its_own_and_never_twice(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "s")
    pkg, summary = import_share(repo, done.path)
    assert summary.job == share_job_name(pkg) == f"sort-share-{done.digest[:8]}"
    assert summary.created_job and summary.executions == 50
    assert len(repo.executions("sort")) == 80  # the origin job is untouched
    with pytest.raises(InputError, match="already imported"):
        import_share(repo, done.path)
    with pytest.raises(InputError, match="already imported"):
        import_share(repo, done.path, merge_into="sort")
    assert len(repo.executions(summary.job)) == 50
    # deleting the imported job allows importing it again
    repo.delete_job(summary.job)
    _, again = import_share(repo, done.path, job="theirs")
    assert again.job == "theirs" and again.executions == 50


def test_merge_into_an_existing_job(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "s")
    _, summary = import_share(repo, done.path, merge_into="sort")
    assert summary.job == "sort" and not summary.created_job
    ex = repo.executions("sort")
    assert (ex["source"] == "share").sum() == 50
    assert len(repo.executions("sort", include_shared=False)) == 80
    # the shared rows are not the job's own: no fingerprints, no change of its spend
    assert repo.spent_epsilon("sort") == pytest.approx(1.0)


def test_import_options_are_checked(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "s")
    with pytest.raises(InputError, match="not both"):
        import_share(repo, done.path, job="a", merge_into="sort")
    with pytest.raises(InputError, match="already exists"):
        import_share(repo, done.path, job="sort")
    with pytest.raises(UnknownJobError):
        import_share(repo, done.path, merge_into="nope")
    # nothing was claimed by the refusals
    _, summary = import_share(repo, done.path)
    assert summary.executions == 50


def test_a_tampered_share_is_not_imported(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "s")
    m = json.loads((done.path / "manifest.json").read_text())
    (done.path / "manifest.json").write_text(json.dumps({**m, "job": "payroll"}))
    with pytest.raises(ImportFormatError, match="changed after the release"):
        import_share(repo, done.path)
    assert [j.name for j in repo.list_jobs()] == ["sort"]
