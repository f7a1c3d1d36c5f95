"""Keyword opt-out and opt-in: the whole message, sensibly normalised."""

from __future__ import annotations

import pytest

from chatproof.domain.opt_out import Keyword, KeywordMatcher, is_unsubscribe_payload, normalise

MATCHER = KeywordMatcher()


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stopp! ",
        "STOPP 🙏",
        "Abmelden",
        "ABBESTELLEN.",
        "Keine Werbung",
        "keine   werbung!!",
        "UNSUBSCRIBE",
        "Stop bitte",
        "Bitte abmelden",
        "stop please",
        "Ｓｔｏｐ",
        "opt-out",
    ],
)
def test_stop_keywords_are_recognised(text: str) -> None:
    assert MATCHER.match(text) is Keyword.STOP


@pytest.mark.parametrize("text", ["START", "Start!", "start bitte", "Anmelden"])
def test_start_keywords_are_recognised(text: str) -> None:
    assert MATCHER.match(text) is Keyword.START


@pytest.mark.parametrize(
    "text",
    [
        "Ich kann den Motor nicht stoppen",
        "Wann startet der Kurs?",
        "Bitte nicht stoppen, ich will weiter Infos",
        "Stop the delivery, I moved house",
        "Der Stopp-Knopf ist kaputt",
        "",
        "🙏",
        "Keine Werbung mehr bitte, aber die Rechnung brauche ich noch",
        "bitte bitte bitte danke stop",
    ],
)
def test_keywords_inside_sentences_or_noise_are_not_keywords(text: str) -> None:
    assert MATCHER.match(text) is None


def test_the_lists_are_configurable() -> None:
    custom = KeywordMatcher(stop=("HALT",), start=("JA",))
    assert custom.match("halt") is Keyword.STOP
    assert custom.match("Ja!") is Keyword.START
    assert custom.match("stop") is None


def test_normalise_folds_case_like_unicode_does() -> None:
    assert normalise("  Größe?! ") == "grösse"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("Unsubscribe", True), ("STOP_PROMO", True), ("stop promo", True), ("Yes", False)],
)
def test_unsubscribe_buttons(payload: str, expected: bool) -> None:
    assert is_unsubscribe_payload(payload) is expected
