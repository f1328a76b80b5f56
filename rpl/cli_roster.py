"""`rpl roster …`: import an organisation's roster from a CSV file, and issue it, with progress."""

from __future__ import annotations

import getpass
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from rpl.claims import ClaimKind
from rpl.errors import RplError

roster_app = typer.Typer(
    help="Rosters: confirm many past participants at once.", no_args_is_help=True
)


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="The roster, CSV with a header row.", exists=True)],
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    issue: Annotated[bool, typer.Option(help="Issue at once to each identifier.")] = False,
    role: Annotated[str, typer.Option(help="Who at the organisation vouches.")] = "Records Office",
    attester_email: Annotated[str | None, typer.Option(help="Their address.")] = None,
    kind: Annotated[
        ClaimKind, typer.Option(help="Kind of rows that name none.")
    ] = ClaimKind.CONTRIBUTION,
) -> None:
    """Import FILE for --org: valid rows become pre-confirmed claims, bad rows are reported.

    Without --issue each person is emailed a link to accept; with it, every claim not yet
    issued is signed and stored, signing starting while later rows still import. Safe to run
    again after a crash: nothing is imported or issued twice, and what was left undone is done.
    """
    from rpl.cli import _boot, _settings
    from rpl.services import roster, roster_jobs, roster_pipeline

    container = _boot(_settings())
    warm_up = getattr(container.runner, "warm_up", None)
    if issue and warm_up:
        warm_up()  # Prefect (a server, embedded) starts while the rows import, not after them
    request = roster.ImportRequest(
        file.name, f"operator:{getpass.getuser()}", role, attester_email, kind, direct=issue
    )
    try:
        with _progress() as bar:
            task = bar.add_task("importing", total=file.stat().st_size)
            # With --issue, each chunk's claims are signed while the next chunks import.
            record, _ = roster_pipeline.import_and_issue(
                container, org, file, request, lambda r: bar.update(task, completed=r.bytes_read)
            )
            bar.update(task, completed=record.bytes_total)
        typer.echo(
            f"import {record.id}: {record.status}; {record.rows_added} added, "
            f"{record.rows_duplicate} already there, {record.rows_rejected} rejected"
        )
        if record.status == "failed":
            typer.echo(f"error: {record.message}", err=True)
            raise typer.Exit(1)
        if issue:
            _issue(container, record)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        roster_jobs.close_pools()
        container.close()


def _issue(container: Any, record: Any) -> None:
    """Issue the organisation's issuable roster claims through the runner, showing progress."""
    from rpl.services import roster

    roster.set_status(container.uow, record.id, "issuing", container.now())
    with container.uow() as tx:
        total = tx.rosters.issuable(record.organisation_id)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            container.runner.issue_roster(record.organisation_id)
            container.runner.wait()
        except BaseException as err:  # noqa: BLE001 - handed to the main thread, re-raised there
            failure.append(err)

    worker = threading.Thread(target=work, name="rpl-roster-issue", daemon=True)
    worker.start()
    with _progress() as bar:
        task = bar.add_task("issuing", total=total)
        while worker.is_alive():
            worker.join(0.5)
            with container.uow() as tx:
                bar.update(task, completed=total - tx.rosters.issuable(record.organisation_id))
    if failure:
        raise failure[0]
    roster.set_status(container.uow, record.id, "done", container.now())
    with container.uow() as tx:
        left = tx.rosters.issuable(record.organisation_id)
    typer.echo(f"issued; {left} claim(s) could not be issued" if left else "issued all")
    time.sleep(0)


def bench_roster(
    rows: Annotated[int, typer.Option(help="Rows in the generated roster.")] = 10_000,
    cryptosuite: Annotated[
        str, typer.Option(help="eddsa-jcs-2022 or eddsa-rdfc-2022.")
    ] = "eddsa-jcs-2022",
    runner: Annotated[str, typer.Option(help="prefect (the flow) or inline.")] = "prefect",
    sample: Annotated[int, typer.Option(help="Credentials verified at the end.")] = 200,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Rows a chunk (default: the RPL_ISSUE_BATCH_SIZE default)."),
    ] = None,
    home: Annotated[
        Path | None, typer.Option(help="Keep the instance here (default: a temp dir).")
    ] = None,
) -> None:
    """Generate a roster, then time its import with issuance alongside, what the issue_roster
    flow then had left, and a verified sample."""
    import tempfile

    from rpl import roster_bench as rb

    with tempfile.TemporaryDirectory(prefix="rpl-bench-") as scratch:
        where = home or Path(scratch)
        figures = _bench(rb, where, rows, cryptosuite, runner, sample, batch_size)
    for line in figures.lines():
        typer.echo(line)


def _bench(
    rb: Any,
    where: Path,
    rows: int,
    cryptosuite: str,
    runner: str,
    sample: int,
    batch_size: int | None,
) -> Any:
    from rpl.bootstrap import bootstrap
    from rpl.config import Settings
    from rpl.services import roster
    from rpl.services.organisations import RegisterOrganisation, register_organisation

    # A fresh instance: only RPL_HOME, whatever else the environment says.
    settings = Settings.from_env({"RPL_HOME": str(where / "home")}).with_(
        cryptosuite=cryptosuite, runner=runner
    )
    if batch_size:
        settings = settings.with_(issue_batch_size=batch_size)
    container = bootstrap(settings)
    figures = rb.Figures(rows, cryptosuite, settings.issue_batch_size)
    try:
        org = register_organisation(
            container.uow,
            container.master_key,
            RegisterOrganisation(
                name="Bench Hospital", domain="bench.example", url="https://bench.example"
            ),
            container.now(),
        )
        path = where / "roster.csv"
        rb.timed(figures, "generate (not counted)", lambda: rb.write_roster(path, rows))
        request = roster.ImportRequest(path.name, "operator:bench", direct=True)
        with rb.TreeMemory() as memory:
            _measure(rb, container, org, path, request, figures, sample)
        own, children = rb.peak_rss_mib()
        figures.memory_mib = {"parent": own}
        if memory.peak_mib is not None:
            figures.tree_mib, figures.tree_processes = memory.peak_mib, memory.at_peak
        else:  # each reaped child's own peak (a fork counts its parent's pages until it execs)
            figures.memory_mib["child"] = children
    finally:
        container.close()
    return figures


def _measure(
    rb: Any, container: Any, org: Any, path: Path, request: Any, figures: Any, sample: int
) -> None:
    """What a person running `rpl roster import --issue` waits for, timed: Prefect (the
    embedded default starts a server) starting while the rows import, as there, the import
    with its issuance, the flow for the rest, and a verified sample."""
    from rpl.services import roster_jobs, roster_pipeline

    began = time.perf_counter()
    warm = getattr(container.runner, "warm_up", None)
    if warm:
        warm().add_done_callback(
            lambda _: figures.seconds.setdefault(
                "prefect start (n.c.)", time.perf_counter() - began
            )
        )
    cpu = rb.cpu_seconds()
    record, piped = rb.timed(
        figures,
        "import+sign",
        lambda: roster_pipeline.import_and_issue(container, org.slug, path, request),
    )
    figures.counts["import+sign"] = record.rows_read
    # What the pipeline left confirmed (nothing, unless a page failed) goes through the
    # issue_roster flow, as `rpl roster import --issue` does: Prefect's share is measured.
    started = rb.timed(figures, "issue rest (flow)", lambda: _run_issue(container, org.id))
    figures.counts["issue rest (flow)"] = record.rows_added - (piped.issued if piped else 0)
    counted = ("import+sign", "issue rest (flow)")
    overall = sum(figures.seconds[p] for p in counted)
    figures.prefect = rb.flow_overhead(started, overall)
    roster_jobs.close_pools()  # the signers' CPU counts once they are reaped
    figures.cpu_us_per_row = rb.cpu_per_row(cpu, rb.cpu_seconds(), record.rows_added)
    verified = rb.timed(figures, "verify sample", lambda: _verify_sample(container, sample))
    figures.counts["verify sample"] = verified
    figures.seconds["overall (import+issue)"] = overall
    figures.counts["overall (import+issue)"] = record.rows_added
    figures.seconds["end to end"] = time.perf_counter() - began
    figures.counts["end to end"] = record.rows_added


def _run_issue(container: Any, org_id: str) -> Any:
    result = container.runner.issue_roster(org_id)
    container.runner.wait()
    return result


def _verify_sample(container: Any, sample: int) -> int:
    from rpl.verify import verify_credential

    with container.uow() as tx:
        documents = tx.bulk.sample_documents(sample)
    for document in documents:
        result = verify_credential(
            document, container.resolver(), container.now(), status_lists=container.status_lists()
        )
        if not result.verified:
            raise RplError(f"a stored credential does not verify: {result}")
    return len(documents)
