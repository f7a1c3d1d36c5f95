"""``chatproof procedure …``: the procedure documentation (Verfahrensdokumentation) as
versions, so the procedure in force on any date can be shown (§ 147 (1) Nr. 1 AO)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    actor,
    components_for,
    fails_cleanly,
    output,
)

procedure_app = typer.Typer(
    help="Procedure documentation (Verfahrensdokumentation) and its versions.",
    no_args_is_help=True,
)


@procedure_app.command("record")
@fails_cleanly
def procedure_record(data_dir: DataDir = None) -> None:
    """Generate the procedure documentation from the configuration; keep it as a new version
    if it differs from the one in force.

    Example: chatproof procedure record
    """
    from chatproof.bootstrap import system_facts
    from chatproof.services.procedure import record_procedure

    with components_for(data_dir) as components:
        version, new = record_procedure(
            components.engine,
            system_facts(components),
            actor(),
            datetime.now(UTC),
            components.timezone,
        )
    state = "New version" if new else "Unchanged: version"
    typer.echo(
        f"{state} {version.id} in force from {version.valid_from:%Y-%m-%d %H:%M} UTC "
        f"(SHA-256 {version.sha256[:16]}…, log entry {version.log_index})."
    )


@procedure_app.command("show")
@fails_cleanly
def procedure_show(
    at: Annotated[
        str | None, typer.Option("--at", help="Date (YYYY-MM-DD) or ISO time; default now.")
    ] = None,
    language: Annotated[str, typer.Option("--lang", help="de or en.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Print the procedure documentation that was in force at a date (end of that day).

    Example: chatproof procedure show --at 2026-03-31
    """
    from chatproof.services.procedure import procedure_in_force

    moment = _moment(at)
    with components_for(data_dir) as components:
        chosen = language or components.settings.organisation.language
        version = procedure_in_force(components.engine, moment, chosen)
    typer.echo(
        f"<!-- version {version.id}, in force from {version.valid_from:%Y-%m-%d %H:%M} UTC, "
        f"SHA-256 {version.sha256} -->"
    )
    typer.echo(version.text)


@procedure_app.command("list")
@fails_cleanly
def procedure_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List every version of the procedure documentation with the moment it applied from.

    Example: chatproof procedure list --json
    """
    from chatproof.services.procedure import procedure_versions

    with components_for(data_dir) as components:
        found = procedure_versions(components.engine)
    rows = [
        {
            "version": v.id,
            "valid_from": v.valid_from.isoformat(timespec="seconds"),
            "language": v.language,
            "sha256": v.sha256,
            "log_entry": v.log_index,
            "recorded_by": v.created_by,
        }
        for v in found
    ]
    output(rows, as_json)


def _moment(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or ISO time", param_hint="--at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
