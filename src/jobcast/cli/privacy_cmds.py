"""Commands of privacy-preserving sharing: ``share``, ``budget``, ``import share``, ``domain init``.

Thin: parse, call :mod:`jobcast.app.share`, render.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from jobcast.cli import common as ui
from jobcast.cli.common import DbOption, JsonOption
from jobcast.errors import InputError

__all__ = ["budget", "share", "import_share", "domain_init", "evaluate_privacy_cmd"]


def budget(
    job: Annotated[str, typer.Option("--job", help="The job whose privacy ledger to show.")],
    epsilon: Annotated[
        float | None,
        typer.Option(
            "--epsilon",
            help="Set the job's total budget (lifetime epsilon); never below what was spent.",
        ),
    ] = None,
    confirm_raise: Annotated[
        bool,
        typer.Option(
            "--confirm-raise", help="Confirm that --epsilon raises the budget (recorded)."
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show (or set) a job's privacy budget, every release charged to it and every change.

    Releases are charged to the job by name and by data: a release of the same
    executions under another job name (a copy, a re-import) counts here too.
    """
    from jobcast.app.share import budget as budget_of

    with ui.open_repo(db, existing=True) as repo:
        info = budget_of(repo, job, set_epsilon=epsilon, confirm_raise=confirm_raise)
    if as_json:
        ui.emit_json(info)
        return
    ui.console.print(
        f"Job {job!r}: budget ε = {info['budget']:g}, spent {info['spent']:g}, "
        f"remaining {info['remaining']:g}"
    )
    if info["releases"]:
        ui.table(
            "Releases",
            ["when", "job", "ε", "method", "rows", "by", "digest", "destination"],
            [
                (
                    r["created_at"].strftime("%Y-%m-%d %H:%M"),
                    r["job"],
                    "no DP" if r["no_dp"] else r["epsilon"],
                    r["method"],
                    r["rows"],
                    r["released_by"],
                    (r["digest"] or "")[:12],
                    _destination(r),
                )
                for r in info["releases"]
            ],
        )
    if info["changes"]:
        ui.table(
            "Budget changes",
            ["when", "by", "from", "to"],
            [
                (c["changed_at"].strftime("%Y-%m-%d %H:%M"), c["changed_by"], c["from"], c["to"])
                for c in info["changes"]
            ],
        )


def _destination(release: dict[str, object]) -> str:
    if release["refused"]:
        return "refused, nothing written"
    if release["digest"] is None and release["destination"] is not None:
        # charged before its files were written, then cut off (killed) before they were
        return f"{release['destination']} (no digest: the writing may have been cut off)"
    return str(release["destination"])


def share(
    job: Annotated[str, typer.Option("--job", help="The job whose executions to share.")],
    epsilon: Annotated[
        float | None,
        typer.Option(
            "--epsilon",
            help="Required (or --no-dp): privacy budget of this release, 1e-6 .. the "
            "remaining budget (a job has 5 in total by default); there is no default ε.",
        ),
    ] = None,
    rows: Annotated[
        int, typer.Option("--rows", help="Synthetic rows to generate (1 .. 10,000,000).")
    ] = 1000,
    out: Annotated[
        Path, typer.Option("--out", help="New (or empty) directory to write the share to.")
    ] = Path("share"),
    method: Annotated[str, typer.Option("--method", help="Synthesizer.")] = "",
    domain: Annotated[
        Path | None,
        typer.Option(
            "--domain",
            help="JSON of public column domains (free of charge) and the `machines` facts "
            "of slots and memory per machine type; `jobcast domain init --job NAME` writes "
            "a skeleton.",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    no_dp: Annotated[
        bool, typer.Option("--no-dp", help="Release WITHOUT differential privacy (recorded).")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a differentially private synthetic copy of a job's executions to share.

    The budget is checked under a lock, the rows are synthesized and the release is
    charged; then the files are written and verified. Stopped before the charge, nothing
    happens; after it (a failure, Ctrl-C: exit 130), the ε stays charged as a refused
    release and nothing is written.
    """
    from jobcast.app.share import release
    from jobcast.errors import ReleaseAbortedError
    from jobcast.history.values import check_epsilon
    from jobcast.privacy.registry import DEFAULT_METHOD

    if epsilon is not None:  # a bad --epsilon is bad input (exit 2), before any work
        check_epsilon(epsilon, what="--epsilon", hint="ε = 0.1 to 10 is the useful range")
    try:
        with ui.open_repo(db, existing=True) as repo:
            info = release(
                repo,
                job,
                epsilon=epsilon,
                rows=rows,
                out=out,
                method=method or DEFAULT_METHOD,
                domain=domain,
                no_dp=no_dp,
                random_state=seed,
            )
    except ReleaseAbortedError as e:
        if e.interrupted is None:
            raise
        ui.print_error(e)
        raise typer.Exit(130) from e  # the exit status of an interrupted command
    except KeyboardInterrupt as e:  # before the charge was committed
        ui.print_error(
            InputError(
                f"the release of job {job!r} was interrupted before its charge was "
                "recorded: nothing was written and nothing charged (`jobcast budget --job "
                f"{job}` lists the ledger)"
            )
        )
        raise typer.Exit(130) from e
    if as_json:
        ui.emit_json(info)
        return
    if no_dp:
        ui.console.print(
            f"Wrote {info['rows']} rows to {out} WITHOUT differential privacy.",
            style="bold red",
            highlight=False,
        )
    else:
        ui.console.print(
            f"Wrote {info['rows']} synthetic rows to {out} at ε = {info['epsilon']:g} "
            f"({info['method']}); the job has now spent {info['budget_spent']:g} of its "
            f"budget {info['budget']:g}. Digest {info['digest'][:16]}.",
            highlight=False,
        )


def import_share(
    directory: Annotated[Path, typer.Argument(help="A share package (manifest.json, rows.csv).")],
    job: Annotated[
        str | None,
        typer.Option("--job", help="Name of the new job (default: ORIGIN-share-DIGEST)."),
    ] = None,
    merge_into: Annotated[
        str | None,
        typer.Option("--merge-into", help="Add the rows to this existing job instead."),
    ] = None,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over",
            help="Take over the claim an interrupted import of this share left behind "
            "(only when no other import of it is running).",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a collaborator's share and add its rows as synthetic executions.

    The digests, the budget ledger and every row are checked first; a share imported
    before is refused. The rows go into a job of their own unless --merge-into is given.
    While it runs, the import claims the share; a claim left by a killed import expires
    after 10 minutes, or --take-over takes it over.
    """
    from jobcast.app.share import import_share as do_import

    with ui.open_repo(db) as repo:
        info = do_import(repo, directory, job=job, merge_into=merge_into, take_over=take_over)
    if as_json:
        ui.emit_json(info)
        return
    dp = (
        f"ε = {info['epsilon']:g}"
        if info["differential_privacy"]
        else "WITHOUT differential privacy"
    )
    ui.console.print(
        f"Imported {info['executions']} synthetic executions ({dp}) of {info['origin_job']!r} "
        f"into {'new job ' if info['created_job'] else ''}{info['job']!r}.",
        highlight=False,
    )


def domain_init(
    job: Annotated[str, typer.Option("--job", help="The job whose schema to describe.")],
    db: DbOption = None,
) -> None:
    """Print a domain-file skeleton for `share --domain` from the job's schema alone.

    Nothing is read from the values: names, types and public defaults (runtime 10 s-4 h,
    scale-out 1-1024, log scale). Edit it, then: jobcast share --domain FILE. What to
    edit is printed on standard error.
    """
    from jobcast.app.share import domain_init as skeleton_of

    with ui.open_repo(db) as repo:
        skeleton, notes = skeleton_of(repo, job)
    sys.stdout.write(json.dumps(skeleton, indent=2) + "\n")
    for note in notes:
        ui.err_console.print(f"note: {note}", highlight=False, markup=False)


def _floats(text: str, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} takes numbers like 0.1,1,10, got {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise InputError(f"{option} needs numbers > 0, got {text!r}")
    return values


def evaluate_privacy_cmd(
    job: Annotated[
        list[str] | None,
        typer.Option(
            "--job",
            help="Job(s) (default: the five c3o-paper ones), each read from "
            "DATA_DIR/JOB.csv; repeatable. Another job needs --domain.",
        ),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder of the JOB.csv files.")
    ] = Path("../shared/data/c3o-paper"),
    domain: Annotated[
        Path | None,
        typer.Option(
            "--domain",
            help="Domain file (as for `share --domain`) of the jobs without built-in "
            "public domains: a JOB.csv with the scale-out first and the runtime last, "
            "numbers only. Used under every --domains protocol; such jobs run "
            "train_sizes, small and time.",
        ),
    ] = None,
    methods: Annotated[
        str, typer.Option(help="Comma-separated: perfmodel, privbayes, datasynthesizer, ...")
    ] = "perfmodel,privbayes,datasynthesizer",
    epsilons: Annotated[str, typer.Option(help="Privacy budgets.")] = "0.1,0.5,1,2,5,10",
    experiments: Annotated[
        str, typer.Option(help="Comma-separated: train_sizes, small, time, risk, secrets.")
    ] = "train_sizes,small,time,risk",
    domains: Annotated[
        str,
        typer.Option(
            "--domains",
            help="What is declared public: bounds (scale-outs, runtime 10 s-4 h, other "
            "columns a coarse range), grid (the C3O grids, published as is) or none.",
        ),
    ] = "bounds",
    sizes: Annotated[
        str, typer.Option(help="Synthetic training sizes of experiment 1.")
    ] = "100,200,...,1100",
    models: Annotated[str, typer.Option(help="Models trained on synthetic rows.")] = "gbm,ernest",
    repeats: Annotated[int, typer.Option(help="Random splits per setting.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Base seed.")] = 0,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="PNG of utility against epsilon.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The privacy paper's experiments side by side with DataSynthesizer (needs jobcast[bench]).

    Runs on the c3o-paper files under the declared domains of --domains (see
    jobcast.evaluation.privacy_domains); --experiments secrets measures how well a
    share's holder infers the dataset sizes. Any other job of the same kind (a CSV in
    --data-dir with the scale-out first, feature columns, and the runtime last) runs
    with the public domains of its --domain FILE.
    """
    from jobcast.evaluation.privacy import C3O_PAPER_JOBS, evaluate_privacy, plot_utility

    size_list = ui.parse_int_list(sizes, option="--sizes") or []
    ui.check_output_file(plot, option="--plot")
    once = _OnceNoDp()  # the no-DP reference column warns once per method, not per fit
    logging.getLogger("jobcast.privacy.base").addFilter(once)
    with ui.progress_callback("privacy experiments", quiet=as_json) as callback, _removed(once):
        result = evaluate_privacy(
            job or C3O_PAPER_JOBS,
            methods=[m.strip() for m in methods.split(",") if m.strip()],
            epsilons=_floats(epsilons, "--epsilons"),
            models=[m.strip() for m in models.split(",") if m.strip()],
            experiments=[e.strip() for e in experiments.split(",") if e.strip()],
            domains=domains,
            sizes=size_list,
            repeats=repeats,
            data_dir=data_dir,
            domain_file=domain,
            seed=seed,
            callback=lambda stage, done, total: callback(done, total, stage),
        )
    if plot is not None:
        plot_utility(result, plot)
    summary = result.summary(model="gbm", rows=1000)
    if as_json:
        ui.emit_json({"summary_gbm_1000_rows": summary, **result.to_dict()})
        return
    _show_evaluation(result, summary)
    if plot is not None:
        ui.console.print(f"Plot written to {plot}")


class _OnceNoDp(logging.Filter):
    """Lets the first "WITHOUT differential privacy" warning of each method through."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if "WITHOUT differential privacy" not in str(record.msg):
            return True
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


@contextmanager
def _removed(flt: logging.Filter) -> Iterator[None]:
    """Remove ``flt`` from the privacy base logger on the way out."""
    try:
        yield
    finally:
        logging.getLogger("jobcast.privacy.base").removeFilter(flt)


def _show_evaluation(result: Any, summary: dict[str, dict[str, float]]) -> None:
    """The tables of what was measured (each experiment's records are in ``--json``)."""
    labels = sorted({e for v in summary.values() for e in v}, key=_eps_order)
    if summary:
        ui.table(
            "Mean MAPE over jobs: gradient boosting on 1000 synthetic rows",
            ["method", *(f"ε={e}" if e != "no-dp" else "no DP" for e in labels)],
            [(m, *(f"{v[e]:.3f}" if e in v else "-" for e in labels)) for m, v in summary.items()],
        )
    elif result.utility:
        ui.console.print(
            "The utility records hold no gradient-boosting figure at 1000 synthetic rows "
            "(the summary's setting): --json lists every record."
        )
    if result.timing:
        ui.table(
            "Synthesis time: describe and generate (median seconds)",
            ["job", "method", "rows", "seconds"],
            [(r.job, r.method, r.rows, f"{r.seconds:.3f}") for r in result.timing],
        )
    if result.risk:
        ui.table(
            "Re-identification risk (anonymeter) and distances to the closest record",
            ["job", "method", "ε", "singling out", "linkability", "inference", "closer (DCR)"],
            [
                (
                    r.job,
                    r.method,
                    "no DP" if r.epsilon is None else f"{r.epsilon:g}",
                    f"{r.singling_out:.3f}",
                    f"{r.linkability:.3f}",
                    f"{r.inference:.3f}",
                    f"{r.closer_than_holdout:.3f}",
                )
                for r in result.risk
            ],
        )
    if result.secrets:
        ui.table(
            "Secret inference at the risk ε: dataset-size columns",
            ["job", "method", "declared", "column", "inference risk", "median error"],
            [
                (
                    r.job,
                    r.method,
                    r.domains,
                    r.column,
                    f"{r.inference:.3f}",
                    f"{r.median_error:.3f}",
                )
                for r in result.secrets
            ],
        )


def _eps_order(label: str) -> float:
    return float("inf") if label == "no-dp" else float(label)
