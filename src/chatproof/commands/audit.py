"""``chatproof audit …``: the tax auditor's audit period (GoBD Rz. 159), which limits what the
auditor's account reads in the audit workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from chatproof.commands.common import DataDir, actor, components_for, day_option, fails_cleanly

audit_app = typer.Typer(help="The tax auditor's audit period.", no_args_is_help=True)


@audit_app.command("period")
@fails_cleanly
def audit_period(
    username: Annotated[str, typer.Argument(help="The auditor's account.")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")],
    data_dir: DataDir = None,
) -> None:
    """Set the audit period of an auditor account: searches and views in the audit workspace
    show only tax-relevant messages of these days.

    Example: chatproof audit period otto --from 2025-01-01 --to 2025-12-31
    """
    from chatproof.services.auditor import set_scope

    first, last = day_option(start, "--from"), day_option(end, "--to")
    with components_for(data_dir) as components:
        scope = set_scope(
            components.writer,
            username,
            first,
            last,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
        )
    typer.echo(f"Audit period of {username}: {scope.period_from} to {scope.period_to}.")
