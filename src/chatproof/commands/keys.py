"""``chatproof keys …``: the master key behind every sealed entry. Rotation re-wraps the bucket
keys under a new master key version; sealed content and the log do not change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    actor,
    components_for,
    fails_cleanly,
    output,
    stderr,
)

keys_app = typer.Typer(help="The master key: rotation and versions.", no_args_is_help=True)


@keys_app.command("rotate-master")
@fails_cleanly
def rotate_master(
    data_dir: DataDir = None,
    remove_old: Annotated[
        bool,
        typer.Option(
            "--remove-old", help="Delete old key files once nothing is wrapped under them."
        ),
    ] = False,
) -> None:
    """Make a new master key version current and re-wrap every bucket key under it; a second
    run finishes an interrupted one. Stop `chatproof serve` first.

    Example: chatproof keys rotate-master --remove-old
    """
    from rich.progress import Progress

    from chatproof.services.key_rotation import rotate_master_key

    with components_for(data_dir) as components, Progress(transient=True, console=stderr()) as bar:
        task = bar.add_task("re-wrapping bucket keys", total=None)
        report = rotate_master_key(
            components.writer,
            components.settings.keys_dir,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
            remove_old=remove_old,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    verb = "Finished the rotation to" if report.resumed else "Rotated to"
    typer.echo(
        f"{verb} master key version {report.to_version}: {report.rewrapped} bucket keys "
        f"re-wrapped; log entry {report.entry}."
    )
    for path in report.removed:
        typer.echo(f"Removed {path}.")
    if report.still_needed:
        typer.echo(
            f"Warning: bucket keys are still wrapped under version(s) {report.still_needed} "
            "(was the server running?); run this again.",
            err=True,
        )
    elif not remove_old:
        typer.echo("Older key files are no longer needed; --remove-old deletes them.")


@keys_app.command("status")
@fails_cleanly
def status(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List the master key versions on disk and how many bucket keys each one wraps.

    Example: chatproof keys status
    """
    from chatproof.archive.master_keys import load_master_keys

    with components_for(data_dir) as components:
        keys = load_master_keys(components.settings.keys_dir)
        with components.reader() as uow:
            in_use = uow.keys.master_versions_in_use()
    rows = [
        {
            "version": version,
            "current": "current" if version == keys.version else "",
            "on_disk": "yes" if version in keys.versions else "missing",
            "bucket_keys": in_use.get(version, 0),
        }
        for version in sorted({*keys.versions, *in_use})
    ]
    output(rows, as_json)
