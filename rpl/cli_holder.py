"""`rpl holder export`: a holder's archive written to a file, as `/my/export` serves it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

holder_app = typer.Typer(help="A holder's records: export them as one archive.")


@holder_app.command("export")
def export(
    email: Annotated[str, typer.Option("--email", help="The holder's account address.")],
    out: Annotated[Path, typer.Option("--out", help="The ZIP file to write.")],
) -> None:
    """Write everything the account holds (credentials, signed presentation, CLR, claims, notes,
    manifest) to OUT, exactly as the holder's own export would. Exit 2 if there is no such
    account or OUT exists."""
    from rpl.accounts import normalise_email
    from rpl.bootstrap import bootstrap
    from rpl.cli import _settings
    from rpl.errors import RplError
    from rpl.services import archive

    logging.basicConfig(level=logging.WARNING)
    if out.exists():
        typer.echo(f"error: {out} exists; not overwritten", err=True)
        raise typer.Exit(2)
    try:
        container = bootstrap(_settings(), runner="inline")
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        with container.uow() as tx:
            account = tx.accounts.by_email(normalise_email(email))
        if account is None:
            typer.echo(f"error: no account has the address {email!r}", err=True)
            raise typer.Exit(2)
        request = archive.ExportRequest(account, container.settings.public_url, container.now())
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as handle:
            for chunk in archive.export_archive(container.uow, container.master_key, request):
                handle.write(chunk)
        partial.replace(out)  # a crash leaves no half archive under the asked name
    finally:
        container.close()
    typer.echo(f"wrote {out}")
