"""``chatproof users …``: the people who use the inbox. Every change is a log entry naming
the operating-system user who made it."""

from __future__ import annotations

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

users_app = typer.Typer(help="Accounts of the people who use the inbox.", no_args_is_help=True)

RoleOption = Annotated[
    str, typer.Option(help="admin, supervisor, agent, dpo or auditor.", show_default=True)
]


@users_app.command("add")
@fails_cleanly
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name: a-z, 0-9, '.', '_', '-'.")],
    role: RoleOption = "agent",
    name: Annotated[str, typer.Option(help="Display name shown to colleagues.")] = "",
    language: Annotated[str, typer.Option(help="de or en; empty: the browser's.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create a user and print a one-time password, to be changed at the first sign-in.

    Example: chatproof users add maria --role supervisor --name "Maria Schulz"
    """
    from chatproof.domain.accounts import parse_role
    from chatproof.services.accounts import add_user

    with components_for(data_dir) as components:
        user, password = add_user(
            components.writer,
            actor(),
            datetime.now(UTC),
            username=username,
            role=parse_role(role),
            display_name=name,
            language=language,
        )
    typer.echo(f"User {user.username} ({user.role.value}) created.")
    typer.echo(f"One-time password: {password}")


@users_app.command("list")
@fails_cleanly
def users_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List users with role and state.

    Example: chatproof users list --json
    """
    from chatproof.services.accounts import list_users

    with components_for(data_dir) as components:
        found = list_users(components.reader)
    now = datetime.now(UTC)
    rows = [
        {
            "username": u.username,
            "name": u.display_name,
            "role": u.role.value,
            "language": u.language,
            "totp": u.totp_enabled,
            "state": "disabled" if u.disabled else "locked" if u.locked(now) else "active",
        }
        for u in found
    ]
    output(rows, as_json)


@users_app.command("disable")
@fails_cleanly
def users_disable(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Disable a user (their sessions and API tokens end at once), or enable them again.

    Example: chatproof users disable maria
    """
    from chatproof.services.accounts import set_disabled

    with components_for(data_dir) as components:
        user = set_disabled(components.writer, actor(), datetime.now(UTC), username, not enable)
    typer.echo(f"User {user.username} {'disabled' if user.disabled else 'enabled'}.")


@users_app.command("reset-password")
@fails_cleanly
def users_reset_password(
    username: Annotated[str, typer.Argument(help="The user whose password to reset.")],
    data_dir: DataDir = None,
) -> None:
    """Print a new one-time password for a user and lift a lockout; their sessions end.

    Example: chatproof users reset-password maria
    """
    from chatproof.services.accounts import reset_password

    with components_for(data_dir) as components:
        password = reset_password(components.writer, actor(), datetime.now(UTC), username)
    typer.echo(f"One-time password for {username.strip().lower()}: {password}")


@users_app.command("role")
@fails_cleanly
def users_role(
    username: Annotated[str, typer.Argument(help="The user whose role to change.")],
    role: Annotated[str, typer.Argument(help="admin, supervisor, agent, dpo or auditor.")],
    data_dir: DataDir = None,
) -> None:
    """Give a user another role; their sessions end so the new role applies at once.

    Example: chatproof users role maria supervisor
    """
    from chatproof.domain.accounts import parse_role
    from chatproof.services.accounts import change_role

    with components_for(data_dir) as components:
        user = change_role(
            components.writer, actor(), datetime.now(UTC), username, parse_role(role)
        )
    typer.echo(f"User {user.username} is now {user.role.value}.")


@users_app.command("token")
@fails_cleanly
def users_token(
    username: Annotated[str, typer.Argument(help="Whose token: it acts with their role.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    data_dir: DataDir = None,
) -> None:
    """Create a personal API token (shown once; only its hash is kept).

    Example: chatproof users token maria --name crm-sync
    """
    from chatproof.services.accounts import create_api_token

    with components_for(data_dir) as components:
        token = create_api_token(components.writer, actor(), datetime.now(UTC), username, name)
    typer.echo(f"API token for {username.strip().lower()} (shown once): {token}")


def first_admin(components: Any) -> str:
    """Create the user ``admin`` in a fresh installation; return its one-time password."""
    from chatproof.domain.accounts import Role
    from chatproof.services.accounts import add_user

    _, password = add_user(
        components.writer, actor(), datetime.now(UTC), username="admin", role=Role.ADMIN
    )
    return password


DEMO_USERS = (
    ("lena", "Lena Vogt", "supervisor"),
    ("maria", "Maria Schulz", "agent"),
    ("jonas", "Jonas Becker", "agent"),
)


def demo_logins(components: Any) -> list[tuple[str, str, str]]:
    """The demo's team, with a fresh password each run: (username, role, password)."""
    from chatproof.domain.accounts import parse_role
    from chatproof.services.accounts import (
        AccountProblem,
        add_user,
        find_user,
        one_time_password,
        set_password,
    )

    logins = []
    now = datetime.now(UTC)
    for username, name, role in DEMO_USERS:
        password = one_time_password()
        try:
            find_user(components.reader, username)
        except AccountProblem:
            add_user(
                components.writer,
                actor(),
                now,
                username=username,
                role=parse_role(role),
                display_name=name,
                password=password,
            )
        else:
            set_password(components.writer, actor(), now, username, password)
        logins.append((username, role, password))
    return logins
