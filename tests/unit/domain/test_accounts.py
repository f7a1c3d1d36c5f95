"""Roles and what they may do, lockout after repeated failures, and the account field rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatproof.domain.accounts import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    PERMISSIONS,
    TOTP_REQUIRED,
    AccountError,
    Permission,
    Principal,
    Role,
    User,
    after_failed_login,
    check_language,
    check_password,
    check_username,
    parse_role,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def user(role: Role = Role.AGENT, **changes: object) -> User:
    values: dict[str, object] = {
        "id": 7,
        "subject_id": "s-7",
        "username": "maria",
        "display_name": "Maria",
        "role": role,
        "language": "de",
        "created_at": NOW,
    }
    return User(**{**values, **changes})  # type: ignore[arg-type]


def test_every_role_has_an_entry_in_the_permission_table() -> None:
    assert set(PERMISSIONS) == set(Role)


def test_only_admins_manage_users_and_settings() -> None:
    for role in Role:
        may = Principal("x", user(role)).may(Permission.USERS)
        assert may is (role is Role.ADMIN)


def test_the_auditor_reads_the_archive_not_the_inbox_and_changes_nothing() -> None:
    auditor = Principal("x", user(Role.AUDITOR))
    assert auditor.may(Permission.ARCHIVE) and not auditor.may(Permission.READ_OWN)
    for change in (Permission.REPLY, Permission.ORGANISE, Permission.ASSIGN, Permission.USERS):
        assert not auditor.may(change)


def test_an_agent_sees_own_and_unassigned_conversations_only() -> None:
    agent = Principal("user:maria", user(Role.AGENT))
    assert agent.may_see(None) and agent.may_see(7)
    assert not agent.may_see(8)
    assert Principal("x", user(Role.SUPERVISOR)).may_see(8)
    assert not Principal("x", user(Role.ADMIN)).may_see(None)


def test_the_installation_token_may_do_everything() -> None:
    token = Principal("api-token")
    assert all(token.may(p) for p in Permission)


def test_totp_is_required_for_admin_dpo_and_auditor() -> None:
    assert {Role.ADMIN, Role.DPO, Role.AUDITOR} == TOTP_REQUIRED
    assert user(Role.AUDITOR).needs_totp and not user(Role.AGENT).needs_totp
    assert user(Role.AGENT, totp_enabled=True).needs_totp


def test_the_fifth_failure_in_a_row_locks_the_account() -> None:
    lock = after_failed_login(user(failed_attempts=MAX_FAILED_ATTEMPTS - 2), NOW)
    assert lock.failed_attempts == MAX_FAILED_ATTEMPTS - 1 and lock.locked_until is None
    lock = after_failed_login(user(failed_attempts=MAX_FAILED_ATTEMPTS - 1), NOW)
    assert lock.locked_until == NOW + LOCKOUT
    locked = user(failed_attempts=MAX_FAILED_ATTEMPTS, locked_until=NOW + LOCKOUT)
    assert locked.locked(NOW) and not locked.locked(NOW + LOCKOUT)


def test_counting_starts_again_after_the_lock_ran_out() -> None:
    expired = user(failed_attempts=MAX_FAILED_ATTEMPTS, locked_until=NOW - timedelta(seconds=1))
    assert after_failed_login(expired, NOW).failed_attempts == 1


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (check_username, "Maria Schulz", "username"),
        (check_username, "x", "username"),
        (check_password, "short", "password"),
        (check_language, "fr", "language"),
        (parse_role, "boss", "role"),
    ],
)
def test_bad_values_name_their_field(check: object, value: str, field: str) -> None:
    with pytest.raises(AccountError) as raised:
        check(value)  # type: ignore[operator]
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


def test_usernames_are_lower_case() -> None:
    assert check_username(" Maria.S ") == "maria.s"
    assert parse_role("Supervisor") is Role.SUPERVISOR
