"""``chatproof export gobd``: the tax auditor's data handover (GoBD Z3) as a folder and a zip,
with a progress bar on stderr for long exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    actor,
    components_for,
    day_option,
    fails_cleanly,
    stderr,
)

export_app = typer.Typer(help="Export the archive for auditors.", no_args_is_help=True)


@export_app.command("gobd")
@fails_cleanly
def export_gobd_command(
    out: Annotated[Path, typer.Argument(help="Folder to write (must not exist or be empty).")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")],
    no_zip: Annotated[bool, typer.Option("--no-zip", help="Write only the folder.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the GoBD data handover (Z3) of a period: index.xml with the official DTD, CSV
    tables of tax-relevant messages, contacts, statuses, consent events and media, the media
    files, leaf hashes, the signed tree head with a range proof, the procedure documentation
    and a README for the auditor; the folder and OUT.zip.

    Example: chatproof export gobd --from 2026-01-01 --to 2026-12-31 ./gobd-2026
    """
    from chatproof.bootstrap import gobd_context
    from chatproof.services.gobd import ExportRequest

    request = ExportRequest(day_option(start, "--from"), day_option(end, "--to"), out, not no_zip)
    with components_for(data_dir) as components:
        ctx = gobd_context(components, actor())
        summary = _run(ctx, request, quiet=as_json)
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(summary), indent=2))
        return
    typer.echo(
        f"Exported {summary.messages} messages, {summary.contacts} contacts, "
        f"{summary.statuses} statuses, {summary.consent_events} consent events and "
        f"{summary.media_files} media files to {summary.folder}"
        + (f" and {summary.zip}" if summary.zip else "")
        + f"; {summary.not_tax_relevant} messages not tax-relevant were left out."
    )
    typer.echo(
        f"Check it with: python3 {Path(summary.folder) / 'check_export.py'} {summary.folder}"
    )


def _run(ctx: Any, request: Any, *, quiet: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from chatproof.services.gobd import export_gobd

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr(),
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("messages", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return export_gobd(ctx, request, datetime.now(UTC), progress)
