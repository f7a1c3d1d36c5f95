"""What the composer shows before anything is sent: whether the policy gate would allow the
message now (a preview; the decision that counts is made and archived when it is sent,
DESIGN invariant 5), and the customer's consent per purpose with the event that decided it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatproof.domain.consent import ConsentState
from chatproof.domain.policy import Decision, decide
from chatproof.domain.templates import check_parameters
from chatproof.services.sending import (
    Outgoing,
    SendingSettings,
    contact_state,
    limit_usage,
    request_for,
    resolve,
)
from chatproof.store import UnitOfWork


def preview(
    uow_factory: Callable[[], UnitOfWork],
    conversation_id: int,
    message: Outgoing,
    settings: SendingSettings,
    now: datetime,
) -> Decision:
    """The gate's decision if ``message`` were sent now; nothing is written.

    Raises:
        NotFound: no such conversation.
        SendingError, TemplateProblem: the message is incomplete (names the field).
    """
    spec = resolve(message, settings.catalogue)
    if spec is not None:
        check_parameters(spec, message.body_params)
    with uow_factory() as uow:
        contact = uow.sending.contact(uow.conversations.get(conversation_id).contact_id)
        state = contact_state(uow, contact)
        usage = limit_usage(uow, contact, now)
    return decide(state, request_for(message, spec, False), usage, now, settings.policy)


def consents(
    uow_factory: Callable[[], UnitOfWork], conversation_id: int
) -> dict[str, ConsentState]:
    """Raises NotFound."""
    with uow_factory() as uow:
        contact = uow.sending.contact(uow.conversations.get(conversation_id).contact_id)
        found = contact_state(uow, contact).consents or {}
    return dict(sorted(found.items()))
