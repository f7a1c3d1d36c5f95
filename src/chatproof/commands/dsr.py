"""``chatproof dsr …``: the data-protection officer's register of data-subject requests (GDPR
Art. 12-21), the access report, erasure that respects retention duties, and restriction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    YesFlag,
    actor,
    components_for,
    confirmed,
    day_option,
    fails_cleanly,
    output,
)

dsr_app = typer.Typer(
    help="Data-subject requests: register, access report, erasure, restriction.",
    no_args_is_help=True,
)

Contact = Annotated[str, typer.Argument(help="Contact id or phone number (+49 …).")]
RequestOption = Annotated[
    int | None, typer.Option("--request", help="The request this answers (see `dsr list`).")
]


@dsr_app.command("add")
@fails_cleanly
def dsr_add(
    contact: Contact,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="access, portability, erasure, restriction, objection or rectification.",
        ),
    ],
    identity: Annotated[
        str, typer.Option("--identity", help="How the person's identity was checked.")
    ],
    received: Annotated[
        str, typer.Option("--received", help="Date received (YYYY-MM-DD); default today.")
    ] = "",
    data_dir: DataDir = None,
) -> None:
    """Record a request; its deadline is one month from receipt. An objection to direct
    marketing takes effect at once as a marketing opt-out.

    Example: chatproof dsr add +4917612398765 --kind access --identity "called back on the number"
    """
    from chatproof.services.dsr import add_request

    now = datetime.now(UTC)
    with components_for(data_dir) as components:
        tz = components.timezone
        received_on = day_option(received, "--received") if received else now.astimezone(tz).date()
        request = add_request(
            components.writer, contact, kind, received_on, identity, by=actor(), now=now, tz=tz
        )
    typer.echo(f"Request {request.id} ({request.kind}) recorded, due {request.due_on}.")


@dsr_app.command("list")
@fails_cleanly
def dsr_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include closed requests.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List requests, earliest deadline first, with overdue and due-soon marked.

    Example: chatproof dsr list
    """
    from chatproof.services.dsr import list_requests

    with components_for(data_dir) as components:
        today = datetime.now(UTC).astimezone(components.timezone).date()
        listed = list_requests(components.reader, today, open_only=not show_all)
    rows = [
        {
            "id": item.request.id,
            "kind": item.request.kind.value,
            "contact": item.request.contact_id,
            "received": item.request.received_on.isoformat(),
            "due": item.request.due_on.isoformat(),
            "state": item.urgency.value,
            "extended": item.request.extended_months,
            "outcome": item.request.outcome,
        }
        for item in listed
    ]
    output(rows, as_json)


@dsr_app.command("extend")
@fails_cleanly
def dsr_extend(
    request_id: Annotated[int, typer.Argument(help="The request (see `dsr list`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the person is told.")],
    months: Annotated[int, typer.Option("--months", help="1 or 2 (Art. 12(3)).")] = 2,
    data_dir: DataDir = None,
) -> None:
    """Extend a request's deadline by up to two months, with the reason.

    Example: chatproof dsr extend 4 --months 2 --reason "many requests after the newsletter"
    """
    from chatproof.services.dsr import extend_request

    with components_for(data_dir) as components:
        request = extend_request(
            components.writer,
            request_id,
            months,
            reason,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
        )
    typer.echo(f"Request {request.id} now due {request.due_on}.")


@dsr_app.command("close")
@fails_cleanly
def dsr_close(
    request_id: Annotated[int, typer.Argument(help="The request (see `dsr list`).")],
    outcome: Annotated[str, typer.Option("--outcome", help="What the person was answered.")],
    data_dir: DataDir = None,
) -> None:
    """Close a request with what the person was answered.

    Example: chatproof dsr close 4 --outcome "report sent by e-mail"
    """
    from chatproof.services.dsr import close_request

    now = datetime.now(UTC)
    with components_for(data_dir) as components:
        tz = components.timezone
        request = close_request(components.writer, request_id, outcome, by=actor(), now=now, tz=tz)
    late = " (after its deadline)" if now.astimezone(tz).date() > request.due_on else ""
    typer.echo(f"Request {request.id} closed{late}.")


@dsr_app.command("report")
@fails_cleanly
def dsr_report(
    contact: Contact,
    out: Annotated[
        Path | None, typer.Option("--out", help="Zip file to write; default in the current folder.")
    ] = None,
    language: Annotated[str, typer.Option("--lang", help="de or en.")] = "",
    staff_names: Annotated[
        bool, typer.Option("--staff-names", help="Name staff who read the data (DPO's own view).")
    ] = False,
    request_id: RequestOption = None,
    data_dir: DataDir = None,
) -> None:
    """Write the access report (Art. 15) and portable copy (Art. 20) of a person as a zip:
    report.html, report.pdf, report.json and their media.

    Example: chatproof dsr report +4917612398765 --lang en --out anna.zip
    """
    from chatproof.bootstrap import system_facts
    from chatproof.services.dsr_report import access_report

    with components_for(data_dir) as components:
        chosen = (language or components.settings.organisation.language).lower()
        made = access_report(
            components.writer,
            components.blobs,
            contact,
            system_facts(components, chosen),
            components.retention_classes,
            components.timezone,
            by=actor(),
            now=datetime.now(UTC),
            language=chosen,
            staff_names=staff_names,
            request_id=request_id,
        )
    target = out or Path(made.filename)
    target.write_bytes(made.data)
    typer.echo(f"Wrote {target} ({made.messages} messages, {len(made.data):,} bytes).")


@dsr_app.command("erase")
@fails_cleanly
def dsr_erase(
    contact: Contact,
    yes: YesFlag = False,
    language: Annotated[str, typer.Option("--lang", help="Language of the answer: de or en.")] = "",
    request_id: RequestOption = None,
    data_dir: DataDir = None,
) -> None:
    """Erase a person's data where no retention duty runs; restrict the rest until each duty
    ends. Prints the answer for the person: what was erased, what is kept, why and until when.

    Example: chatproof dsr erase +4917612398765 --yes --request 4
    """
    from chatproof.domain.dsr_answer import answer_text
    from chatproof.services.dsr_erasure import erase

    confirmed(yes, f"Erase what may be erased of contact {contact}? This cannot be undone")
    with components_for(data_dir) as components:
        chosen = (language or components.settings.organisation.language).lower()
        outcome = erase(
            components.writer,
            contact,
            components.retention_classes,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
            scrub=components.scrub,
            request_id=request_id,
        )
    typer.echo(answer_text(outcome, "en" if chosen == "en" else "de"))


@dsr_app.command("restrict")
@fails_cleanly
def dsr_restrict(
    contact: Contact,
    reason: Annotated[str, typer.Option("--reason", help="Which ground of Art. 18(1) applies.")],
    request_id: RequestOption = None,
    data_dir: DataDir = None,
) -> None:
    """Restrict processing (Art. 18): the person is hidden from agents and never messaged.

    Example: chatproof dsr restrict 12 --reason "accuracy contested, Art. 18(1)(a)"
    """
    from chatproof.services.dsr import restrict

    with components_for(data_dir) as components:
        restriction_id = restrict(
            components.writer,
            contact,
            reason,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
            request_id=request_id,
        )
    typer.echo(f"Restriction {restriction_id} in place for contact {contact}.")


@dsr_app.command("restrictions")
@fails_cleanly
def dsr_restrictions(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List the restrictions in place (Art. 18), oldest first: whom, why and since when.

    Example: chatproof dsr restrictions
    """
    from chatproof.services.dsr import restrictions_in_place

    with components_for(data_dir) as components:
        tz = components.timezone
        placed = restrictions_in_place(components.reader)
    rows = [
        {
            "id": restriction.id,
            "contact": contact,
            "reason": restriction.reason,
            "request": restriction.request_id,
            "placed_by": restriction.placed_by,
            "placed_at": restriction.placed_at.astimezone(tz).isoformat(timespec="seconds"),
        }
        for restriction, contact in placed
    ]
    output(rows, as_json)


@dsr_app.command("lift")
@fails_cleanly
def dsr_lift(
    restriction_id: Annotated[int, typer.Argument(help="See `dsr restrictions`.")],
    yes: YesFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Lift a restriction: the person is shown to agents and can be messaged again. Art. 18(3)
    asks that the person is told before.

    Example: chatproof dsr lift 3 --yes
    """
    from chatproof.services.dsr import lift_restriction

    confirmed(
        yes, f"Lift restriction {restriction_id}? The person must have been told (Art. 18(3))"
    )
    with components_for(data_dir) as components:
        lift_restriction(
            components.writer,
            restriction_id,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
        )
    typer.echo(f"Restriction {restriction_id} lifted.")
