"""`rpl holder pull`: fetch new credentials for every holder's connection to another provider.

Registered on the `holder` command group by `rpl.cli`. Meant for a schedule (cron, a systemd
timer): each connection is pulled at most every `--every-hours`, however often this runs.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Annotated

import typer


def pull_connections(
    every_hours: Annotated[
        float,
        typer.Option("--every-hours", min=0, help="Skip connections pulled more recently."),
    ] = 6.0,
    as_json: Annotated[bool, typer.Option("--json", help="The totals, as JSON.")] = False,
) -> None:
    """Pull each holder's connected Open Badges 3.0 providers not pulled for EVERY_HOURS:
    refresh tokens where needed, import (and verify) what is new. Safe to run at any time."""
    from rpl.bootstrap import bootstrap
    from rpl.cli import _settings
    from rpl.errors import RplError
    from rpl.services import connections as service

    logging.basicConfig(level=logging.WARNING)
    try:
        container = bootstrap(_settings(), runner="inline")
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        connector = service.connector_of(container)
        now = container.now()
        outcomes = service.pull_due(connector, now, timedelta(hours=every_hours))
    finally:
        container.close()
    totals = {
        "connections": len(outcomes),
        "imported": sum(o.imported for o in outcomes),
        "present": sum(o.present for o in outcomes),
        "failed": sum(o.failed for o in outcomes),
        "problems": [o.problem for o in outcomes if o.problem],
    }
    if as_json:
        typer.echo(json.dumps(totals))
    else:
        typer.echo(
            f"{totals['connections']} connection(s) pulled: {totals['imported']} new, "
            f"{totals['present']} already held, {totals['failed']} did not verify"
            + (f"; {len(totals['problems'])} stopped early" if totals["problems"] else "")
        )
