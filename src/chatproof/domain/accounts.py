"""People who use the inbox, their roles, and what each role may do.

One permission table decides every route, page and API call on the server (issue 5); hiding a
link is never the check. Lockout after repeated failed logins and the rules for usernames and
passwords live here too, as pure functions of their inputs and the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chatproof.domain.errors import DomainError

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(DomainError):
    """A username, role, password or language was not acceptable; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    DPO = "dpo"
    AUDITOR = "auditor"


class Permission(StrEnum):
    READ_OWN = "conversations.read_own"
    """Conversations assigned to oneself or to nobody."""
    READ_ALL = "conversations.read_all"
    REPLY = "conversations.reply"
    ORGANISE = "conversations.organise"
    """Labels, internal notes, closing and reopening, taking an unassigned conversation."""
    ASSIGN = "conversations.assign"
    """Assigning a conversation to anyone."""
    FULL_NUMBER = "contacts.full_number"
    CHANGE_RETENTION = "retention.change"
    STATISTICS = "statistics.read"
    SETTINGS = "settings.manage"
    USERS = "users.manage"
    CONSENTS = "consents.manage"
    ACCESS_LOG = "access_log.read"
    REQUESTS = "requests.manage"
    """Data-subject requests: the register, access reports, erasure and restriction."""
    ARCHIVE = "archive.read"
    QUARANTINE = "quarantine.manage"


P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({P.USERS, P.SETTINGS, P.STATISTICS, P.QUARANTINE}),
    Role.SUPERVISOR: frozenset(
        {
            P.READ_OWN,
            P.READ_ALL,
            P.REPLY,
            P.ORGANISE,
            P.ASSIGN,
            P.FULL_NUMBER,
            P.CHANGE_RETENTION,
            P.STATISTICS,
        }
    ),
    Role.AGENT: frozenset({P.READ_OWN, P.REPLY, P.ORGANISE}),
    Role.DPO: frozenset(
        {P.READ_OWN, P.READ_ALL, P.FULL_NUMBER, P.CONSENTS, P.ACCESS_LOG, P.REQUESTS}
    ),
    Role.AUDITOR: frozenset({P.ARCHIVE, P.ACCESS_LOG, P.STATISTICS}),
}
"""What each role may do. An auditor reads the archive only through the audit workspace,
limited to the audit period and the tax-relevant classes, and changes nothing; an admin runs
the installation but does not read customers' conversations."""

TOTP_REQUIRED = frozenset({Role.ADMIN, Role.DPO, Role.AUDITOR})
"""Roles that may not sign in with a password alone."""


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AccountError("role", f"{value!r} is not one of {allowed}") from None


def check_username(value: str) -> str:
    name = value.strip().lower()
    if not _USERNAME.match(name):
        raise AccountError(
            "username",
            f"{value!r} must be 2-64 characters: a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return name


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    return value


def check_language(value: str) -> str:
    """A language the inbox speaks, or "" to follow the browser."""
    language = value.strip().lower()
    if language and language not in LANGUAGES:
        raise AccountError("language", f"{value!r} is not one of {', '.join(LANGUAGES)}")
    return language


@dataclass(frozen=True, slots=True)
class User:
    id: int
    subject_id: str
    username: str
    display_name: str
    role: Role
    language: str
    created_at: datetime
    disabled: bool = False
    totp_enabled: bool = False
    must_change_password: bool = False
    failed_attempts: int = 0
    locked_until: datetime | None = None

    @property
    def actor(self) -> str:
        """How this person is named in the access log and archive entries."""
        return f"user:{self.username}"

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    @property
    def needs_totp(self) -> bool:
        return self.totp_enabled or self.role in TOTP_REQUIRED


@dataclass(frozen=True, slots=True)
class Lockout:
    failed_attempts: int
    locked_until: datetime | None


def after_failed_login(user: User, now: datetime) -> Lockout:
    """Count one more failure; the fifth in a row locks the account for a while, and the
    count starts again once the lock has run out."""
    attempts = 1 if user.locked_until and now >= user.locked_until else user.failed_attempts + 1
    if attempts >= MAX_FAILED_ATTEMPTS:
        return Lockout(attempts, now + LOCKOUT)
    return Lockout(attempts, None)


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever makes a request: a signed-in person, a person's API token, or the installation's
    configured API token (``user`` None), which may do everything the API offers."""

    actor: str
    user: User | None = None

    def may(self, permission: Permission) -> bool:
        return self.user is None or permission in PERMISSIONS[self.user.role]

    def may_see(self, assignee_id: int | None) -> bool:
        """Agents see what is theirs or nobody's; roles that read all see everything."""
        if self.may(Permission.READ_ALL):
            return True
        if not self.may(Permission.READ_OWN) or self.user is None:
            return False
        return assignee_id is None or assignee_id == self.user.id
