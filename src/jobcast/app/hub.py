"""The sharing hub: organizations publish DP share packages, others list and pull them.

The server side stores validated packages (:func:`publish`, :func:`list_shares`,
:func:`get_share`); the client side sends a package directory to a hub
(:func:`publish_dir`) and imports a hub's shares into a local history with their
provenance, each share once (:func:`pull`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from jobcast.errors import InputError, NetworkError, PrivacyError, UnknownJobError
from jobcast.history import HistoryRepository
from jobcast.history.hub_store import HubShare, hub_share, hub_shares, store_hub_share
from jobcast.history.tokens import TokenStore
from jobcast.history.values import check_epsilon
from jobcast.privacy.release_checks import refuse_one_runtime
from jobcast.privacy.share import (
    MANIFEST_FILE,
    ROWS_FILE,
    SHARE_FORMAT,
    SharePackage,
    read_share,
    verify_share,
)

__all__ = [
    "HUB_PATH",
    "MAX_ROWS_CSV",
    "share_digest",
    "validate_package",
    "publish",
    "list_shares",
    "get_share",
    "check_hub_url",
    "list_remote",
    "publish_dir",
    "pull",
]

HUB_PATH = "/api/v1/hub/shares"


def share_digest(manifest: dict[str, Any], rows_csv: str) -> str:
    """SHA-256 identifying a package by its content (manifest keys sorted, rows as sent)."""
    h = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8"))
    h.update(b"\0")
    h.update(rows_csv.encode("utf-8"))
    return h.hexdigest()


def _write(directory: Path, manifest: dict[str, Any], rows_csv: str) -> Path:
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    (directory / ROWS_FILE).write_text(rows_csv, encoding="utf-8")
    return directory


def _hub_rules(manifest: dict[str, Any]) -> None:
    if manifest.get("format") != SHARE_FORMAT:
        raise InputError(
            f"the hub accepts share format {SHARE_FORMAT!r} only, got {manifest.get('format')!r}"
        )
    if manifest.get("differential_privacy") is not True:
        raise PrivacyError(
            "the hub accepts differentially private shares only ('differential_privacy': "
            "true); release one with `jobcast share --epsilon EPS`"
        )
    check_epsilon(manifest.get("epsilon"), what="a hub share's epsilon", error=PrivacyError)
    for c in manifest.get("columns") or []:
        if not isinstance(c, dict) or not isinstance(c.get("domain"), dict) or not c["domain"]:
            name = c.get("name") if isinstance(c, dict) else c
            raise PrivacyError(
                f"column {name!r} has no declared domain; the hub accepts only shares whose "
                "every column domain was declared (or bought with budget) at release"
            )


def validate_package(manifest: dict[str, Any], rows_csv: str) -> SharePackage:
    """Check a package sent to the hub: only DP shares with declared domains are accepted.

    First the hub's own rules (format version, differential privacy on, ε > 0 and
    finite, a declared domain for every column), then everything
    :func:`~jobcast.privacy.share.verify_share` checks (keys, the budget ledger within
    ε, the seals, columns and row count as declared, values inside the domains).

    Raises
    ------
    ImportFormatError
        For a package that does not verify (naming the file and line).
    PrivacyError
        For a package without differential privacy, or a column without a domain.
    InputError
        For a package whose rows hold one runtime (it would pull every prediction of
        whoever pulls it to that value).
    """
    _hub_rules(manifest)
    with tempfile.TemporaryDirectory(prefix="jobcast-hub-") as tmp:
        d = _write(Path(tmp), manifest, rows_csv)
        verify_share(d)
        pkg = read_share(d)
    roles = manifest.get("roles") or {}
    refuse_one_runtime(
        pkg.rows, str(roles.get("runtime") or "gross_runtime"), where="the package"
    )
    return pkg


def _record(share: HubShare) -> dict[str, Any]:
    return {
        "id": share.id,
        "organization": share.organization,
        "job": share.job,
        "epsilon": share.epsilon,
        "rows": share.rows,
        "columns": [c["name"] for c in share.manifest.get("columns", [])],
        "method": share.manifest.get("method"),
        "published_at": share.published_at.isoformat(),
    }


def publish(
    repo: HistoryRepository, organization: str, manifest: dict[str, Any], rows_csv: str
) -> dict[str, Any]:
    """Store a validated package in the hub in the name of ``organization``, once.

    ``organization`` is the publishing token's; the caller never chooses it. A package
    the hub holds already (same ``manifest_sha256``, which seals the rows too) is not
    stored again: its organization gets the existing record with ``already_published``
    true.

    Raises
    ------
    ConflictError
        When another organization published this very package.
    """
    pkg = validate_package(manifest, rows_csv)
    org_id = TokenStore(repo).organization_id(organization)
    share, already = store_hub_share(
        repo,
        org_id=org_id,
        organization=organization,
        job=pkg.job,
        epsilon=float(pkg.epsilon or 0.0),
        rows=int(manifest["rows"]),
        manifest=manifest,
        rows_csv=rows_csv,
    )
    return {**_record(share), "already_published": already}


def list_shares(
    repo: HistoryRepository, *, job: str | None = None, attributes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Shares in the hub, newest first; of ``job`` and holding every one of ``attributes``."""
    out = [_record(share) for share in hub_shares(repo, job=job)]
    wanted = set(attributes)
    return [r for r in out if wanted <= set(r["columns"])]


def get_share(repo: HistoryRepository, share_id: int) -> dict[str, Any]:
    """One share with its manifest and rows (``rows_csv``).

    Raises
    ------
    InputError
        When the hub has no share ``share_id``.
    """
    share = hub_share(repo, share_id)
    if share is None:
        raise InputError(f"the hub has no share {share_id}")
    return {**_record(share), "manifest": share.manifest, "rows_csv": share.rows_csv}


# ---------------------------------------------------------------- client side
#: What every share record in a hub's answers holds (a pull and the CLI read them).
_RECORD_KEYS = ("id", "organization", "job", "epsilon", "rows", "published_at")


def check_hub_url(url: str) -> str:
    """Return the hub's address without a trailing ``/``, or refuse one without a scheme.

    Raises
    ------
    InputError
        For an address that does not start with ``http://`` or ``https://``.
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise InputError(f"--url: give the hub's address with http:// or https://, got {url!r}")
    return url.rstrip("/")


@contextmanager
def _talking_to(url: str, token: str) -> Iterator[Any]:
    """An HTTP client of the hub at ``url``; its failures become jobcast errors.

    Raises
    ------
    InputError
        For a malformed address.
    NetworkError
        When the hub cannot be reached, or the connection breaks off or times out.
    """
    import httpx

    base = check_hub_url(url)
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            yield client
    except httpx.UnsupportedProtocol as e:
        raise InputError(
            f"--url: give the hub's address with http:// or https://, got {url!r}"
        ) from e
    except httpx.InvalidURL as e:
        raise InputError(f"--url: {url!r} is not a valid URL: {e}") from e
    except httpx.HTTPError as e:  # refused, unresolvable, timed out, broken off
        reason = " ".join((str(e) or type(e).__name__).split())
        raise NetworkError(
            f"cannot reach the hub at {url}: {reason}; check the address and that the hub "
            "is running, then try again"
        ) from e


def _not_a_hub(url: str, why: str) -> NetworkError:
    return NetworkError(
        f"{url} did not answer as a jobcast hub does ({why}); check --url (the hub's "
        "address, http(s)://HOST:PORT)"
    )


def _check(response: Any, what: str, url: str) -> dict[str, Any]:
    """The hub's JSON answer, or the jobcast error its status or body calls for.

    Raises
    ------
    InputError
        For a 4xx answer (the request was refused: token, organization, package), with
        the hub's message.
    NetworkError
        For a 5xx answer (the hub failed), or a body that is not a JSON object.
    """
    status = int(response.status_code)
    if status >= 400:
        try:
            body = response.json()
            detail = body.get("detail", body) if isinstance(body, dict) else body
        except ValueError:
            detail = " ".join(response.text.split())[:300]
        if status >= 500:
            raise NetworkError(
                f"{what} failed: the hub at {url} answered HTTP {status} ({detail}): the hub "
                "itself failed, not your request; try again later, and if it persists ask "
                "the hub's operator to look at its log"
            )
        raise InputError(f"{what} failed: HTTP {status}: {detail}")
    try:
        answer = response.json()
    except ValueError as e:  # not JSON, or not text at all
        raise _not_a_hub(url, f"HTTP {status} without a JSON body") from e
    if not isinstance(answer, dict):
        raise _not_a_hub(url, f"a JSON {type(answer).__name__}, not an object")
    return answer


def _shaped(record: Any, url: str) -> dict[str, Any]:
    """``record`` if it is a hub's share record, else the NetworkError saying why not."""
    if not isinstance(record, dict):
        raise _not_a_hub(url, f"a share record is a JSON {type(record).__name__}")
    missing = [k for k in _RECORD_KEYS if k not in record]
    if missing:
        raise _not_a_hub(url, f"a share record lacks {', '.join(missing)}")
    for key, kind in (("id", int), ("rows", int), ("epsilon", int | float)):
        if isinstance(record[key], bool) or not isinstance(record[key], kind):
            raise _not_a_hub(url, f"a share's {key} is {record[key]!r}, not a number")
    try:
        datetime.fromisoformat(str(record["published_at"]))
    except ValueError as e:
        raise _not_a_hub(url, f"published_at {record['published_at']!r} is no ISO time") from e
    return record


def _listed(
    client: Any, url: str, job: str | None, attributes: Sequence[str]
) -> list[dict[str, Any]]:
    params = [("attribute", a) for a in attributes]
    if job is not None:
        params.insert(0, ("job", job))
    what = f"listing shares{'' if job is None else f' of {job}'} at {url}"
    shares = _check(client.get(HUB_PATH, params=params), what, url).get("shares")
    if not isinstance(shares, list):
        raise _not_a_hub(url, "no JSON list of shares")
    return [_shaped(r, url) for r in shares]


def _none_of(client: Any, url: str, job: str) -> None:
    """Refuse a pull of a job the hub holds no share of, naming the jobs it holds shares of.

    A job with shares (none of them holding every wanted attribute) passes.
    """
    held = sorted({r["job"] for r in _listed(client, url, None, ())})
    if job in held:
        return
    which = f"shares of: {', '.join(held)}" if held else "it holds no shares yet"
    raise InputError(
        f"the hub at {url} has no shares of job {job!r} ({which}); give a job it shares as --job"
    )


def pooled_with_own(repo: HistoryRepository, job: str, pulled: list[dict[str, Any]]) -> str | None:
    """A note when a pull added shared executions to a job that holds executions of its own.

    ``pulled`` is :func:`pull`'s answer; None when nothing was added or the job holds
    only shared executions.
    """
    if not sum(int(r.get("imported") or 0) for r in pulled):
        return None
    own = len(repo.executions(job, include_shared=False, only_completed=False))
    if not own:
        return None
    shared = len(repo.executions(job, only_completed=False)) - own
    return (
        f"job {job!r} now holds {shared} shared execution(s) beside its {own} own: "
        "predict, configure and train use both (--no-include-shared leaves the shared ones "
        "out; pull with --into NAME to keep them in a job of their own)"
    )


def list_remote(
    *, url: str, token: str, job: str | None = None, attributes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The shares the hub at ``url`` holds, newest first: of ``job``, with ``attributes``.

    Raises
    ------
    InputError
        For a malformed address or a refused request (4xx: the token, for one).
    NetworkError
        When the hub cannot be reached, fails (5xx) or answers what no hub does.
    """
    with _talking_to(url, token) as c:
        return _listed(c, url, job, attributes)


#: The most characters of ``rows.csv`` a hub takes (about 300,000 rows of five columns).
MAX_ROWS_CSV = 20_000_000


def publish_dir(
    directory: str | Path, *, url: str, token: str, organization: str | None = None
) -> dict[str, Any]:
    """Send the share package in ``directory`` to the hub at ``url``.

    The package is checked locally first (as the hub will). ``organization``, when
    given, must be the token's own: the hub refuses anything else.

    Raises
    ------
    InputError
        For a malformed address, a package that does not verify or is larger than a hub
        takes (:data:`MAX_ROWS_CSV`), or a publication the hub refuses (4xx: token,
        organization, package).
    NetworkError
        When the hub cannot be reached, fails (5xx) or answers what no hub does.
    """
    check_hub_url(url)
    d = Path(directory)
    read_share(d)
    manifest = json.loads((d / MANIFEST_FILE).read_text(encoding="utf-8"))
    rows_csv = (d / ROWS_FILE).read_text(encoding="utf-8")
    if len(rows_csv) > MAX_ROWS_CSV:
        rows = max(rows_csv.count("\n") - 1, 1)
        fits = int(rows * MAX_ROWS_CSV / len(rows_csv))
        raise InputError(
            f"{d}: its rows.csv holds {len(rows_csv):,} characters ({rows:,} rows), more "
            f"than a hub takes ({MAX_ROWS_CSV:,}); nothing was sent. Release a share of "
            f"at most about {fits:,} rows (`jobcast share --rows`) to publish"
        )
    body: dict[str, Any] = {"manifest": manifest, "rows_csv": rows_csv}
    if organization is not None:
        body["organization"] = organization
    with _talking_to(url, token) as c:
        return _shaped(_check(c.post(HUB_PATH, json=body), f"publishing {d} to {url}", url), url)


def pull(
    repo: HistoryRepository,
    *,
    url: str,
    token: str,
    job: str,
    attributes: Sequence[str] = (),
    into_job: str | None = None,
    take_over: bool = False,
) -> list[dict[str, Any]]:
    """Import every share of ``job`` in the hub at ``url`` not yet in ``repo``.

    Each share becomes synthetic executions (source ``share``) whose provenance names
    the hub, the share, the publishing organization, ε, the publication date and the
    package's SHA-256; a share already imported (same content, by ``hub pull`` or
    ``import share``) or released from this history itself is skipped, and so is one
    another import claims right now (``take_over`` takes over a claim an interrupted
    import left behind).

    Returns
    -------
    list of dict
        One record per share: its hub record plus ``imported`` (executions added, 0 when
        skipped), ``skipped`` (None when imported, else ``"imported"``: the history
        holds it already, ``"importing"``: another import claims it, or ``"released"``:
        it released it) and ``reason`` (the message, or None).

    Raises
    ------
    InputError
        For a malformed address, a request the hub refuses (4xx), or a job the hub has
        no shares of (naming the jobs it has shares of).
    NetworkError
        When the hub cannot be reached, fails (5xx) or answers what no hub does; the
        shares imported before stay imported (a new pull skips them).
    ImportFormatError, PrivacyError
        For a share that does not verify or has no differential privacy.
    """
    from jobcast.app.share_import import claimed_import, not_new
    from jobcast.privacy.share_schema import share_table

    out: list[dict[str, Any]] = []
    with _talking_to(url, token) as c:
        listed = _listed(c, url, job, attributes)
        if not listed:
            _none_of(c, url, job)
        for rec in listed:
            what = f"pulling share {rec['id']} from {url}"
            full = _check(c.get(f"{HUB_PATH}/{rec['id']}"), what, url)
            if not isinstance(full.get("manifest"), dict) or not isinstance(
                full.get("rows_csv"), str
            ):
                raise _not_a_hub(url, f"share {rec['id']} comes without manifest and rows")
            # the manifest's own digest, which every import of the share records (a pull
            # and `jobcast import share` alike)
            sealed = str(full["manifest"].get("manifest_sha256") or "")
            why_not = not_new(repo, sealed) if sealed else None  # none: refused below
            if why_not is not None:
                out.append({**rec, "imported": 0, "skipped": why_not[0], "reason": why_not[1]})
                continue
            pkg = validate_package(full["manifest"], full["rows_csv"])
            name = into_job or pkg.job
            try:
                existing = repo.job(name)
            except UnknownJobError:
                existing = None
            digest = share_digest(full["manifest"], full["rows_csv"])
            published = datetime.fromisoformat(rec["published_at"]).date().isoformat()
            origin = (
                f"hub {url.rstrip('/')} share {rec['id']} org {rec['organization']} "
                f"eps {pkg.epsilon:g} published {published} sha256 {digest}"
            )
            # claimed like `import share`: two pulls at once import each share once
            table = share_table(pkg, name, existing, origin)
            done = claimed_import(repo, sealed, table, take_over=take_over)
            if isinstance(done, tuple):
                out.append({**rec, "imported": 0, "skipped": done[0], "reason": done[1]})
                continue
            out.append({**rec, "imported": done.executions, "skipped": None, "reason": None})
    return out
