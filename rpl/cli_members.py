"""`rpl member …`: an organisation's admins, attesters and assessors, from the command line.

How the site operator names an organisation's first admin, who then manages the rest on the web.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

member_app = typer.Typer(
    help="An organisation's members: admins, attesters, assessors.", no_args_is_help=True
)
OPERATOR = "admin:admin-token"  # the audit trail names the command line as the operator


def _run(work: Any) -> Any:
    from rpl.bootstrap import bootstrap
    from rpl.cli import _settings
    from rpl.errors import RplError

    try:
        container = bootstrap(_settings(), runner="inline", network=False)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        return work(container)
    except RplError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        container.close()


@member_app.command("add")
def member_add(
    slug: Annotated[str, typer.Argument(help="The organisation's slug.")],
    email: Annotated[str, typer.Argument(help="Their email address (they sign in with it).")],
    role: Annotated[str, typer.Option(help="admin, attester or assessor.")] = "attester",
    title: Annotated[str, typer.Option(help="Their title, e.g. 'HR Manager'.")] = "",
) -> None:
    from rpl.services import members

    def work(c: Any) -> Any:
        with c.uow() as tx:
            org = tx.orgs.by_slug(slug)
        return members.add_member(
            c.uow, c.mailer, c.settings.public_url, org, email, role, title, OPERATOR, c.now()
        )

    added = _run(work)
    typer.echo(f"{added.id}\t{added.email}\t{added.role.value}\t{added.title}")


@member_app.command("list")
def member_list(slug: Annotated[str, typer.Argument(help="The organisation's slug.")]) -> None:
    from rpl.services import members

    def work(c: Any) -> Any:
        with c.uow() as tx:
            org = tx.orgs.by_slug(slug)
        return members.list_members(c.uow, org, include_removed=True)

    for m in _run(work):
        state = f"removed {m.removed_at:%Y-%m-%d}" if m.removed_at else "active"
        typer.echo(f"{m.id}\t{m.email}\t{m.role.value}\t{m.title}\t{state}")


@member_app.command("remove")
def member_remove(
    slug: Annotated[str, typer.Argument(help="The organisation's slug.")],
    membership_id: Annotated[int, typer.Argument(help="The membership's id (see `list`).")],
    reason: Annotated[str, typer.Option(help="Why it ends; kept on record.")] = "",
) -> None:
    from rpl.services import members

    def work(c: Any) -> Any:
        with c.uow() as tx:
            org = tx.orgs.by_slug(slug)
        return members.remove_member(c.uow, org, membership_id, reason, OPERATOR, c.now())

    removed = _run(work)
    typer.echo(f"removed {removed.email} ({removed.role.value})")
