"""Accounts, their API tokens and their browser sessions.

Only hashes of secrets are stored: argon2 for passwords, SHA-256 for tokens (256 random bits
need no slow hash). The TOTP secret arrives here already sealed by the caller.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from chatproof.domain.accounts import Role, User
from chatproof.store import tables as t
from chatproof.store.errors import NotFound


@dataclass(frozen=True, slots=True)
class Credentials:
    password_hash: str
    totp_secret: bytes | None
    totp_last_counter: int | None


@dataclass(frozen=True, slots=True)
class WebSession:
    id: int
    user: User
    stage: str
    expires_at: datetime


class UserRepository(ABC):
    """Contract: ``by_username`` MUST match the stored (lower-case) name exactly; tokens and
    sessions MUST be found by hash only while neither revoked nor expired."""

    @abstractmethod
    def add(self, values: dict[str, Any]) -> User: ...

    @abstractmethod
    def get(self, user_id: int) -> User:
        """Raises NotFound."""

    @abstractmethod
    def by_username(self, username: str) -> User | None: ...

    @abstractmethod
    def all(self) -> list[User]: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def update(self, user_id: int, values: dict[str, Any]) -> User: ...

    @abstractmethod
    def credentials(self, user_id: int) -> Credentials: ...

    @abstractmethod
    def add_token(self, user_id: int, name: str, token_hash: str, at: datetime) -> int: ...

    @abstractmethod
    def user_for_token(self, token_hash: str, at: datetime) -> User | None: ...

    @abstractmethod
    def revoke_tokens(self, user_id: int, at: datetime) -> None: ...

    @abstractmethod
    def add_session(
        self, user_id: int, token_hash: str, stage: str, at: datetime, expires_at: datetime
    ) -> None: ...

    @abstractmethod
    def session(self, token_hash: str, at: datetime) -> WebSession | None: ...

    @abstractmethod
    def set_session_stage(self, session_id: int, stage: str) -> None: ...

    @abstractmethod
    def revoke_session(self, token_hash: str, at: datetime) -> None: ...

    @abstractmethod
    def revoke_sessions(self, user_id: int, at: datetime) -> None: ...


class SqlAlchemyUserRepository(UserRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> User:
        result = self.conn.execute(t.users.insert().values(**values))
        return self.get(result.inserted_primary_key[0])  # type: ignore[index]

    def get(self, user_id: int) -> User:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        if row is None:
            raise NotFound("user", user_id)
        return _user(row)

    def by_username(self, username: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.username == username)).first()
        return _user(row) if row else None

    def all(self) -> list[User]:
        rows = self.conn.execute(select(t.users).order_by(t.users.c.username))
        return [_user(row) for row in rows]

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(t.users)).scalar_one()

    def update(self, user_id: int, values: dict[str, Any]) -> User:
        self.conn.execute(t.users.update().where(t.users.c.id == user_id).values(**values))
        return self.get(user_id)

    def credentials(self, user_id: int) -> Credentials:
        u = t.users.c
        row = self.conn.execute(
            select(u.password_hash, u.totp_secret, u.totp_last_counter).where(u.id == user_id)
        ).first()
        if row is None:
            raise NotFound("user", user_id)
        return Credentials(row.password_hash, row.totp_secret, row.totp_last_counter)

    def add_token(self, user_id: int, name: str, token_hash: str, at: datetime) -> int:
        result = self.conn.execute(
            t.api_tokens.insert().values(
                user_id=user_id, name=name, token_hash=token_hash, created_at=at
            )
        )
        return result.inserted_primary_key[0]  # type: ignore[index]

    def user_for_token(self, token_hash: str, at: datetime) -> User | None:
        k = t.api_tokens.c
        row = self.conn.execute(
            select(k.id, k.user_id).where(k.token_hash == token_hash, k.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        self.conn.execute(t.api_tokens.update().where(k.id == row.id).values(last_used_at=at))
        return self.get(row.user_id)

    def revoke_tokens(self, user_id: int, at: datetime) -> None:
        k = t.api_tokens.c
        self.conn.execute(
            t.api_tokens.update()
            .where(k.user_id == user_id, k.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def add_session(
        self, user_id: int, token_hash: str, stage: str, at: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            t.web_sessions.insert().values(
                user_id=user_id,
                token_hash=token_hash,
                stage=stage,
                created_at=at,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: str, at: datetime) -> WebSession | None:
        s = t.web_sessions.c
        row = self.conn.execute(
            select(s.id, s.user_id, s.stage, s.expires_at).where(
                s.token_hash == token_hash, s.revoked_at.is_(None), s.expires_at > at
            )
        ).first()
        if row is None:
            return None
        return WebSession(row.id, self.get(row.user_id), row.stage, row.expires_at)

    def set_session_stage(self, session_id: int, stage: str) -> None:
        s = t.web_sessions.c
        self.conn.execute(t.web_sessions.update().where(s.id == session_id).values(stage=stage))

    def revoke_session(self, token_hash: str, at: datetime) -> None:
        s = t.web_sessions.c
        self.conn.execute(
            t.web_sessions.update().where(s.token_hash == token_hash).values(revoked_at=at)
        )

    def revoke_sessions(self, user_id: int, at: datetime) -> None:
        s = t.web_sessions.c
        self.conn.execute(
            t.web_sessions.update()
            .where(s.user_id == user_id, s.revoked_at.is_(None))
            .values(revoked_at=at)
        )


def _user(row: Row) -> User:
    return User(
        id=row.id,
        subject_id=row.subject_id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        language=row.language,
        created_at=row.created_at,
        disabled=row.disabled_at is not None,
        totp_enabled=bool(row.totp_enabled),
        must_change_password=bool(row.must_change_password),
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
    )
