"""Accounts on both backends: every change archived with before and after, passwords and
tokens only as hashes, sign-in with lockout, TOTP with replay protection, sessions."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from chatproof.domain.accounts import LOCKOUT, MAX_FAILED_ATTEMPTS, AccountError, Role
from chatproof.services import accounts
from chatproof.services.accounts import AccountKeys, AccountProblem, Stage
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from tests.support.databases import unseal

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KEYS = AccountKeys.from_master(bytes(range(32)))
PASSWORD = "correct horse battery"

Factory = Callable[[], UnitOfWork]


def entries(uow_factory: Factory, kind: str) -> list[dict]:
    with uow_factory() as uow:
        leaves = uow.log.conn.execute(  # type: ignore[attr-defined]
            select(t.log_entries.c.leaf).where(t.log_entries.c.kind == kind)
        ).scalars()
        return [json.loads(leaf) for leaf in leaves]


def add(uow_factory: Factory, name: str = "maria", role: Role = Role.AGENT, **kw: object):
    return accounts.add_user(
        uow_factory, "cli:root", NOW, username=name, role=role, password=PASSWORD, **kw
    )[0]


def test_a_new_user_is_archived_without_their_name_in_clear(uow_factory: Factory) -> None:
    user = add(uow_factory, display_name="Maria Schulz")
    (entry,) = entries(uow_factory, "account.created")
    assert entry["attributes"]["actor"] == "cli:root"
    assert entry["attributes"]["after"]["role"] == "agent"
    assert "before" not in entry["attributes"]
    assert "Maria" not in json.dumps(entry) and "maria" not in json.dumps(entry)
    assert entry["subject"] == user.subject_id


def test_passwords_are_stored_as_argon2_hashes(uow_factory: Factory) -> None:
    add(uow_factory)
    with uow_factory() as uow:
        stored = uow.users.credentials(uow.users.by_username("maria").id).password_hash  # type: ignore[union-attr]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_generated_password_must_be_changed(uow_factory: Factory) -> None:
    user, password = accounts.add_user(uow_factory, "cli:root", NOW, username="jo", role=Role.AGENT)
    assert user.must_change_password and len(password) >= 12
    accounts.change_password(uow_factory, NOW, user, password, "a much better one")
    assert not accounts.find_user(uow_factory, "jo").must_change_password
    with pytest.raises(AccountError, match="current_password"):
        accounts.change_password(uow_factory, NOW, user, "wrong", "another good one!")


def test_duplicate_usernames_are_refused(uow_factory: Factory) -> None:
    add(uow_factory)
    with pytest.raises(AccountError, match="username: 'maria' is already taken"):
        add(uow_factory, "Maria")


def test_a_role_change_is_archived_with_before_and_after(uow_factory: Factory) -> None:
    add(uow_factory)
    accounts.change_role(uow_factory, "user:admin", NOW, "maria", Role.SUPERVISOR)
    (entry,) = entries(uow_factory, "account.role_changed")
    attributes = entry["attributes"]
    assert (attributes["before"]["role"], attributes["after"]["role"]) == ("agent", "supervisor")
    assert attributes["actor"] == "user:admin"
    with uow_factory() as uow:
        content = json.loads(unseal(uow, base64.b64decode(entry["content"])))
    assert content["after"]["username"] == "maria"


def test_sign_in_with_the_right_password(uow_factory: Factory) -> None:
    add(uow_factory)
    outcome = accounts.sign_in(uow_factory, KEYS, NOW, "Maria", PASSWORD)
    assert outcome.stage is Stage.FULL and outcome.token
    session = accounts.session_for(uow_factory, NOW, outcome.token)
    assert session is not None and session.user.username == "maria"
    accounts.sign_out(uow_factory, NOW, outcome.token)
    assert accounts.session_for(uow_factory, NOW, outcome.token) is None


def test_unknown_users_and_wrong_passwords_get_the_same_answer(uow_factory: Factory) -> None:
    add(uow_factory)
    unknown = accounts.sign_in(uow_factory, KEYS, NOW, "nobody", PASSWORD)
    wrong = accounts.sign_in(uow_factory, KEYS, NOW, "maria", "not it at all")
    assert unknown.refusal == wrong.refusal == accounts.REFUSED
    assert unknown.token is None and wrong.token is None


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    uow_factory: Factory,
) -> None:
    add(uow_factory)
    for _ in range(MAX_FAILED_ATTEMPTS):
        accounts.sign_in(uow_factory, KEYS, NOW, "maria", "not it at all")
    assert accounts.sign_in(uow_factory, KEYS, NOW, "maria", PASSWORD).refusal == accounts.LOCKED
    assert len(entries(uow_factory, "account.locked")) == 1
    later = NOW + LOCKOUT + timedelta(seconds=1)
    assert accounts.sign_in(uow_factory, KEYS, later, "maria", PASSWORD).token


def test_reset_password_lifts_the_lock_and_ends_sessions(uow_factory: Factory) -> None:
    add(uow_factory)
    token = accounts.sign_in(uow_factory, KEYS, NOW, "maria", PASSWORD).token
    assert token
    for _ in range(MAX_FAILED_ATTEMPTS):
        accounts.sign_in(uow_factory, KEYS, NOW, "maria", "not it at all")
    fresh = accounts.reset_password(uow_factory, "cli:root", NOW, "maria")
    assert accounts.session_for(uow_factory, NOW, token) is None
    assert accounts.sign_in(uow_factory, KEYS, NOW, "maria", fresh).token
    assert len(entries(uow_factory, "account.password_reset")) == 1


def test_disabled_users_cannot_sign_in_and_lose_sessions_and_tokens(uow_factory: Factory) -> None:
    add(uow_factory)
    session = accounts.sign_in(uow_factory, KEYS, NOW, "maria", PASSWORD).token
    api = accounts.create_api_token(uow_factory, "cli:root", NOW, "maria", "crm")
    assert accounts.principal_for_token(uow_factory, NOW, api) is not None
    accounts.set_disabled(uow_factory, "cli:root", NOW, "maria", True)
    assert accounts.session_for(uow_factory, NOW, session or "") is None
    assert accounts.principal_for_token(uow_factory, NOW, api) is None
    assert accounts.sign_in(uow_factory, KEYS, NOW, "maria", PASSWORD).token is None
    with pytest.raises(AccountProblem, match="'nobody' does not exist"):
        accounts.set_disabled(uow_factory, "cli:root", NOW, "nobody", True)


def test_api_tokens_are_stored_as_hashes_and_act_with_the_users_role(
    uow_factory: Factory,
) -> None:
    add(uow_factory, role=Role.SUPERVISOR)
    token = accounts.create_api_token(uow_factory, "cli:root", NOW, "maria", "crm")
    with uow_factory() as uow:
        stored = uow.log.conn.execute(select(t.api_tokens.c.token_hash)).scalar_one()  # type: ignore[attr-defined]
    assert token not in stored and stored == accounts.token_hash(token)
    principal = accounts.principal_for_token(uow_factory, NOW, token)
    assert principal is not None and principal.actor == "user:maria"
    assert principal.user is not None and principal.user.role is Role.SUPERVISOR
    assert accounts.principal_for_token(uow_factory, NOW, token + "x") is None


def test_roles_that_require_totp_enrol_before_they_are_in(uow_factory: Factory) -> None:
    user = add(uow_factory, "boss", Role.ADMIN)
    outcome = accounts.sign_in(uow_factory, KEYS, NOW, "boss", PASSWORD)
    assert outcome.stage is Stage.ENROL and outcome.token
    secret, uri = accounts.start_totp_enrolment(uow_factory, KEYS, NOW, user)
    assert uri.startswith("otpauth://totp/") and secret in uri
    assert not accounts.finish_totp_enrolment(uow_factory, KEYS, NOW, user, "000000")
    code = pyotp.TOTP(secret).at(NOW)
    assert accounts.finish_totp_enrolment(uow_factory, KEYS, NOW, user, code, outcome.token)
    session = accounts.session_for(uow_factory, NOW, outcome.token)
    assert session is not None and session.stage == Stage.FULL
    with uow_factory() as uow:
        sealed = uow.users.credentials(user.id).totp_secret
    assert sealed and secret.encode() not in sealed


def test_a_totp_code_works_once(uow_factory: Factory) -> None:
    user = add(uow_factory, "audit", Role.AUDITOR)
    secret = accounts.enrol_totp_now(uow_factory, KEYS, NOW, user)
    later = NOW + timedelta(seconds=60)
    first = accounts.sign_in(uow_factory, KEYS, later, "audit", PASSWORD)
    assert first.stage is Stage.TOTP and first.token
    code = pyotp.TOTP(secret).at(later)
    assert not accounts.confirm_totp(uow_factory, KEYS, later, first.token, "123")
    assert accounts.confirm_totp(uow_factory, KEYS, later, first.token, code)
    second = accounts.sign_in(uow_factory, KEYS, later, "audit", PASSWORD)
    assert second.token
    assert not accounts.confirm_totp(uow_factory, KEYS, later, second.token, code)


def test_cookies_and_csrf_tokens_are_bound_to_their_key_and_session() -> None:
    cookie = accounts.sign_cookie(KEYS, "abc")
    assert accounts.unsign_cookie(KEYS, cookie) == "abc"
    assert accounts.unsign_cookie(KEYS, "abd" + cookie[3:]) is None
    other = AccountKeys.from_master(bytes(32))
    assert accounts.unsign_cookie(other, cookie) is None
    csrf = accounts.csrf_token(KEYS, "abc")
    assert accounts.csrf_valid(KEYS, "abc", csrf)
    assert not accounts.csrf_valid(KEYS, "abd", csrf) and not accounts.csrf_valid(KEYS, "abc", "")
