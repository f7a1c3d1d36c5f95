"""The register of data-subject requests (GDPR Art. 12-21): recording, extending and closing a
request, restricting processing (Art. 18) and the objection to direct marketing (Art. 21).

Every step is a log entry naming the person only by pseudonymous id (DESIGN invariants 2, 3):
the DPO can prove when a request came in, how the deadline moved and when it was answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chatproof.archive.log import append
from chatproof.domain.consent import MARKETING, ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.dsr import (
    DEFAULT_DUE_SOON_DAYS,
    DataSubjectRequest,
    DsrError,
    RequestKind,
    Urgency,
    check_new,
    close,
    deadline,
    extend,
    urgency,
)
from chatproof.services.consent import record_in
from chatproof.services.retention import compliance_entry
from chatproof.store import NotFound, UnitOfWork
from chatproof.store.dsr import Restriction
from chatproof.store.sending import ContactRef

_NUMBER = re.compile(r"^\+?[0-9 ()/-]{7,}$")


@dataclass(frozen=True, slots=True)
class Listed:
    request: DataSubjectRequest
    urgency: Urgency


def find_contact(uow: UnitOfWork, contact: str) -> ContactRef:
    """A contact by id (``12``) or by number (``+49 176 …``).

    Raises:
        DsrError: no such contact.
    """
    value = contact.strip()
    try:
        if _NUMBER.match(value):
            digits = re.sub(r"\D", "", value)
            found = uow.sending.contact_by_number(digits)
            if found is None:
                raise NotFound("contact with number", "(given)")
            return found
        if value.isdigit():
            return uow.sending.contact(int(value))
    except NotFound:
        raise DsrError("contact", f"no contact {contact!r}") from None
    raise DsrError("contact", f"give a contact id or a phone number, not {contact!r}")


def add_request(
    uow_factory: Callable[[], UnitOfWork],
    contact: str,
    kind: str,
    received_on: date,
    identity_check: str,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> DataSubjectRequest:
    """Record a request with its deadline (one month from receipt). An objection to direct
    marketing takes effect at once: it is a marketing opt-out in the consent ledger, which also
    puts the number on the suppression list.

    Raises:
        DsrError: bad kind, date, identity check or contact; nothing is written.
    """
    chosen = check_new(kind, received_on, identity_check, now.astimezone(tz).date())
    with uow_factory() as uow:
        ref = find_contact(uow, contact)
        draft = DataSubjectRequest(
            id=0,
            kind=chosen,
            subject_id=ref.subject_id,
            contact_id=ref.id,
            received_on=received_on,
            identity_check=identity_check.strip(),
            due_on=deadline(received_on),
            recorded_by=by,
            recorded_at=now,
        )
        request_id = uow.dsr.add(draft)
        request = uow.dsr.get(request_id)
        _log(uow, "dsr.received", request, now, tz, by, received=received_on.isoformat())
        if chosen is RequestKind.OBJECTION:
            object_to_marketing_in(
                uow, ref, f"data-subject request {request_id} (objection, Art. 21 GDPR)", by, now
            )
        uow.commit()
    return request


def object_to_marketing_in(
    uow: UnitOfWork, contact: ContactRef, proof: str, by: str, now: datetime
) -> int:
    """Art. 21(2)/(3): marketing stops for good; returns the consent entry's log index."""
    event = ConsentEvent(
        purpose=MARKETING,
        action=ConsentAction.WITHDRAWN,
        source=ConsentSource.AGENT,
        at=now,
        recorded_by=by,
        proof=proof,
    )
    return record_in(uow, contact, event, now)


def list_requests(
    uow_factory: Callable[[], UnitOfWork],
    today: date,
    *,
    open_only: bool = True,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> list[Listed]:
    """The register, earliest deadline first, each with how urgent it is."""
    with uow_factory() as uow:
        found = uow.dsr.list(open_only=open_only)
    return [Listed(r, urgency(r, today, due_soon_days)) for r in found]


def extend_request(
    uow_factory: Callable[[], UnitOfWork],
    request_id: int,
    months: int,
    reason: str,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> DataSubjectRequest:
    """Raises:
    DsrError: closed, out of range or without a reason. NotFound: no such request.
    """
    with uow_factory() as uow:
        request = extend(uow.dsr.get(request_id), months, reason)
        uow.dsr.save(request)
        _log(uow, "dsr.extended", request, now, tz, by, months=request.extended_months)
        uow.commit()
    return request


def close_request(
    uow_factory: Callable[[], UnitOfWork],
    request_id: int,
    outcome: str,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> DataSubjectRequest:
    """Raises:
    DsrError: already closed or no outcome. NotFound: no such request.
    """
    with uow_factory() as uow:
        request = close(uow.dsr.get(request_id), outcome, now)
        uow.dsr.save(request)
        late = now.astimezone(tz).date() > request.due_on
        _log(uow, "dsr.closed", request, now, tz, by, late=late)
        uow.commit()
    return request


def restrict_in(
    uow: UnitOfWork,
    subject_id: str,
    reason: str,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    request_id: int | None = None,
) -> int:
    """Restrict processing of ``subject_id`` inside ``uow``'s transaction (Art. 18): hidden
    from agents, never messaged, kept only for what the law allows. Idempotent."""
    existing = uow.dsr.restrictions(subject_id)
    if existing:
        return existing[0].id
    restriction_id = uow.dsr.restrict(subject_id, reason, by, now, request_id)
    entry = compliance_entry(
        "subject.restricted",
        subject_id,
        now,
        tz,
        restriction=restriction_id,
        request=request_id,
        by=by,
    )
    append(uow.log, [entry], now)
    return restriction_id


def restrict(
    uow_factory: Callable[[], UnitOfWork],
    contact: str,
    reason: str,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    request_id: int | None = None,
) -> int:
    """Raises:
    DsrError: no such contact or no reason.
    """
    if not reason.strip():
        raise DsrError("reason", "say why processing is restricted (Art. 18(1)(a)-(d))")
    with uow_factory() as uow:
        ref = find_contact(uow, contact)
        restriction_id = restrict_in(
            uow, ref.subject_id, reason.strip(), by=by, now=now, tz=tz, request_id=request_id
        )
        uow.commit()
    return restriction_id


def restrictions_in_place(
    uow_factory: Callable[[], UnitOfWork],
) -> list[tuple[Restriction, int | None]]:
    """The restrictions in place, oldest first, each with its person's contact id (None once
    the contact is gone)."""
    with uow_factory() as uow:
        placed = uow.dsr.restrictions()
        contacts = uow.dsr.contacts_of([r.subject_id for r in placed])
    return [(r, contacts.get(r.subject_id)) for r in placed]


def lift_restriction(
    uow_factory: Callable[[], UnitOfWork],
    restriction_id: int,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Art. 18(3): the person must be told before a restriction is lifted.

    Raises:
        NotFound: no such restriction in place.
    """
    with uow_factory() as uow:
        lifted = uow.dsr.lift(restriction_id, by, now)
        entry = compliance_entry(
            "subject.restriction_lifted",
            lifted.subject_id,
            now,
            tz,
            restriction=restriction_id,
            by=by,
        )
        append(uow.log, [entry], now)
        uow.commit()


def _log(
    uow: UnitOfWork,
    kind: str,
    request: DataSubjectRequest,
    now: datetime,
    tz: ZoneInfo,
    by: str,
    **attrs: object,
) -> None:
    entry = compliance_entry(
        kind,
        request.subject_id,
        now,
        tz,
        request=request.id,
        request_kind=request.kind.value,
        due=request.due_on.isoformat(),
        by=by,
        **attrs,
    )
    append(uow.log, [entry], now)
