"""``chatproof reclassify …``: give a message or a conversation the retention class of what it
does (an invoice sent by chat is a booking voucher). The change is a log entry naming the
operating-system user who made it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatproof.commands.common import DataDir, JsonFlag, actor, components_for, fails_cleanly

if TYPE_CHECKING:
    from chatproof.services.reclassify import Reclassified

reclassify_app = typer.Typer(
    help="Change the retention class of archived content.", no_args_is_help=True
)

ClassOption = Annotated[
    str,
    typer.Option(
        "--to", help="The new class: business_letter, booking_voucher, books_and_records, …"
    ),
]
ReasonOption = Annotated[str, typer.Option(help="Why, e.g. 'invoice 2026-17 sent by chat'.")]


@reclassify_app.command("message")
@fails_cleanly
def reclassify_message_command(
    message_id: Annotated[int, typer.Argument(help="Message id (see `messages`).")],
    to: ClassOption,
    reason: ReasonOption,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Give one message, its webhook body and its media another retention class.

    Example: chatproof reclassify message 42 --to booking_voucher --reason "invoice 2026-17"
    """
    from chatproof.services.reclassify import reclassify_message

    _report(_reclassify(reclassify_message, message_id, to, reason, data_dir), as_json)


@reclassify_app.command("conversation")
@fails_cleanly
def reclassify_conversation_command(
    conversation_id: Annotated[int, typer.Argument(help="Conversation id.")],
    to: ClassOption,
    reason: ReasonOption,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Give every message of a conversation, so far and to come, another retention class.

    Example: chatproof reclassify conversation 12 --to books_and_records --reason "contract"
    """
    from chatproof.services.reclassify import reclassify_conversation

    _report(_reclassify(reclassify_conversation, conversation_id, to, reason, data_dir), as_json)


def _reclassify(
    service: Callable[..., Reclassified],
    target: int,
    to: str,
    reason: str,
    data_dir: Path | None,
) -> Reclassified:
    with components_for(data_dir) as components:
        return service(
            components.writer,
            components.blobs,
            target,
            to,
            reason=reason,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
            classes=components.retention_classes,
        )


def _report(done: Reclassified, as_json: bool) -> None:
    if as_json:
        import json

        typer.echo(
            json.dumps(
                {
                    "target": done.target,
                    "retention_class": done.retention_class,
                    "before": done.before,
                    "moved": done.moved,
                    "erased": done.erased,
                    "entry": done.entry,
                },
                indent=2,
            )
        )
        return
    if done.entry is None:
        typer.echo(f"Nothing to move: {done.target} is already {done.retention_class}.")
    else:
        before = ", ".join(f"{n} from {c}" for c, n in sorted(done.before.items()))
        typer.echo(
            f"Reclassified {done.target} as {done.retention_class}: {done.moved} keys moved "
            f"({before}); log entry {done.entry}."
        )
    if done.erased:
        typer.echo(f"{done.erased} keys were already shredded and stay so.", err=True)
