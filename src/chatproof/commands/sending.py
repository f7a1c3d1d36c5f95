"""``chatproof consent …``, ``chatproof broadcast …`` and ``chatproof send``: lawful sending
for an admin at the console. Messages are queued in the outbox; the running server sends
them. A refusal by the policy gate prints its rule and reason and exits with 1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    actor,
    components_for,
    fails_cleanly,
    output,
)
from chatproof.domain.errors import ChatproofError

consent_app = typer.Typer(help="The consent ledger: opt-ins with proof, opt-outs, history.")
broadcast_app = typer.Typer(help="Newsletters to contacts with a valid marketing opt-in.")

Number = Annotated[str, typer.Argument(help="The customer's number, e.g. 4915112345678.")]
Purpose = Annotated[str, typer.Option(help="service, marketing, or a purpose you added.")]


class Refused(ChatproofError):
    """The policy gate refused; the message names the rule and the reason."""


def _number(value: str) -> str:
    digits = value.strip().lstrip("+").replace(" ", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ChatproofError(f"NUMBER: {value!r} is not a phone number in international format")
    return digits


def _read(document: Path | None, option: str = "--document") -> bytes | None:
    if document is None:
        return None
    try:
        return document.read_bytes()
    except OSError as exc:
        raise ChatproofError(f"{option}: cannot read {document}: {exc.strerror}") from None


@consent_app.command("record")
@fails_cleanly
def consent_record(
    number: Number,
    purpose: Purpose = "marketing",
    source: Annotated[
        str, typer.Option(help="web_form, paper_form, keyword or import.")
    ] = "paper_form",
    text: Annotated[str, typer.Option(help="The exact consent text the customer agreed to.")] = "",
    text_version: Annotated[str, typer.Option(help="Version of that text.")] = "",
    proof: Annotated[str, typer.Option(help="Reference to the evidence.")] = "",
    document: Annotated[
        Path | None, typer.Option(help="The signed form's scan, kept sealed as the proof.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Record an opt-in with its proof (a number typed in is not consent).

    Example: chatproof consent record 4915112345678 --text "Ja, …" --document scan.pdf
    """
    _record(
        number, purpose, "granted", source, text, text_version, proof, data_dir, _read(document)
    )


@consent_app.command("withdraw")
@fails_cleanly
def consent_withdraw(
    number: Number,
    purpose: Annotated[str, typer.Option(help="The purpose, or * for every purpose.")] = "*",
    data_dir: DataDir = None,
) -> None:
    """Record that the customer withdrew consent (by phone, letter, in the shop).

    Example: chatproof consent withdraw 4915112345678 --purpose marketing
    """
    _record(number, purpose, "withdrawn", "agent", "", "", "", data_dir)


def _record(
    number: str,
    purpose: str,
    action: str,
    source: str,
    text: str,
    version: str,
    proof: str,
    data_dir: Path | None,
    document: bytes | None = None,
) -> None:
    from chatproof.domain.consent import ConsentAction, ConsentEvent, ConsentSource
    from chatproof.services import consent

    try:
        origin = ConsentSource(source)
    except ValueError:
        raise ChatproofError(f"--source: {source!r} is not a consent source") from None
    now = datetime.now(UTC)
    event = ConsentEvent(purpose, ConsentAction(action), origin, now, actor(), text, version, proof)
    with components_for(data_dir) as components:
        recorded = consent.record(
            components.writer,
            _number(number),
            event,
            now,
            document=document,
            blobs=components.blobs,
        )
    typer.echo(f"Consent {action} for {purpose} (contact {recorded.contact_id}, log entry "
               f"{recorded.log_index}).")  # fmt: skip


@consent_app.command("document")
@fails_cleanly
def consent_document(
    number: Number,
    digest: Annotated[str, typer.Argument(help="The document's id from the proof.")],
    out: Annotated[Path, typer.Option(help="Where to write the document.")],
    data_dir: DataDir = None,
) -> None:
    """Write out the evidence a consent event names (a signed form's scan). The read is logged.

    Example: chatproof consent document 4915112345678 3f9a… --out form.pdf
    """
    from chatproof.services import consent

    with components_for(data_dir) as components:
        data = consent.read_document(
            components.writer,
            components.blobs,
            digest.removeprefix("document:"),
            actor(),
            datetime.now(UTC),
            wa_id=_number(number),
        )
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise ChatproofError(f"--out: cannot write {out}: {exc.strerror}") from None
    typer.echo(f"Wrote {len(data)} bytes to {out}.")


@consent_app.command("history")
@fails_cleanly
def consent_history(number: Number, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every opt-in and opt-out of a customer, oldest first, and the state per purpose.

    Example: chatproof consent history 4915112345678
    """
    from chatproof.services import consent

    with components_for(data_dir) as components:
        found = consent.history(
            components.writer, actor(), datetime.now(UTC), wa_id=_number(number)
        )
    rows: list[dict[str, Any]] = [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "purpose": e.purpose,
            "action": e.action.value,
            "source": e.source.value,
            "recorded_by": e.recorded_by,
            "text_version": e.text_version,
            "proof": e.proof,
        }
        for e in found.events
    ]
    output(rows, as_json)
    if not as_json:
        granted = [p for p, s in found.states.items() if s.granted]
        typer.echo(f"Granted now: {', '.join(granted) or 'nothing'}")


def _setup(components: Any) -> Any:
    from chatproof.web.sending_setup import sending_setup

    return sending_setup(components.settings)


@fails_cleanly
def send(
    to: Annotated[str, typer.Option("--to", help="The customer's number.")],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key never sends twice.")],
    text: Annotated[str, typer.Option(help="Free text (only inside the 24-hour window).")] = "",
    template: Annotated[str, typer.Option(help="An approved template's name.")] = "",
    language: Annotated[str, typer.Option(help="The template's language.")] = "",
    param: Annotated[list[str] | None, typer.Option(help="A body parameter (repeatable).")] = None,
    purpose: Purpose = "service",
    attach: Annotated[
        Path | None,
        typer.Option(help="A file to send instead of text: image, video, audio or document."),
    ] = None,
    caption: Annotated[str, typer.Option(help="The attached file's caption.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Queue a message after the policy gate allowed it; the server's outbox sends it.

    Example: chatproof send --to 4915112345678 --template order_update --language de --key o-4711

    Example: chatproof send --to 4915112345678 --attach invoice.pdf --caption Rechnung --key r-1
    """
    from chatproof.domain.attachments import check
    from chatproof.services.sending import Outgoing, submit

    attachment = None
    if attach is not None:
        data = _read(attach, "--attach")
        assert data is not None
        attachment = check(data, attach.name, caption=caption)
    elif caption:
        raise ChatproofError("--caption: only with --attach")
    message = Outgoing(text, template, language, tuple(param or ()), purpose, attachment)
    with components_for(data_dir) as components:
        result = submit(
            components.writer,
            _number(to),
            message,
            _setup(components).sending,
            datetime.now(UTC),
            idempotency_key=key,
            origin="cli",
            actor=actor(),
            blobs=components.blobs,
        )
    decision = result.decision
    if not decision.allowed:
        raise Refused(f"refused ({decision.rule_id}): {decision.reason_en}")
    again = " (already queued under this key)" if result.duplicate else ""
    typer.echo(f"Queued as outbox message {result.outbox_id} ({decision.rule_id}){again}.")


@broadcast_app.command("create")
@fails_cleanly
def broadcast_create(
    name: Annotated[str, typer.Argument(help="A name for the report.")],
    template: Annotated[str, typer.Option(help="An approved marketing template.")],
    language: Annotated[str, typer.Option(help="The template's language.")],
    param: Annotated[list[str] | None, typer.Option(help="A body parameter (repeatable).")] = None,
    purpose: Purpose = "marketing",
    label: Annotated[
        str | None, typer.Option(help="Only contacts whose conversation has this label.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Send a marketing template to every contact with a valid opt-in for the purpose.

    Example: chatproof broadcast create "Sommer 2026" --template summer_sale --language de
    """
    from chatproof.services import broadcasts

    with components_for(data_dir) as components:
        broadcast_id = broadcasts.create(
            components.writer,
            _setup(components).sending,
            datetime.now(UTC),
            name=name,
            template=template,
            language=language,
            body_params=param or (),
            purpose=purpose,
            label=label,
            actor=actor(),
        )
        report = broadcasts.report(components.writer, broadcast_id, actor(), datetime.now(UTC))
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items()) or "no contacts"
    typer.echo(f"Broadcast {broadcast_id} created: {counts}.")


def _set_state(broadcast_id: int, state: str, data_dir: Path | None) -> None:
    from chatproof.services import broadcasts

    with components_for(data_dir) as components:
        broadcasts.set_state(components.writer, broadcast_id, state, actor(), datetime.now(UTC))
    typer.echo(f"Broadcast {broadcast_id} {state}.")


@broadcast_app.command("pause")
@fails_cleanly
def broadcast_pause(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id.")],
    data_dir: DataDir = None,
) -> None:
    """Hold back what is not sent yet.

    Example: chatproof broadcast pause 3
    """
    _set_state(broadcast_id, "paused", data_dir)


@broadcast_app.command("resume")
@fails_cleanly
def broadcast_resume(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id.")],
    data_dir: DataDir = None,
) -> None:
    """Continue; every message meets the policy gate again when it is sent.

    Example: chatproof broadcast resume 3
    """
    _set_state(broadcast_id, "running", data_dir)


@broadcast_app.command("report")
@fails_cleanly
def broadcast_report(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id.")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Per contact: sent, delivered, read, failed or refused, with the reason.

    Example: chatproof broadcast report 3
    """
    from chatproof.services import broadcasts

    with components_for(data_dir) as components:
        found = broadcasts.report(components.writer, broadcast_id, actor(), datetime.now(UTC))
    rows = [
        {
            "contact": r.contact_id,
            "number": r.number,
            "outcome": r.outcome,
            "rule": r.rule_id or "",
            "code": r.error_code or "",
            "reason": r.reason or "",
        }
        for r in found.recipients
    ]
    output(rows, as_json)


templates_app = typer.Typer(help="The message templates agents and broadcasts may use.")


@templates_app.command("sync")
@fails_cleanly
def templates_sync(data_dir: DataDir = None) -> None:
    """Read the business account's templates from the platform into the catalogue.

    Example: chatproof templates sync
    """
    import asyncio

    from chatproof.channels.whatsapp.client import CloudApiClient
    from chatproof.channels.whatsapp.connection import Connection
    from chatproof.services import templates

    with components_for(data_dir) as components:
        settings = components.settings
        if not settings.templates.waba_id:
            raise ChatproofError("templates.waba_id: is not configured")

        async def fetch() -> Any:
            async with CloudApiClient(Connection.from_config(settings.whatsapp)) as client:
                return await templates.fetch(client.list_templates, settings.templates.waba_id)

        report = asyncio.run(fetch())
        templates.store(components.writer, report, actor(), datetime.now(UTC))
    approved = sum(t.approved for t in report.templates)
    typer.echo(f"Synced {len(report.templates)} templates ({approved} approved).")
    for problem in report.skipped:
        typer.echo(f"Skipped {problem}", err=True)


@templates_app.command("list")
@fails_cleanly
def templates_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """The catalogue: configured templates, overlaid by the last sync.

    Example: chatproof templates list
    """
    from chatproof.services import templates

    with components_for(data_dir) as components:
        catalogue = _setup(components).sending.catalogue
        catalogue.replace_synced(templates.load(components.reader))
    rows = [
        {
            "name": t.name,
            "language": t.language,
            "category": t.category.value,
            "approved": "yes" if t.approved else "no",
            "body_params": t.body_params,
        }
        for t in catalogue.all()
    ]
    output(rows, as_json)
