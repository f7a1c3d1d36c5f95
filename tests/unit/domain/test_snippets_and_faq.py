"""Quick replies with placeholders, and FAQ rules matching customer questions."""

from __future__ import annotations

import pytest

from chatproof.domain.faq import FaqError, FaqRule, answer_for
from chatproof.domain.snippets import SnippetError, render

SNIPPETS = {"thanks": "Danke, {name}! Viele Grüße, {agent}"}


def test_snippet_is_filled() -> None:
    assert render(SNIPPETS, "thanks", {"name": "Anna", "agent": "Ben"}) == (
        "Danke, Anna! Viele Grüße, Ben"
    )


def test_missing_value_or_snippet_is_an_error() -> None:
    with pytest.raises(SnippetError, match="agent"):
        render(SNIPPETS, "thanks", {"name": "Anna"})
    with pytest.raises(SnippetError, match="no quick reply"):
        render(SNIPPETS, "nope", {})


RULES = [
    FaqRule.from_mapping(
        {"name": "hours", "answer": "Mo-Fr 9-17", "any": ["öffnungszeiten", "geöffnet"]}, "f[0]"
    ),
    FaqRule.from_mapping({"name": "return", "answer": "30 Tage", "all": ["rückgabe"]}, "f[1]"),
]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Wie sind Ihre Öffnungszeiten?", "hours"),
        ("Habt ihr heute geöffnet", "hours"),
        ("Wie funktioniert die Rückgabe?", "return"),
        ("Wo ist mein Paket?", None),
        ("ungeöffnet", None),
    ],
)
def test_faq_matching(text: str, name: str | None) -> None:
    found = answer_for(RULES, text)
    assert (found.name if found else None) == name


def test_faq_rule_needs_words() -> None:
    with pytest.raises(FaqError) as raised:
        FaqRule.from_mapping({"name": "x", "answer": "y"}, "f[2]")
    assert raised.value.field == "f[2].any"
