"""``chatproof import …``: bringing chats from outside the Cloud API into the archive — for now
WhatsApp "Export chat" files from the app on staff phones."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    actor,
    components_for,
    fails_cleanly,
    stderr,
)
from chatproof.domain.errors import ChatproofError

if TYPE_CHECKING:
    from chatproof.domain.chat_export import DateOrder
    from chatproof.services.importing import ExportFile, ImportOptions, ImportSummary

import_app = typer.Typer(help="Import chats from outside the Cloud API.", no_args_is_help=True)

PROGRESS_FROM_BYTES = 1 << 20
"""Files from this size on get a progress bar."""


class MissingBusinessName(ChatproofError):
    def __init__(self) -> None:
        super().__init__(
            "--business-name: which author in the chat is the business? "
            "Give it as it appears in the export"
        )


@import_app.command("whatsapp-export")
@fails_cleanly
def whatsapp_export(
    files: Annotated[
        list[Path],
        typer.Argument(help="Export files: .txt, or .zip with media.", show_default=False),
    ],
    business_name: Annotated[
        str | None,
        typer.Option(help="The business's name as the chat shows it (asked when missing)."),
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(help="The other side's number, e.g. +49 151 2345678 (else the file name's)."),
    ] = None,
    date_order: Annotated[
        str | None, typer.Option(help="dmy, mdy or ymd, where the file leaves it open.")
    ] = None,
    time_format: Annotated[int | None, typer.Option(help="12 or 24 (hour clock).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Read and report; store nothing.")] = False,
    jsonl: Annotated[
        bool, typer.Option(help="With --dry-run: print each parsed message as one JSON line.")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Import WhatsApp "Export chat" files (Android or iOS, any locale) into the archive.

    The format is detected and reported with how sure the detection is. All files are
    imported in one transaction: a fatal error in any imports none. Importing the same export
    again adds nothing, a later export of the same chat adds only the new messages.
    Unreadable lines are reported by number and skipped.

    Example: chatproof import whatsapp-export "WhatsApp Chat mit +49 151 2345678.zip"
    """
    from chatproof.services.importing import ExportFile, ImportOptions, contact_of, detect_format

    order = _date_order(date_order)
    if time_format not in (None, 12, 24):
        raise typer.BadParameter("12 or 24", param_hint="--time-format")
    if jsonl and not dry_run:
        raise typer.BadParameter("only with --dry-run", param_hint="--jsonl")
    options = ImportOptions(business_name or "", contact, order, time_format)
    with ExitStack() as stack:
        exports = []
        for path in files:
            export = ExportFile(path)
            stack.callback(export.close)
            exports.append(export)
        if dry_run:
            results = [_dry_run(export, options, jsonl) for export in exports]
            if not jsonl:
                _report(results, as_json)
            return
        # Every file is checked before the import starts: a typo in the fifth file is
        # reported before the first four have been read.
        for export in exports:
            detect_format(export, options)
            contact_of(export, options)
        if not options.business_name:
            options = ImportOptions(_ask_business_name(), contact, order, time_format)
        summaries = _import(exports, options, data_dir)
    _report([s.as_dict() for s in summaries], as_json)


def _date_order(value: str | None) -> DateOrder | None:
    from chatproof.domain.chat_export import DateOrder

    if value is None:
        return None
    try:
        return DateOrder(value.lower())
    except ValueError:
        raise typer.BadParameter("dmy, mdy or ymd", param_hint="--date-order") from None


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask_business_name() -> str:
    if not _interactive():
        raise MissingBusinessName
    name = typer.prompt("Business name as it appears in the chat", err=True).strip()
    if not name:
        raise MissingBusinessName
    return name


def _dry_run(export: ExportFile, options: ImportOptions, jsonl: bool) -> dict[str, Any]:
    from chatproof.domain.chat_export import BadLine
    from chatproof.services.importing import preview

    detection, items = preview(export, options)
    typer.echo(f"{export.name}: {detection.describe()}", err=True)
    messages = bad = 0
    for item in items:
        if isinstance(item, BadLine):
            bad += 1
            typer.echo(f"{export.name}: line {item.line}: {item.reason}", err=True)
            continue
        messages += 1
        if jsonl:
            row = {
                "at": item.at.isoformat(),
                "author": item.author or None,
                "text": item.text,
                "kind": item.kind.value,
                "attachment": item.attachment,
                "line": item.line,
            }
            typer.echo(json.dumps(row, ensure_ascii=False))
    return {
        "file": export.name,
        "format": detection.format.describe(),
        "confidence": detection.confidence,
        "evidence": detection.order_evidence,
        "messages": messages,
        "bad_lines": bad,
        "stored": False,
    }


def _import(
    exports: list[ExportFile], options: ImportOptions, data_dir: Path | None
) -> list[ImportSummary]:
    from functools import partial

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from chatproof.services.importing import import_exports
    from chatproof.store.imports import SqlAlchemyImportUnitOfWork

    with components_for(data_dir) as components, ExitStack() as stack:
        progress = None
        total = sum(export.size for export in exports)
        if total >= PROGRESS_FROM_BYTES:
            bar = stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TimeRemainingColumn(),
                    console=stderr(),
                    transient=True,
                )
            )
            task = bar.add_task("importing", total=total)
            before = {e: sum(x.size for x in exports[:i]) for i, e in enumerate(exports)}

            def progress(export: ExportFile, done: int, _: int) -> None:
                description = f"importing {export.name}"
                bar.update(task, completed=before[export] + done, description=description)

        factory = partial(
            SqlAlchemyImportUnitOfWork,
            components.engine,
            components.sealing,
            components.pseudonyms,
        )
        summaries = import_exports(
            factory,
            components.blobs,
            exports,
            options,
            tz=components.timezone,
            actor=actor(),
            now=datetime.now(UTC),
            progress=progress,
        )
    for summary in summaries:
        name = summary.file
        for bad in summary.bad_line_reports:
            typer.echo(f"{name}: line {bad.line}: {bad.reason}", err=True)
        if summary.bad_lines > len(summary.bad_line_reports):
            more = summary.bad_lines - len(summary.bad_line_reports)
            typer.echo(f"{name}: … and {more} more unreadable lines", err=True)
        for warning in summary.warnings:
            typer.echo(f"Warning: {name}: {warning}", err=True)
    return summaries


def _report(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    for r in results:
        typer.echo(
            f"{r['file']}: {r['format']} (confidence {r['confidence']:.2f}; {r['evidence']})"
        )
        if not r.get("stored", True):
            typer.echo(f"  {r['messages']} messages read, {r['bad_lines']} unreadable lines")
            typer.echo("  dry run: nothing stored")
            continue
        typer.echo(
            f"  {r['messages']} messages read, {r['added']} added, "
            f"{r['already_imported']} already imported, {r['bad_lines']} unreadable lines"
        )
        typer.echo(f"  media: {r['media_stored']} stored, {r['media_missing']} missing")
        if r["import_id"] is None:
            typer.echo("  nothing new: nothing stored")
        else:
            typer.echo(
                f"  import {r['import_id']} into conversation {r['conversation_id']}, "
                f"{r['log_entries']} log entries"
            )
