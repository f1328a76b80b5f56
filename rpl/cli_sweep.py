"""`rpl sweep`: one pass of the sweep now; and the schedule `rpl serve` keeps."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import typer

sweep_app = typer.Typer(help="Reminders, expiries and stuck work: one pass of the sweep.")


@sweep_app.callback(invoke_without_command=True)
def sweep_once(
    as_json: Annotated[bool, typer.Option("--json", help="The claims touched, as JSON.")] = False,
) -> None:
    """Remind silent attesters, expire claims nobody answered, resend links that never left,
    issue confirmations left unissued. Safe to run at any time, as often as you like."""
    from rpl.bootstrap import bootstrap
    from rpl.cli import _settings
    from rpl.errors import RplError
    from rpl.services import jobs

    logging.basicConfig(level=logging.WARNING)
    try:
        container = bootstrap(_settings(), runner="inline")
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        report = jobs.sweep(container).to_json()
    finally:
        container.close()
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(", ".join(f"{len(ids)} {what}" for what, ids in report.items()))


def start_sweeps(container: Any) -> Any:
    """Run the sweep every RPL_SWEEP_MINUTES through the container's runner (the Prefect flow in
    the embedded default); None when RPL_SWEEP_MINUTES is 0."""
    from rpl.services import jobs
    from rpl.services.sweep import Every

    minutes = container.settings.sweep_minutes
    if minutes <= 0:
        return None
    # A runner without a sweep flow of its own (one added later, say) sweeps in this process.
    run = getattr(container.runner, "sweep", None) or (lambda: jobs.sweep(container))
    return Every(minutes, run).start()
