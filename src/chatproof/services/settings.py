"""Operational settings an admin changes in the browser or on the command line: business hours
per weekday, the holiday state, closing days, and the greeting, away and privacy texts.

chatproof.toml holds the defaults; a value stored here wins over the file. Every change is a
log entry in the same transaction, naming who changed which setting when, with the value in
force before and after (issue 5, DESIGN invariant 2). Like quick replies, these are the
business's own texts and schedules, so the entry holds them in clear. Saves are optimistic:
the caller names the version it read, and a change made in between is a conflict, never
silently overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.accounts import Permission, Principal
from chatproof.domain.operational_settings import (
    KEYS,
    SettingError,
    validate,
)
from chatproof.services.access import ACCESS_CLASS
from chatproof.services.errors import ServiceError
from chatproof.services.inbox import NotAllowed
from chatproof.store import UnitOfWork
from chatproof.store.settings import StoredSetting

UowFactory = Callable[[], UnitOfWork]

CHANGED = "settings.changed"
HISTORY_KINDS = (
    CHANGED,
    "settings.quick_reply_saved",
    "settings.quick_reply_deleted",
    "templates.submitted",
    "templates.synced",
)


class StaleSetting(ServiceError):
    """Someone changed the setting after the caller read it."""

    def __init__(self, key: str, expected: int, current: StoredSetting | None) -> None:
        self.key = key
        self.expected = expected
        self.current = current
        who = (
            f" by {current.changed_by} at {current.changed_at:%Y-%m-%d %H:%M} UTC"
            if current
            else ""
        )
        super().__init__(
            f"{key}: was changed{who} after you opened it (version "
            f"{current.version if current else 0}, you read {expected}); reload and try again"
        )


@dataclass(frozen=True, slots=True)
class Setting:
    """A setting as it is in force: ``source`` is ``stored`` when the database's value wins,
    else ``file``; ``version`` is what a save must name."""

    key: str
    value: Any
    source: str
    version: int
    changed_by: str = ""
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    before: Any
    after: Any
    version: int
    log_index: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    index: int
    kind: str
    at: datetime | None
    actor: str
    key: str
    before: Any
    after: Any


# --- reading -----------------------------------------------------------------------------


def revision(reader: UowFactory) -> int:
    """Grows with every change; cheap enough to ask every few seconds."""
    with reader() as uow:
        return uow.settings.revision()


def overrides(reader: UowFactory) -> tuple[int, dict[str, Any]]:
    """The revision and the stored values that win over the file, read together."""
    with reader() as uow:
        stored = uow.settings.all()
        return uow.settings.revision(), {
            k: s.value for k, s in stored.items() if k in KEYS and s.value is not None
        }


def effective(reader: UowFactory, defaults: Mapping[str, Any]) -> dict[str, Setting]:
    """Every setting in force, in the order of ``KEYS``; ``defaults`` are the file's values."""
    with reader() as uow:
        stored = uow.settings.all()
    return {key: _in_force(key, stored.get(key), defaults) for key in KEYS}


def _in_force(key: str, stored: StoredSetting | None, defaults: Mapping[str, Any]) -> Setting:
    if stored is None:
        return Setting(key, _plain(defaults.get(key)), "file", 0)
    if stored.value is None:
        return Setting(
            key,
            _plain(defaults.get(key)),
            "file",
            stored.version,
            stored.changed_by,
            stored.changed_at,
        )
    return Setting(
        key, stored.value, "stored", stored.version, stored.changed_by, stored.changed_at
    )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# --- changing ----------------------------------------------------------------------------


def change(
    writer: UowFactory,
    principal: Principal,
    now: datetime,
    key: str,
    value: Any,
    *,
    expected_version: int | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Change | None:
    """Store one setting (None: back to the file's value) and its log entry together.
    Returns None when the value in force does not change.

    Raises:
        NotAllowed: the principal may not change settings.
        SettingError: the value is not acceptable (names the key); nothing is written.
        StaleSetting: ``expected_version`` is not the stored version any more.
    """
    expected = None if expected_version is None else {key: expected_version}
    done = change_many(writer, principal, now, {key: value}, expected=expected, defaults=defaults)
    return done[0] if done else None


def change_many(
    writer: UowFactory,
    principal: Principal,
    now: datetime,
    values: Mapping[str, Any],
    *,
    expected: Mapping[str, int] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Change]:
    """Store several settings in one transaction, one log entry each; a key whose value in
    force stays the same is left alone (and cannot conflict). All or nothing.

    Raises:
        NotAllowed, SettingError, StaleSetting: as ``change``.
    """
    if not principal.may(Permission.SETTINGS):
        raise NotAllowed(f"{principal.actor} may not change settings")
    checked = {key: validate(key, value) for key, value in values.items()}
    files = defaults or {}
    done: list[Change] = []
    with writer() as uow:
        drafts = []
        for key, value in checked.items():
            stored = uow.settings.get(key, for_update=True)
            before = _in_force(key, stored, files)
            after = _plain(files.get(key)) if value is None else value
            resets = value is None and before.source == "stored"
            if _same(_normal(key, before.value), after) and not resets:
                continue
            version = stored.version if stored is not None else 0
            if expected is not None and key in expected and expected[key] != version:
                raise StaleSetting(key, expected[key], stored)
            if not uow.settings.put(key, value, version + 1, principal.actor, now):
                raise StaleSetting(key, version, uow.settings.get(key))
            drafts.append(_entry(uow, now, principal, key, before, after, value, version + 1))
            done.append(Change(key, before.value, after, version + 1, -1))
        if not drafts:
            return []
        indexes = append(uow.log, drafts, now)
        uow.commit()
    return [
        Change(c.key, c.before, c.after, c.version, index)
        for c, index in zip(done, indexes, strict=True)
    ]


def _normal(key: str, value: Any) -> Any:
    """A value from the file in the form a save would store it (``by`` → ``BY``), so that
    saving a form nobody changed changes nothing."""
    try:
        return validate(key, value)
    except SettingError:
        return value


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _entry(
    uow: UnitOfWork,
    now: datetime,
    principal: Principal,
    key: str,
    before: Setting,
    after: Any,
    stored: Any,
    version: int,
) -> EntryDraft:
    return EntryDraft(
        kind=CHANGED,
        at=now,
        retention_class=ACCESS_CLASS,
        start_year=start_year_for(now, uow.personal.sealer.tz),
        attributes={
            "actor": principal.actor,
            "key": key,
            "before": _loggable(before.value),
            "before_source": before.source,
            "after": _loggable(after),
            "after_source": "file" if stored is None else "stored",
            "version": version,
        },
    )


def _loggable(value: Any) -> Any:
    """Log entries hold no floating-point numbers (RFC 8785): the interval goes in as text."""
    if isinstance(value, float):
        return f"{value:g}"
    return value


# --- history -----------------------------------------------------------------------------


def history(reader: UowFactory, limit: int = 50) -> list[HistoryRow]:
    """The latest changes of settings, quick replies and templates, newest first, from the
    log itself (what is shown is what is archived)."""
    with reader() as uow:
        found = uow.settings.recent_entries(HISTORY_KINDS, limit)
    rows = []
    for index, leaf in found:
        doc = json.loads(leaf)
        a = doc.get("attributes", {})
        kind = doc.get("kind", "")
        key, before, after = a.get("key") or a.get("name") or "", a.get("before"), a.get("after")
        if kind == "templates.synced":
            key, after = "templates", ", ".join(a.get("templates", []))
        elif kind == "templates.submitted":
            key = f"{a.get('name', '')}/{a.get('language', '')}"
            after = f"{a.get('category', '')}: {a.get('text', '')} → {a.get('status', '')}"
        at, actor = _moment(doc.get("time")), a.get("actor", "")
        rows.append(HistoryRow(index, kind, at, actor, key, before, after))
    return rows


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
