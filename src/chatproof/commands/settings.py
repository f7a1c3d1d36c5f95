"""``chatproof settings …``: business hours, holidays and the automatic texts, as in force
(a value stored in the browser or here wins over chatproof.toml). A change goes through the
same service as the settings page and is the same log entry, naming the operating-system user.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
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

settings_app = typer.Typer(
    help="Business hours, holidays and automatic texts, with their change history.",
    no_args_is_help=True,
)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _moment(value: datetime | None, as_json: bool) -> str:
    if value is None:
        return ""
    return value.isoformat() if as_json else f"{value:%Y-%m-%d %H:%M}"


@settings_app.command("show")
@fails_cleanly
def settings_show(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every setting in force, where it comes from and its version.

    Example: chatproof settings show --json
    """
    from chatproof.services import settings as operational
    from chatproof.web.sending_setup import file_defaults

    with components_for(data_dir) as components:
        found = operational.effective(components.reader, file_defaults(components.settings))
    rows = [
        {
            "key": s.key,
            "value": s.value if as_json else _shown(s.value),
            "source": s.source,
            "version": s.version,
            "changed_by": s.changed_by,
            "changed_at": _moment(s.changed_at, as_json),
        }
        for s in found.values()
    ]
    output(rows, as_json)


@settings_app.command("set")
@fails_cleanly
def settings_set(
    key: Annotated[str, typer.Argument(help="A setting, e.g. hours_mon or greeting_de.")],
    value: Annotated[
        str | None, typer.Argument(help="The new value; closing days separated by commas.")
    ] = None,
    file: Annotated[
        bool, typer.Option("--file", help="Go back to chatproof.toml's value instead.")
    ] = False,
    version: Annotated[
        int | None, typer.Option(help="Refuse if the setting is no longer at this version.")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Change one setting; the running server and worker take it within seconds. The change
    is a log entry with who, when, before and after.

    Example: chatproof settings set hours_sat "10:00-14:00"
    """
    from chatproof.domain import operational_settings
    from chatproof.domain.accounts import Principal
    from chatproof.services import settings as operational
    from chatproof.web.sending_setup import file_defaults

    if file == (value is not None):
        raise typer.BadParameter("give either a VALUE or --file", param_hint="VALUE")
    parsed = None if file else operational_settings.parse(key, value or "")
    with components_for(data_dir) as components:
        done = operational.change(
            components.writer,
            Principal(actor()),
            datetime.now(UTC),
            key,
            parsed,
            expected_version=version,
            defaults=file_defaults(components.settings),
        )
    if as_json:
        row = None
        if done is not None:
            row = {
                "key": done.key,
                "before": done.before,
                "after": done.after,
                "version": done.version,
                "log_index": done.log_index,
            }
        typer.echo(json.dumps(row, ensure_ascii=False, indent=2))
        return
    if done is None:
        typer.echo(f"{key} is unchanged.")
        return
    typer.echo(
        f"{key}: {_shown(done.before) or '(empty)'} → {_shown(done.after) or '(empty)'} "
        f"(version {done.version}, log entry {done.log_index})."
    )


@settings_app.command("history")
@fails_cleanly
def settings_history(
    limit: Annotated[int, typer.Option(help="How many changes, newest first.", min=1)] = 20,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """The latest changes of settings, quick replies and templates, read from the archive.

    Example: chatproof settings history --limit 5
    """
    from chatproof.services import settings as operational

    with components_for(data_dir) as components:
        found = operational.history(components.reader, limit)
    rows = [
        {
            "index": h.index,
            "at": _moment(h.at, as_json),
            "actor": h.actor,
            "kind": h.kind,
            "key": h.key,
            "before": h.before if as_json else _shown(h.before),
            "after": h.after if as_json else _shown(h.after),
        }
        for h in found
    ]
    output(rows, as_json)
