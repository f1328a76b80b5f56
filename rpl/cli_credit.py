"""`rpl demo credit`: the credit journey's demo, a sub-command of the `demo` group."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from rpl.errors import RplError

demo_app = typer.Typer(help="Run a journey on a fresh embedded instance.")


@demo_app.command("credit")
def demo_credit(
    out: Annotated[
        Path, typer.Option(help="Folder for transcript.json, did.json and status-revocation.json.")
    ] = Path("demo-credit-out"),
) -> None:
    """A returning student's bundle → proposal → assessor → CLR 2.0 transcript, written to OUT."""
    from rpl.demo_credit import run_credit_demo

    logging.basicConfig(level=logging.WARNING)
    try:
        verified = run_credit_demo(out, echo=typer.echo)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    raise typer.Exit(0 if verified else 1)
