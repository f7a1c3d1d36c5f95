"""What every command shares: the ``--data-dir`` and ``--json`` options, turning chatproof's
errors into one line ``Error: …`` with exit code 1 (STYLE 18, 19), loading the settings and
components of a data directory, and printing rows as a table or JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from chatproof.config import Settings, load_settings, resolve_data_dir
from chatproof.domain.errors import ChatproofError

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory [env: CHATPROOF_DATA_DIR; default: ./chatproof-data]",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesFlag = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]

F = TypeVar("F", bound=Callable[..., Any])


def fails_cleanly(func: F) -> F:
    """Turn chatproof's errors into ``Error: …`` and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChatproofError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def settings_for(data_dir: Path | None) -> Settings:
    return load_settings(resolve_data_dir(data_dir, os.environ))


@contextmanager
def components_for(data_dir: Path | None) -> Iterator[Any]:
    from chatproof.bootstrap import build

    components = build(settings_for(data_dir))
    try:
        yield components
    finally:
        components.close()


def confirmed(yes: bool, question: str) -> None:
    """Go on if ``--yes`` was given or the operator says yes; otherwise exit with 1."""
    if not yes and not typer.confirm(question, err=True):
        raise typer.Exit(1)


def actor() -> str:
    """Who acts when a command changes something: the operating-system user."""
    return f"cli:{os.environ.get('USER', 'unknown')}"


def stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def output(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("(none)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


def day_option(value: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option's value; a bad one is a usage error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date like 2026-01-31", param_hint=option
        ) from None
