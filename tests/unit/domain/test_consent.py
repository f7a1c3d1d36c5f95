"""The consent ledger: what makes an event provable, and the state derived from history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatproof.domain.consent import (
    ALL_PURPOSES,
    MARKETING,
    SERVICE,
    ConsentAction,
    ConsentError,
    ConsentEvent,
    ConsentSource,
    check_event,
    current_state,
    current_states,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
G, W = ConsentAction.GRANTED, ConsentAction.WITHDRAWN


def event(
    purpose: str = MARKETING,
    action: ConsentAction = G,
    source: ConsentSource = ConsentSource.KEYWORD,
    minutes: int = 0,
    **kw: str,
) -> ConsentEvent:
    kw.setdefault("text", "Ja, ich möchte den Newsletter per WhatsApp.")
    return ConsentEvent(purpose, action, source, T0 + timedelta(minutes=minutes), "agent:a", **kw)


@pytest.mark.parametrize(
    ("made", "field"),
    [
        (event(text=""), "text"),
        (event(source=ConsentSource.WEB_FORM), "text_version"),
        (event(source=ConsentSource.PAPER_FORM), "proof"),
        (event(source=ConsentSource.IMPORT), "proof"),
        (event(source=ConsentSource.AGENT, text="typed in"), "source"),
        (event(source=ConsentSource.UNSUBSCRIBE_BUTTON), "source"),
        (event(purpose="bad purpose!"), "purpose"),
        (event(purpose=ALL_PURPOSES), "purpose"),
        (
            ConsentEvent(MARKETING, G, ConsentSource.KEYWORD, T0.replace(tzinfo=None), "a", "t"),
            "at",
        ),
        (ConsentEvent(MARKETING, G, ConsentSource.KEYWORD, T0, "", "t"), "recorded_by"),
    ],
)
def test_unprovable_events_are_refused_naming_the_field(made: ConsentEvent, field: str) -> None:
    with pytest.raises(ConsentError) as raised:
        check_event(made)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "made",
    [
        event(),
        event(source=ConsentSource.WEB_FORM, text_version="v3"),
        event(source=ConsentSource.PAPER_FORM, proof="sha256:abc"),
        event(source=ConsentSource.IMPORT, proof="crm-export-2026-01.csv"),
        event(action=W, source=ConsentSource.AGENT, text=""),
        event(purpose=ALL_PURPOSES, action=W, text=""),
        event(purpose="appointments", source=ConsentSource.WEB_FORM, text_version="1"),
    ],
)
def test_provable_events_pass(made: ConsentEvent) -> None:
    check_event(made)


def test_no_history_means_no_consent() -> None:
    state = current_state([], MARKETING)
    assert (state.granted, state.withdrawn, state.since) == (False, False, None)


def test_the_latest_event_decides_whatever_order_they_are_given_in() -> None:
    grant, withdraw = event(minutes=0), event(action=W, minutes=5, text="")
    for history in ([grant, withdraw], [withdraw, grant]):
        state = current_state(history, MARKETING)
        assert (state.granted, state.withdrawn, state.decided_by) == (False, True, withdraw)
    regrant = event(minutes=9)
    assert current_state([grant, withdraw, regrant], MARKETING).granted


def test_stop_withdraws_every_purpose_until_one_is_granted_again() -> None:
    history = [
        event(MARKETING, minutes=0),
        event("appointments", minutes=1),
        event(ALL_PURPOSES, W, minutes=2, text=""),
        event("appointments", minutes=3),
    ]
    states = current_states(history)
    assert set(states) == {MARKETING, SERVICE, "appointments"}
    assert states[MARKETING].withdrawn and not states[MARKETING].granted
    assert states[SERVICE].withdrawn
    assert states["appointments"].granted


def test_purposes_do_not_affect_each_other() -> None:
    history = [event(MARKETING), event(SERVICE, W, minutes=1, text="")]
    assert current_state(history, MARKETING).granted
    assert not current_state(history, SERVICE).granted
