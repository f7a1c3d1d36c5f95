"""Accounts: creating and changing users, signing in, sessions and API tokens.

Every change of a user or role is a log entry naming who changed what, with the state before
and after (issue 5, DESIGN invariant 2). Roles and flags are stated in the entry; usernames
and display names, being personal data of staff, are in its sealed content only (invariant 3).
Secrets are never stored in clear: passwords as argon2 hashes, tokens as SHA-256, the TOTP
secret encrypted under a key derived from the master key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive.keyfiles import derive_key
from chatproof.archive.log import append
from chatproof.domain.accounts import (
    TOTP_REQUIRED,
    AccountError,
    Principal,
    Role,
    User,
    after_failed_login,
    check_language,
    check_password,
    check_username,
)
from chatproof.services.errors import ServiceError
from chatproof.store import UnitOfWork
from chatproof.store.users import WebSession

SESSION_LIFETIME = timedelta(hours=12)
PENDING_LIFETIME = timedelta(minutes=10)
TOKEN_PREFIX = "cpt_"
TOTP_ISSUER = "chatproof"

UowFactory = Callable[[], UnitOfWork]


class AccountProblem(ServiceError):
    """A user to change does not exist or the change is not possible (names the user)."""


class Stage(StrEnum):
    """How far a browser session has got: password checked, then TOTP, then in."""

    TOTP = "totp"
    ENROL = "enrol"
    FULL = "full"


@dataclass(frozen=True)
class AccountKeys:
    """Keys for sealing TOTP secrets and signing session cookies, derived from the master key
    so that the data directory holds no further secret."""

    totp: bytes = field(repr=False)
    sessions: bytes = field(repr=False)

    @classmethod
    def from_master(cls, master_key: bytes) -> AccountKeys:
        return cls(derive_key(master_key, "accounts/totp"), derive_key(master_key, "sessions"))


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


# --- administration ---------------------------------------------------------------------


def add_user(
    uow_factory: UowFactory,
    actor: str,
    now: datetime,
    *,
    username: str,
    role: Role,
    display_name: str = "",
    language: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user; return it with its password. Without ``password`` a one-time password
    is generated that must be changed at the first sign-in.

    Raises:
        AccountError: a field is not acceptable (named) or the username is taken.
    """
    name = check_username(username)
    initial = check_password(password) if password is not None else one_time_password()
    values = {
        "subject_id": str(uuid.uuid4()),
        "username": name,
        "display_name": (display_name or name).strip()[:200],
        "role": role.value,
        "language": check_language(language),
        "password_hash": hash_password(initial),
        "must_change_password": 1 if password is None else 0,
        "created_at": now,
        "updated_at": now,
    }
    with uow_factory() as uow:
        if uow.users.by_username(name) is not None:
            raise AccountError("username", f"{name!r} is already taken")
        user = uow.users.add(values)
        _archive_change(uow, now, actor, "account.created", None, user)
        uow.commit()
    return user, initial


def list_users(uow_factory: UowFactory) -> list[User]:
    with uow_factory() as uow:
        return uow.users.all()


def find_user(uow_factory: UowFactory, username: str) -> User:
    """Raises AccountProblem when there is no such user."""
    with uow_factory() as uow:
        return _by_name(uow, username)


def has_users(uow_factory: UowFactory) -> bool:
    with uow_factory() as uow:
        return uow.users.count() > 0


def set_disabled(
    uow_factory: UowFactory, actor: str, now: datetime, username: str, disabled: bool
) -> User:
    """Disable (or enable again) a user; disabling ends their sessions and API tokens."""
    with uow_factory() as uow:
        before = _by_name(uow, username)
        after = uow.users.update(
            before.id, {"disabled_at": now if disabled else None, "updated_at": now}
        )
        if disabled:
            uow.users.revoke_sessions(before.id, now)
            uow.users.revoke_tokens(before.id, now)
        kind = "account.disabled" if disabled else "account.enabled"
        _archive_change(uow, now, actor, kind, before, after)
        uow.commit()
    return after


def reset_password(uow_factory: UowFactory, actor: str, now: datetime, username: str) -> str:
    """A new one-time password; the lockout is lifted and every session ends."""
    password = one_time_password()
    with uow_factory() as uow:
        before = _by_name(uow, username)
        after = uow.users.update(
            before.id,
            {
                "password_hash": hash_password(password),
                "must_change_password": 1,
                "failed_attempts": 0,
                "locked_until": None,
                "updated_at": now,
            },
        )
        uow.users.revoke_sessions(before.id, now)
        _archive_change(uow, now, actor, "account.password_reset", before, after)
        uow.commit()
    return password


def set_password(
    uow_factory: UowFactory, actor: str, now: datetime, username: str, password: str
) -> None:
    """Give a user a password chosen by an administrator (the demo's logins, say); it need not
    be changed at the next sign-in. Raises AccountError for a weak password."""
    check_password(password)
    with uow_factory() as uow:
        before = _by_name(uow, username)
        after = uow.users.update(
            before.id,
            {
                "password_hash": hash_password(password),
                "must_change_password": 0,
                "failed_attempts": 0,
                "locked_until": None,
                "updated_at": now,
            },
        )
        _archive_change(uow, now, actor, "account.password_set", before, after)
        uow.commit()


def change_role(
    uow_factory: UowFactory, actor: str, now: datetime, username: str, role: Role
) -> User:
    with uow_factory() as uow:
        before = _by_name(uow, username)
        after = uow.users.update(before.id, {"role": role.value, "updated_at": now})
        uow.users.revoke_sessions(before.id, now)
        _archive_change(uow, now, actor, "account.role_changed", before, after)
        uow.commit()
    return after


def set_language(
    uow_factory: UowFactory, actor: str, now: datetime, user_id: int, language: str
) -> User:
    with uow_factory() as uow:
        before = uow.users.get(user_id)
        after = uow.users.update(user_id, {"language": check_language(language), "updated_at": now})
        _archive_change(uow, now, actor, "account.language_changed", before, after)
        uow.commit()
    return after


def change_password(
    uow_factory: UowFactory, now: datetime, user: User, current: str, new: str
) -> None:
    """Raises AccountError naming the field that is wrong."""
    check_password(new)
    if new == current:
        raise AccountError("new_password", "must differ from the current password")
    with uow_factory() as uow:
        if not _password_matches(uow.users.credentials(user.id).password_hash, current):
            raise AccountError("current_password", "is not correct")
        after = uow.users.update(
            user.id,
            {"password_hash": hash_password(new), "must_change_password": 0, "updated_at": now},
        )
        _archive_change(uow, now, user.actor, "account.password_changed", user, after)
        uow.commit()


# --- signing in -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password check: a session token and the stage it is at, or a
    refusal in words that do not reveal whether the username exists."""

    token: str | None = None
    stage: Stage | None = None
    refusal: str = ""


REFUSED = "Username or password is not correct."
LOCKED = "Too many failed attempts; this account is locked for a while."


def sign_in(
    uow_factory: UowFactory, keys: AccountKeys, now: datetime, username: str, password: str
) -> SignIn:
    with uow_factory() as uow:
        user = uow.users.by_username(username.strip().lower())
        if user is None:
            _hasher.hash(password)  # the same time with or without such a user
            return SignIn(refusal=REFUSED)
        if user.locked(now):
            return SignIn(refusal=LOCKED)
        if user.disabled or not _password_matches(
            uow.users.credentials(user.id).password_hash, password
        ):
            lock = after_failed_login(user, now)
            uow.users.update(
                user.id,
                {"failed_attempts": lock.failed_attempts, "locked_until": lock.locked_until},
            )
            if lock.locked_until and not user.locked_until:
                _archive_change(uow, now, "system", "account.locked", user, uow.users.get(user.id))
            uow.commit()
            return SignIn(refusal=LOCKED if lock.locked_until else REFUSED)
        if user.failed_attempts or user.locked_until:
            uow.users.update(user.id, {"failed_attempts": 0, "locked_until": None})
        stage = Stage.FULL
        if user.totp_enabled:
            stage = Stage.TOTP
        elif user.role in TOTP_REQUIRED:
            stage = Stage.ENROL
        token = secrets.token_urlsafe(32)
        lifetime = SESSION_LIFETIME if stage is Stage.FULL else PENDING_LIFETIME
        uow.users.add_session(user.id, token_hash(token), stage.value, now, now + lifetime)
        uow.commit()
    return SignIn(token=token, stage=stage)


def session_for(uow_factory: UowFactory, now: datetime, token: str) -> WebSession | None:
    """The live session of a browser token, or None (expired, ended, or user disabled)."""
    with uow_factory() as uow:
        found = uow.users.session(token_hash(token), now)
    if found is None or found.user.disabled:
        return None
    return found


def sign_out(uow_factory: UowFactory, now: datetime, token: str) -> None:
    with uow_factory() as uow:
        uow.users.revoke_session(token_hash(token), now)
        uow.commit()


def confirm_totp(
    uow_factory: UowFactory, keys: AccountKeys, now: datetime, token: str, code: str
) -> bool:
    """Second step of signing in: a correct, not yet used code moves the session in. After
    a wrong code the failure counts towards the lockout like a wrong password."""
    with uow_factory() as uow:
        found = uow.users.session(token_hash(token), now)
        if found is None or found.stage != Stage.TOTP or found.user.locked(now):
            return False
        user = found.user
        creds = uow.users.credentials(user.id)
        counter = _totp_counter(keys, user, creds.totp_secret, code, now)
        if counter is None or (creds.totp_last_counter or -1) >= counter:
            lock = after_failed_login(user, now)
            uow.users.update(
                user.id,
                {"failed_attempts": lock.failed_attempts, "locked_until": lock.locked_until},
            )
            uow.commit()
            return False
        uow.users.update(user.id, {"totp_last_counter": counter, "failed_attempts": 0})
        uow.users.set_session_stage(found.id, Stage.FULL.value)
        uow.commit()
    return True


def start_totp_enrolment(
    uow_factory: UowFactory, keys: AccountKeys, now: datetime, user: User
) -> tuple[str, str]:
    """A fresh secret (not active until confirmed); returns it with its otpauth URI."""
    secret = pyotp.random_base32()
    with uow_factory() as uow:
        uow.users.update(user.id, {"totp_secret": _seal(keys, user, secret), "updated_at": now})
        uow.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    return secret, uri


def finish_totp_enrolment(
    uow_factory: UowFactory,
    keys: AccountKeys,
    now: datetime,
    user: User,
    code: str,
    session_token: str | None = None,
) -> bool:
    """Turn TOTP on once the person shows a code from the new secret; a pending sign-in
    session moves in."""
    with uow_factory() as uow:
        creds = uow.users.credentials(user.id)
        counter = _totp_counter(keys, user, creds.totp_secret, code, now)
        if counter is None:
            return False
        after = uow.users.update(
            user.id, {"totp_enabled": 1, "totp_last_counter": counter, "updated_at": now}
        )
        if session_token:
            found = uow.users.session(token_hash(session_token), now)
            if found is not None and found.user.id == user.id:
                uow.users.set_session_stage(found.id, Stage.FULL.value)
        _archive_change(uow, now, user.actor, "account.totp_enabled", user, after)
        uow.commit()
    return True


def enrol_totp_now(uow_factory: UowFactory, keys: AccountKeys, now: datetime, user: User) -> str:
    """Turn TOTP on for ``user`` in one step and return the secret (for the CLI and tests,
    where the person reads the secret off the terminal)."""
    secret, _ = start_totp_enrolment(uow_factory, keys, now, user)
    if not finish_totp_enrolment(uow_factory, keys, now, user, pyotp.TOTP(secret).at(now)):
        raise AccountProblem(f"user {user.username!r}: TOTP enrolment failed")
    return secret


def _totp_counter(
    keys: AccountKeys, user: User, sealed: bytes | None, code: str, now: datetime
) -> int | None:
    """The time step ``code`` belongs to (now or one step either side), or None."""
    if not sealed or not code.strip().isdigit():
        return None
    totp = pyotp.TOTP(_unseal(keys, user, sealed))
    step = int(now.timestamp()) // totp.interval
    for counter in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code.strip()):
            return counter
    return None


def _seal(keys: AccountKeys, user: User, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(keys.totp).encrypt(nonce, secret.encode(), user.subject_id.encode())


def _unseal(keys: AccountKeys, user: User, sealed: bytes) -> str:
    return AESGCM(keys.totp).decrypt(sealed[:12], sealed[12:], user.subject_id.encode()).decode()


# --- API tokens -------------------------------------------------------------------------


def create_api_token(
    uow_factory: UowFactory, actor: str, now: datetime, username: str, name: str
) -> str:
    """A new API token for ``username``, shown once; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow_factory() as uow:
        user = _by_name(uow, username)
        uow.users.add_token(user.id, name.strip()[:100] or "api", token_hash(token), now)
        _archive_change(uow, now, actor, "account.token_created", user, user)
        uow.commit()
    return token


def principal_for_token(uow_factory: UowFactory, now: datetime, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with uow_factory() as uow:
        user = uow.users.user_for_token(token_hash(token), now)
        uow.commit()
    if user is None or user.disabled:
        return None
    return Principal(user.actor, user)


# --- cookies and CSRF -------------------------------------------------------------------


def sign_cookie(keys: AccountKeys, token: str) -> str:
    return f"{token}.{_mac(keys, 'cookie', token)}"


def unsign_cookie(keys: AccountKeys, value: str) -> str | None:
    token, _, mac = value.rpartition(".")
    if not token or not hmac.compare_digest(mac, _mac(keys, "cookie", token)):
        return None
    return token


def csrf_token(keys: AccountKeys, session_token: str) -> str:
    """Bound to the session, so a page of one session cannot act for another."""
    return _mac(keys, "csrf", session_token)


def csrf_valid(keys: AccountKeys, session_token: str, offered: str) -> bool:
    return bool(offered) and hmac.compare_digest(offered, csrf_token(keys, session_token))


def _mac(keys: AccountKeys, purpose: str, value: str) -> str:
    digest = hmac.new(keys.sessions, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- helpers ----------------------------------------------------------------------------


def _by_name(uow: UnitOfWork, username: str) -> User:
    user = uow.users.by_username(username.strip().lower())
    if user is None:
        raise AccountProblem(f"user {username!r} does not exist")
    return user


def _public(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "role": user.role.value,
        "language": user.language,
        "disabled": user.disabled,
        "totp_enabled": user.totp_enabled,
        "must_change_password": user.must_change_password,
        "locked": user.locked_until is not None,
    }


def _personal(user: User | None) -> dict[str, str] | None:
    return None if user is None else {"username": user.username, "display_name": user.display_name}


def _archive_change(
    uow: UnitOfWork, now: datetime, actor: str, kind: str, before: User | None, after: User
) -> None:
    """One log entry per change: roles and flags before and after in the attributes, names
    sealed under the user's own subject id."""
    content = json.dumps(
        {"before": _personal(before), "after": _personal(after)}, ensure_ascii=False
    ).encode()
    entry = uow.personal.entry(
        kind,
        after.subject_id,
        now,
        content=uow.personal.seal_bytes(after.subject_id, content, now),
        actor=actor,
        user_id=after.id,
        before=_public(before),
        after=_public(after),
    )
    append(uow.log, [entry], now)
