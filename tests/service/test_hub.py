"""The sharing hub over real HTTP: publish (own organization only, DP only), list, pull once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from jobcast.app.hub import publish_dir, pull
from jobcast.app.release import release_share
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.history.schema import ImportRow
from jobcast.history.tokens import TokenStore
from jobcast.service import create_app
from tests.conftest import shared_file
from tests.service.conftest import running_server

#: public bounds of sort's columns (declared, so no budget buys them)
DOMAIN = {
    "columns": {
        "instance_count": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12], "integer": True},
        "data_size_MB": {"type": "numeric", "lower": 1000, "upper": 100000, "log": True},
        "gross_runtime": {"type": "numeric", "lower": 10, "upper": 14400, "log": True},
    }
}


def _release(tmp_path: Path, name: str, *, no_dp: bool = False) -> Path:
    """Organization A's own history of sort and a share of it."""
    with HistoryRepository(f"sqlite:///{tmp_path / (name + '.db')}") as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
        out = tmp_path / name
        release_share(
            repo,
            "sort",
            epsilon=None if no_dp else 1.0,
            rows=40,
            out=out,
            no_dp=no_dp,
            random_state=0,
            domain=DOMAIN,
        )
    return out


def test_publish_list_and_pull(db_url: str, tmp_path: Path) -> None:
    share = _release(tmp_path, "share-a")
    unprotected = _release(tmp_path, "share-nodp", no_dp=True)
    app = create_app(db_url)
    store: TokenStore = app.state.tokens
    a = store.create("collect", organization="acme").token
    a_read = store.create("read", organization="acme").token
    b = store.create("read", organization="globex").token
    b_write = store.create("collect", organization="globex").token
    team = store.create("collect").token
    with running_server(app) as url:
        # an organization publishes in its own name only
        with pytest.raises(InputError, match="403.*only publish in its own name"):
            publish_dir(share, url=url, token=a, organization="globex")
        with pytest.raises(InputError, match="403"):
            publish_dir(share, url=url, token=a_read)
        with pytest.raises(InputError, match="403.*organization"):
            publish_dir(share, url=url, token=team)
        with pytest.raises(InputError, match="401"):
            publish_dir(share, url=url, token="jc_forged")
        # the hub takes differentially private shares only
        body = {
            "manifest": json.loads((unprotected / "manifest.json").read_text()),
            "rows_csv": (unprotected / "rows.csv").read_text(),
        }
        r = httpx.post(
            f"{url}/api/v1/hub/shares", json=body, headers={"Authorization": f"Bearer {a}"}
        )
        assert r.status_code == 422 and "differentially private" in r.json()["detail"]
        # a tampered package does not verify
        tampered = {
            "manifest": json.loads((share / "manifest.json").read_text()),
            "rows_csv": (share / "rows.csv").read_text().replace("\n", "\n1,1,1\n", 1),
        }
        r = httpx.post(
            f"{url}/api/v1/hub/shares", json=tampered, headers={"Authorization": f"Bearer {a}"}
        )
        assert r.status_code == 422, r.text
        rec = publish_dir(share, url=url, token=a, organization="acme")
        assert rec["organization"] == "acme" and rec["epsilon"] == 1.0 and rec["rows"] == 40
        # the same package again: the existing record, 200 not 201; another org: 409
        body = {
            "manifest": json.loads((share / "manifest.json").read_text()),
            "rows_csv": (share / "rows.csv").read_text(),
        }
        r = httpx.post(
            f"{url}/api/v1/hub/shares", json=body, headers={"Authorization": f"Bearer {a}"}
        )
        assert r.status_code == 200 and r.json()["id"] == rec["id"], r.text
        assert r.json()["already_published"] is True
        r = httpx.post(
            f"{url}/api/v1/hub/shares", json=body, headers={"Authorization": f"Bearer {b_write}"}
        )
        assert r.status_code == 409, r.text
        listed = httpx.get(
            f"{url}/api/v1/hub/shares",
            params={"job": "sort", "attribute": "data_size_MB"},
            headers={"Authorization": f"Bearer {b}"},
        ).json()["shares"]
        assert [s["id"] for s in listed] == [rec["id"]]
        none = httpx.get(
            f"{url}/api/v1/hub/shares",
            params={"job": "sort", "attribute": "no_such_column"},
            headers={"Authorization": f"Bearer {b}"},
        ).json()["shares"]
        assert none == []
        # an organization's token never reads the hub's own raw history
        for path in ("/api/v1/executions", "/api/v1/jobs", "/"):
            r = httpx.get(url + path, headers={"Authorization": f"Bearer {b}"})
            assert r.status_code == 403
        # globex pulls into its own history: provenance kept, not imported twice
        with HistoryRepository(f"sqlite:///{tmp_path / 'globex.db'}") as mine:
            [first] = pull(mine, url=url, token=b, job="sort")
            assert first["imported"] == 40 and first["skipped"] is None
            [again] = pull(mine, url=url, token=b_write, job="sort")
            assert again["skipped"] == "imported" and again["imported"] == 0
            frame = mine.executions("sort")
            assert len(frame) == 40 and set(frame["source"]) == {"share"}
            with mine.transaction() as s:
                [origin] = list(s.scalars(select(ImportRow.origin)))
                [eps] = list(s.scalars(select(ImportRow.epsilon)))
            assert "org acme" in origin and f"share {rec['id']}" in origin and eps == 1.0
            assert rec["published_at"][:10] in origin
        # a share imported by `import share` first is not pulled again, and the history
        # that released a share does not pull it back as a collaborator's rows
        from jobcast.app.share import import_share

        with HistoryRepository(f"sqlite:///{tmp_path / 'initech.db'}") as theirs:
            import_share(theirs, share, merge_into=None)
            [seen] = pull(theirs, url=url, token=b, job="sort")
            assert seen["skipped"] == "imported" and "already imported into job" in seen["reason"]
            assert sum(j.total_executions for j in theirs.list_jobs()) == 40
        with HistoryRepository(f"sqlite:///{tmp_path / 'share-a.db'}") as own:
            before = len(own.executions("sort"))
            [back] = pull(own, url=url, token=a_read, job="sort")
            assert back["skipped"] == "released"
            assert "released from this history's job 'sort'" in back["reason"]
            assert len(own.executions("sort")) == before
