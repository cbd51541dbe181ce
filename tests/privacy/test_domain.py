import json

import pytest

from jobcast.errors import DomainError
from jobcast.privacy import CategoricalDomain, Domain, NumericDomain, load_domain, save_domain

from .conftest import make_domain, make_frame


def test_json_round_trip(tmp_path):
    dom = make_domain()
    p = tmp_path / "domain.json"
    save_domain(dom, p)
    assert load_domain(p) == dom


def test_estimated_bounds_only_for_log_columns():
    assert NumericDomain(log=True).kind == "estimated"
    with pytest.raises(DomainError, match="log"):
        NumericDomain()
    with pytest.raises(DomainError, match="both"):
        NumericDomain(lower=1.0)
    with pytest.raises(DomainError, match="hold no integer"):
        NumericDomain(lower=0.2, upper=0.8, integer=True)
    assert NumericDomain(lower=0.2, upper=1.0, integer=True).upper == 1.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ('{"columns": {}}', "non-empty"),
        ('{"columns": {"a": {"type": "numeric", "lower": 5, "upper": 1}}}', "smaller"),
        (
            '{"columns": {"a": {"type": "numeric", "lower": 1, "upper": 5, "colour": 1}}}',
            "unknown keys",
        ),
        ('{"columns": {"a": {"type": "text"}}}', "'type'"),
        ('{"columns": {"a": {"type": "categorical"}}}', "values"),
        ('{"columns": {"a": {"type": "categorical", "values": ["x", "x"]}}}', "distinct"),
        ('{"columns": {"a": {"type": "numeric", "lower": 0, "upper": 5, "log": true}}}', "> 0"),
        ('{"format": "other/9", "columns": {"a": {"type": "numeric", "values": [1]}}}', "format"),
        ('{"columns": {"a": {"type": "numeric", "lower": 1, "upper": 5, "bins": 1000000000}}}',
         "'bins' must lie within 1 .. 10000"),
        ('{"columns": {"a": {"type": "numeric", "lower": "1000", "upper": 5000}}}',
         "'lower' must be a number, got '1000'"),
        ('{"columns": {"a": {"type": "numeric", "lower": true, "upper": 5000}}}',
         "'lower' must be a number, got True"),
        ('{"columns": {"a": {"type": "numeric", "lower": 1, "upper": 1e300}}}',
         "'upper' must lie within"),
        ('{"columns": {"a": {"type": "numeric", "values": [2.5, 4], "integer": true}}}',
         "an integer grid holds 2.5"),
        ('{"columns": {"a": {"type": "numeric", "lower": 1, "upper": 5, "log": "false"}}}',
         "'log' must be true or false"),
    ],
)
def test_malformed_domain_files(tmp_path, text, match):
    p = tmp_path / "d.json"
    p.write_text(text)
    with pytest.raises(DomainError, match=match) as ei:
        load_domain(p)
    assert str(p) in str(ei.value)


def test_missing_file(tmp_path):
    with pytest.raises(DomainError, match="cannot read"):
        load_domain(tmp_path / "nope.json")


def test_validate_unknown_and_missing_columns():
    dom = make_domain()
    f = make_frame()
    with pytest.raises(DomainError, match="unknown columns.*colour"):
        dom.validate(f.assign(colour=1))
    with pytest.raises(DomainError, match="missing"):
        dom.validate(f.drop(columns=["machine_type"]))


@pytest.mark.parametrize(
    "column, value, match",
    [
        ("instance_count", 3, "off the declared grid"),
        ("machine_type", "huge", "not among the declared categories"),
        ("gross_runtime", 50000.0, "outside the declared bounds"),
        ("gross_runtime", float("nan"), "outside the declared bounds"),
        ("gross_runtime", "15 GB", "outside the declared bounds"),
    ],
)
def test_values_outside_domain(column, value, match):
    f = make_frame()
    f[column] = f[column].astype(object)
    f.loc[5, column] = value
    with pytest.raises(DomainError, match=match) as ei:
        make_domain().validate(f)
    # the message names the column, never the offending value nor how many there are
    assert column in str(ei.value) and str(value) not in str(ei.value)
    assert not any(ch.isdigit() for ch in str(ei.value).split("]")[-1])
    # a release leaves the row out instead: every other row is kept as it is
    kept = make_domain().conform(f)
    assert list(kept.index) == [i for i in f.index if i != 5]
    make_domain().validate(kept)


def test_domain_is_frozen_and_replace_returns_new():
    dom = make_domain()
    new = dom.replace("machine_type", CategoricalDomain(("a",)))
    assert dom["machine_type"] != new["machine_type"]
    with pytest.raises(DomainError, match="unknown column"):
        dom["nope"]
    with pytest.raises(AttributeError):
        dom.columns = ()  # type: ignore[misc]


def test_from_dict_accepts_file_format():
    data = json.loads(json.dumps(make_domain().to_dict()))
    assert Domain.from_dict(data) == make_domain()
    assert isinstance(Domain.from_dict(data)["instance_count"], NumericDomain)
