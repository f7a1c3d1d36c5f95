"""The policy gate over the combinations of window, consent, message and limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chatproof.domain.consent import (
    ALL_PURPOSES,
    MARKETING,
    SERVICE,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    current_states,
)
from chatproof.domain.policy import (
    ContactState,
    LimitUsage,
    MessageKind,
    OutboundRequest,
    PolicySettings,
    TemplateCategory,
    check_messaging_limit,
    decide,
)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
G, W = ConsentAction.GRANTED, ConsentAction.WITHDRAWN


def grant(purpose: str, days_ago: float = 10) -> ConsentEvent:
    return ConsentEvent(
        purpose, G, ConsentSource.WEB_FORM, NOW - timedelta(days=days_ago), "web", "Ja", "v1"
    )


def withdraw(purpose: str, days_ago: float = 5) -> ConsentEvent:
    return ConsentEvent(purpose, W, ConsentSource.KEYWORD, NOW - timedelta(days=days_ago), "k")


WROTE = {
    "window": NOW - timedelta(hours=2),
    "case_recent": NOW - timedelta(days=3),
    "case_old": NOW - timedelta(days=45),
    "never": None,
}
HISTORIES = {
    "none": [],
    "marketing": [grant(MARKETING)],
    "marketing_withdrawn": [grant(MARKETING, 10), withdraw(MARKETING, 5)],
    "stop_all": [grant(MARKETING, 10), grant(SERVICE, 10), withdraw(ALL_PURPOSES, 4)],
    "service": [grant(SERVICE)],
}
FREE_TEXT = OutboundRequest(SERVICE, MessageKind.FREE_TEXT)
UTILITY = OutboundRequest(SERVICE, MessageKind.TEMPLATE, TemplateCategory.UTILITY)
MARKETING_TEMPLATE = OutboundRequest(MARKETING, MessageKind.TEMPLATE, TemplateCategory.MARKETING)
MARKETING_TEXT = OutboundRequest(MARKETING, MessageKind.FREE_TEXT)
BROADCAST = OutboundRequest(
    MARKETING, MessageKind.TEMPLATE, TemplateCategory.MARKETING, broadcast=True
)
SNEAKY = OutboundRequest(SERVICE, MessageKind.TEMPLATE, TemplateCategory.MARKETING)
REQUESTS = {
    "free_text": FREE_TEXT,
    "utility": UTILITY,
    "marketing_template": MARKETING_TEMPLATE,
    "marketing_text": MARKETING_TEXT,
    "broadcast": BROADCAST,
    "marketing_category_as_service": SNEAKY,
}

# (wrote, history, request) -> rule id; anything not listed is derived by the rules below
# and checked against the invariants in test_invariants_hold_for_every_combination.
TABLE = [
    ("window", "none", "free_text", "window.reply"),
    ("window", "stop_all", "free_text", "window.reply"),
    ("case_recent", "none", "free_text", "window.closed"),
    ("never", "marketing", "free_text", "window.closed"),
    ("window", "none", "utility", "window.template"),
    ("case_recent", "none", "utility", "service_case.follow_up"),
    ("case_old", "none", "utility", "template.no_basis"),
    ("never", "none", "utility", "initiation.no_basis"),
    ("never", "service", "utility", "consent.documented"),
    ("case_recent", "stop_all", "utility", "service_case.follow_up"),
    ("case_old", "stop_all", "utility", "consent.withdrawn"),
    ("window", "none", "marketing_template", "marketing.no_opt_in"),
    ("never", "none", "marketing_template", "marketing.no_opt_in"),
    ("never", "marketing", "marketing_template", "consent.documented"),
    ("window", "marketing", "marketing_template", "window.template"),
    ("never", "marketing_withdrawn", "marketing_template", "marketing.opted_out"),
    ("window", "marketing_withdrawn", "marketing_text", "marketing.opted_out"),
    ("window", "none", "marketing_text", "marketing.no_opt_in"),
    ("window", "marketing", "marketing_text", "window.reply"),
    ("never", "stop_all", "broadcast", "marketing.opted_out"),
    ("never", "marketing", "broadcast", "consent.documented"),
    ("window", "none", "marketing_category_as_service", "marketing.no_opt_in"),
    ("never", "service", "marketing_category_as_service", "marketing.no_opt_in"),
]


def contact(wrote: str, history: str, **kw: object) -> ContactState:
    return ContactState(
        last_inbound_at=WROTE[wrote], consents=current_states(HISTORIES[history]), **kw
    )


@pytest.mark.parametrize(("wrote", "history", "request_name", "rule"), TABLE)
def test_table(wrote: str, history: str, request_name: str, rule: str) -> None:
    decision = decide(contact(wrote, history), REQUESTS[request_name], LimitUsage(), NOW)
    assert decision.rule_id == rule
    assert decision.allowed == (
        rule.startswith(("window.reply", "window.template"))
        or rule
        in {
            "service_case.follow_up",
            "consent.documented",
        }
    )
    assert decision.reason_de and decision.reason_en and decision.reason_de != decision.reason_en


COMBINATIONS = list(itertools.product(WROTE, HISTORIES, REQUESTS))


@pytest.mark.parametrize(("wrote", "history", "request_name"), COMBINATIONS)
def test_invariants_hold_for_every_combination(wrote: str, history: str, request_name: str) -> None:
    state = contact(wrote, history)
    request = REQUESTS[request_name]
    decision = decide(state, request, LimitUsage(), NOW)
    if request.is_marketing and not state.consent(MARKETING).granted:
        assert not decision.allowed, "marketing without a valid opt-in"
    if request.kind is MessageKind.FREE_TEXT and wrote != "window":
        assert not decision.allowed, "free text outside the window"
    if wrote == "never" and not state.consent(request.purpose).granted:
        assert not decision.allowed, "started a conversation without basis"
    assert decision.business_initiated == (decision.allowed and wrote != "window")
    for flag in ("restricted", "shredded"):
        refused = decide(contact(wrote, history, **{flag: True}), request, LimitUsage(), NOW)
        assert (refused.allowed, refused.rule_id) == (False, f"contact.{flag}")


def test_imported_history_opens_no_window_and_says_so() -> None:
    imported = ContactState(imported_inbound_at=NOW - timedelta(hours=1))
    decision = decide(imported, FREE_TEXT, LimitUsage(), NOW)
    assert (decision.allowed, decision.rule_id) == (False, "window.imported_history")
    assert decide(imported, UTILITY, LimitUsage(), NOW).rule_id == "initiation.no_basis"


def test_the_window_closes_after_exactly_24_hours() -> None:
    at_edge = ContactState(last_inbound_at=NOW - timedelta(hours=24))
    just_inside = ContactState(last_inbound_at=NOW - timedelta(hours=24) + timedelta(seconds=1))
    assert not decide(at_edge, FREE_TEXT, LimitUsage(), NOW).allowed
    assert decide(just_inside, FREE_TEXT, LimitUsage(), NOW).allowed


def test_service_case_period_is_configurable() -> None:
    state = ContactState(last_inbound_at=NOW - timedelta(days=10))
    assert decide(state, UTILITY, LimitUsage(), NOW).allowed
    short = PolicySettings(service_case_days=7)
    assert decide(state, UTILITY, LimitUsage(), NOW, short).rule_id == "template.no_basis"


def test_unapproved_templates_are_refused_even_inside_the_window() -> None:
    pending = OutboundRequest(SERVICE, MessageKind.TEMPLATE, TemplateCategory.UTILITY, False)
    decision = decide(contact("window", "none"), pending, LimitUsage(), NOW)
    assert decision.rule_id == "template.not_approved"


@pytest.mark.parametrize(
    ("limit", "reached", "counted", "allowed"),
    [
        (250, 249, False, True),
        (250, 250, False, False),
        (250, 250, True, True),
        (2_000, 1_999, False, True),
        (0, 10**9, False, True),
    ],
)
def test_messaging_limit_counts_new_recipients_outside_a_window(
    limit: int, reached: int, counted: bool, allowed: bool
) -> None:
    settings = PolicySettings(messaging_limit=limit)
    usage = LimitUsage(reached, counted)
    decision = decide(contact("never", "marketing"), BROADCAST, usage, NOW, settings)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rule_id == "limit.messaging_tier"
    in_window = decide(contact("window", "marketing"), BROADCAST, usage, NOW, settings)
    assert in_window.allowed, "a reply inside a window does not count against the limit"


@pytest.mark.parametrize("value", [250, 2000, 10000, 100000, 0])
def test_messaging_limit_accepts_the_platform_tiers(value: int) -> None:
    assert check_messaging_limit(value) == value


@pytest.mark.parametrize("value", [1, 1000, 5000, -1])
def test_messaging_limit_refuses_other_values(value: int) -> None:
    with pytest.raises(ValueError, match="250"):
        check_messaging_limit(value)


def test_reason_follows_the_language() -> None:
    decision = decide(contact("never", "none"), FREE_TEXT, LimitUsage(), NOW)
    assert decision.reason("de-DE") == decision.reason_de
    assert decision.reason("en") == decision.reason_en
