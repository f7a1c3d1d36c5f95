"""``chatproof ropa``: the record of processing activities (Art. 30 GDPR) from the
configuration and the settings in force, as Markdown, HTML or PDF, in German or English."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chatproof.commands.common import DataDir, components_for, fails_cleanly


class Format(StrEnum):
    MARKDOWN = "md"
    HTML = "html"
    PDF = "pdf"


@fails_cleanly
def ropa(
    fmt: Annotated[Format, typer.Option("--format", help="md, html or pdf.")] = Format.MARKDOWN,
    language: Annotated[
        str, typer.Option("--lang", help="de or en; default organisation.language.")
    ] = "",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Render the record of processing activities (Verzeichnis von Verarbeitungstätigkeiten):
    controller and DPO, purposes and legal bases, people and data, recipients and processors,
    third-country transfers, retention periods per class and the measures in force.

    Example: chatproof ropa --format pdf --lang de --out verzeichnis.pdf
    """
    from chatproof.bootstrap import system_facts
    from chatproof.domain.processing import to_html, to_markdown
    from chatproof.domain.ropa import record_of_processing

    with components_for(data_dir) as components:
        facts = system_facts(components, language or None)
    document = record_of_processing(facts, datetime.now(UTC).astimezone(components.timezone).date())
    if fmt is Format.PDF:
        from chatproof.services.documents_pdf import to_pdf

        data = to_pdf(document)
        if out is None:
            raise typer.BadParameter("a PDF needs --out FILE", param_hint="--out")
        out.write_bytes(data)
        typer.echo(f"Wrote {out} ({len(data)} bytes).")
        return
    text = to_markdown(document) if fmt is Format.MARKDOWN else to_html(document)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {out}.")
