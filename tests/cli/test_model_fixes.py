"""predict, configure and evaluate models on the paths a tester took: clean errors, warnings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobcast.app.imports import import_c3o
from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.conftest import shared_file

KMEANS = ["--job", "kmeans", "--set", "observations=200000000", "--set", "features=10"]
PAGERANK = [
    "--job",
    "pagerank",
    "--set",
    "links=20000000",
    "--set",
    "convergence_criterion=0.001",
    "--machine-type",
    "r4.xlarge",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """kmeans and sort of the privacy paper, pagerank of C3O on two machine types."""
    folder = tmp_path_factory.mktemp("history")
    lines = shared_file("c3o", "pagerank.tsv").read_text().splitlines()
    pagerank = folder / "pagerank.tsv"
    pagerank.write_text(
        "\n".join(
            [lines[0]]
            + [line for line in lines[1:] if line.split("\t")[1] in ("m4.2xlarge", "r4.xlarge")]
        )
        + "\n"
    )
    url = f"sqlite:///{folder / 'h.db'}"
    with HistoryRepository(url) as repo:
        for job in ("kmeans", "sort"):
            import_c3o(repo, [shared_file("c3o-paper", f"{job}.csv")], job=job)
        import_c3o(repo, [pagerank], job="pagerank")
    yield url


def test_a_huge_value_is_a_clean_error(jobcast: Jobcast, db: str) -> None:
    # gbm ended in scikit-learn's "too large for dtype('float32')" traceback
    code, out, err = jobcast(
        "predict", *PAGERANK, "--set", "pages=1e39", "--set", "data_size_MB=284",
        "--scale-out", "4", "--model", "gbm", "--db", db,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith(
        "error: --set pages=1e+39: 1e+39 is outside the accepted range -1e+15 .. 1e+15; "
        "give a number (the history holds 2e+06)"
    )
    # ernest printed "predictions": [null] with exit status 0
    code, out, err = jobcast(
        "predict", "--job", "kmeans", "--set", "observations=1e308", "--set", "features=10",
        "--set", "k=5", "--scale-out", "4",
        "--model", "ernest", "--json", "--db", db,
    )  # fmt: skip
    assert code == 2 and out == "" and "observations=1e+308" in err and "Warning" not in err


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("nan", "'nan' is not a finite number"),
        ("", "'' is not a number"),
        ("abc", "'abc' is not a number"),
        ("1e39", "'1e39' is outside the accepted range"),
    ],
)
def test_a_bad_input_cell_names_file_line_and_column(
    jobcast: Jobcast, db: str, tmp_path: Path, cell: str, says: str
) -> None:
    query = tmp_path / "q.csv"
    query.write_text(f"instance_count,observations,features,k\n4,1e8,10,5\n4,{cell},10,5\n")
    code, out, err = jobcast(
        "predict", "--job", "kmeans", "--input", str(query), "--model", "ernest", "--db", db
    )
    assert code == 2 and out == ""
    assert err.startswith(f"error: {query}, line 3, column 'observations': {says}")


def test_configure_warns_and_caps_scale_outs(jobcast: Jobcast, db: str) -> None:
    configure = ["configure", *KMEANS, "--set", "k=5", "--deadline", "100", "--db", db]
    code, out, _ = jobcast(*configure, "--scale-out", "2,50,100", "--model", "ernest", "--json")
    assert code == 3
    (warning,) = json.loads(out)["warnings"]
    assert warning.startswith("scale_out = 50, 100 lies outside the history's range 2 to 12")
    code, out, err = jobcast(*configure, "--scale-out", "100000000000000000000")
    assert code == 2 and out == ""
    assert "at most 100,000 (as imports take them)" in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--input", "q.csv", "--set", "k=99"], "(--input FILE.csv) give every attribute"),
        (["--input", "q.csv", "--machine-type", "m"], "leave out --set and --machine-type"),
        (["--scale-out", "2,,4"], "--scale-out '2,,4' has an empty entry; write integers like"),
        (["--scale-out", "4-"], "--scale-out '4-': the range '4-' has no end"),
        (["--scale-out", "12-2"], "the range '12-2' is reversed; write it as 2-12"),
        (
            ["--scale-out", "4", "--set", "k=5", "--set", "k=6"],
            "--set k is given twice ('5' and '6'); give each key once",
        ),
    ],
)
def test_options_that_cannot_go_together_are_refused(
    jobcast: Jobcast, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], says: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.csv").write_text("instance_count,observations,features,k\n4,1e8,10,5\n")
    code, out, err = jobcast("predict", "--job", "kmeans", *args, "--db", db)
    assert code == 2 and out == ""
    assert says in err


def test_missing_attributes_and_machine_types_say_what_to_give(
    jobcast: Jobcast, db: str, tmp_path: Path
) -> None:
    code, _, err = jobcast(
        "predict", *PAGERANK, "--set", "pages=1e6", "--scale-out", "4", "--db", db
    )
    assert code == 2
    assert err == (
        "error: --set: the context attribute 'data_size_MB' is missing; give every one of "
        "data_size_MB, pages, links, convergence_criterion (slots and memory follow from the "
        "machine type and the scale-out)\n"
    )
    query = tmp_path / "q.csv"
    query.write_text("instance_count,observations,features,k,machine_type\n4,1e8,10,5,zz\n")
    code, _, err = jobcast("predict", "--job", "kmeans", "--input", str(query), "--db", db)
    assert code == 2 and "--machine-type" not in err
    assert err.startswith(
        f"error: {query}, column 'machine_type': job 'kmeans' records no machine types"
    )


def test_the_bound_is_never_below_the_prediction(jobcast: Jobcast, db: str) -> None:
    # at 0.5 the tester saw "predicted 307 s (at most 305 s)"
    code, out, _ = jobcast(
        "configure", *KMEANS, "--set", "k=5", "--deadline", "400", "--confidence", "0.5",
        "--db", db, "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert all(c["bound_s"] >= c["predicted_s"] for c in result["candidates"])
    best = result["best"]
    assert best["bound_s"] == best["predicted_s"]


def test_evaluate_models_names_its_plots_and_refuses_a_job_twice(
    jobcast: Jobcast, db: str, tmp_path: Path
) -> None:
    evaluate = ["evaluate", "models", "--repeats", "1", "--train-sizes", "3", "--models", "ernest"]
    plot = tmp_path / "y.png"
    code, out, _ = jobcast(*evaluate, "--job", "sort", "--job", "kmeans", "--plot", str(plot),
                           "--db", db)  # fmt: skip
    sort, kmeans = tmp_path / "y-sort.png", tmp_path / "y-kmeans.png"
    assert code == 0 and sort.exists() and kmeans.exists() and not plot.exists()
    assert out.splitlines()[-1] == f"Plots written to {sort}, {kmeans}"
    code, out, err = jobcast(*evaluate, "--job", "sort", "--job", "sort", "--db", db)
    assert code == 2 and out == ""
    assert err.startswith("error: job 'sort' is named more than once (--job sort)")


def _help(jobcast: Jobcast, *command: str) -> str:
    code, out, _ = jobcast(*command, "--help")
    assert code == 0
    return " ".join(out.split())


def test_help_says_what_plot_and_prices_do(jobcast: Jobcast) -> None:
    # --plot said "one per job: FILE-JOB.png", but one job writes FILE itself
    plot = _help(jobcast, "evaluate", "models")
    assert "FILE itself for one job; for several, one per job named FILE-JOB" in plot
    configure = _help(jobcast, "configure")
    assert "costed at its bound, not at its prediction" in configure
    assert '"currency": "EUR" (else costs are in "price units")' in configure
    assert "with a warning naming them" in configure and "--prices is then unused" in configure
    assert "r4.xlarge,m4.2xlarge" in configure and "r4.xlarge,m4.2xlarge" in _help(
        jobcast, "predict"
    )


def test_machine_types_take_comma_lists(jobcast: Jobcast, db: str, tmp_path: Path) -> None:
    """Was: unknown machine type 'r4.xlarge,m4.2xlarge'."""
    pagerank = [a for a in PAGERANK if a not in ("--machine-type", "r4.xlarge")]
    context = ["--set", "pages=2000000", "--set", "data_size_MB=284", "--scale-out", "4"]
    ask = [*pagerank, *context, "--model", "optimistic", "--db", db, "--json"]
    prices = tmp_path / "p.json"
    prices.write_text('{"r4.xlarge": 0.01}')
    code, out, _ = jobcast(
        "configure", *ask, "--deadline", "900", "--machine-type", "r4.xlarge,m4.2xlarge",
        "--prices", str(prices),
    )  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["currency"] == "price units"
    assert {c["machine_type"] for c in result["candidates"]} == {"r4.xlarge", "m4.2xlarge"}
    assert result["warnings"] == [
        f"--prices {prices} gives no price for m4.2xlarge: priced by the built-in AWS "
        "on-demand price (USD per machine-hour, us-east-1), while costs are labelled "
        "'price units'; add it to the price file to price it yourself"
    ]
    code, out, _ = jobcast("predict", *ask, "--machine-type", "m4.2xlarge,r4.xlarge")
    assert code == 0 and len(json.loads(out)["predictions"]) == 2
    code, out, err = jobcast("predict", *ask, "--machine-type", "m4.2xlarge,")
    assert code == 2 and "--machine-type 'm4.2xlarge,' has an empty entry" in err


def test_an_infinite_deadline_says_finite(jobcast: Jobcast, db: str) -> None:
    code, out, err = jobcast("configure", *KMEANS, "--set", "k=5", "--deadline", "inf",
                             "--db", db)  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("error: --deadline must be a finite number of seconds > 0")


def test_evaluate_models_names_a_small_job_before_any_work(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was: sort computed for 17 s, then failed without naming etl3, losing sort's results."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    small = tmp_path / "e3.csv"
    small.write_text("seconds,nodes,size\n300,2,100\n170,4,100\n100,8,100\n")
    with HistoryRepository(db) as repo:
        import_c3o(repo, [shared_file("c3o-paper", "sort.csv")], job="sort")
    code, _, _ = jobcast("import", "csv", str(small), "--job", "etl3", "--runtime", "seconds",
                         "--scale-out", "nodes", "--db", db)  # fmt: skip
    assert code == 0
    code, out, err = jobcast("evaluate", "models", "--job", "sort", "--job", "etl3",
                             "--models", "ernest", "--repeats", "1", "--db", db)  # fmt: skip
    assert code == 1 and out == ""  # as any job with too few executions
    assert err.startswith(
        "error: job 'etl3': no training size of 3, 6, ..., 30 fits into its 2 training rows"
    )
    assert "evaluating" not in err  # no bar started: nothing was computed


def test_evaluate_models_shows_the_baseline_and_auto_choices(jobcast: Jobcast, db: str) -> None:
    """Was: no trivial baseline to compare with, nor which model auto chose."""
    args = ["evaluate", "models", "--job", "kmeans", "--repeats", "1", "--train-sizes", "3"]
    code, out, _ = jobcast(*args, "--models", "auto,ernest", "--db", db)
    assert code == 0
    assert "baseline (median per scale-out)" in out
    assert "auto chose on kmeans's splits: holdout: " in out
    code, out, _ = jobcast(*args, "--models", "auto,ernest", "--db", db, "--json")
    data = json.loads(out)
    assert data["mean_over_jobs"]["holdout"]["baseline"] is not None
    assert sum(data["jobs"][0]["holdout"]["auto_chosen"].values()) == 1
