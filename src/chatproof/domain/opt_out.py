"""Recognising "STOP" and "START" in what a customer wrote (GDPR Art. 21, UWG §7).

A keyword counts only when it is the whole message, after sensible normalisation: case,
accents of capitals, punctuation, emoji and a polite word or two ("bitte", "please") do not
matter; a keyword inside a longer sentence ("ich kann den Motor nicht stoppen") is not one.
The lists are configurable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_STOP_KEYWORDS = (
    "stop",
    "stopp",
    "abmelden",
    "abbestellen",
    "keine werbung",
    "unsubscribe",
    "opt out",
    "austragen",
    "stop all",
    "stop werbung",
    "werbung stop",
    "newsletter abmelden",
    "newsletter abbestellen",
)
DEFAULT_START_KEYWORDS = ("start", "anmelden", "newsletter anmelden", "subscribe")
FILLER_WORDS = frozenset(
    {"bitte", "please", "pls", "danke", "thanks", "thank", "you", "jetzt", "now", "sofort"}
)
UNSUBSCRIBE_PAYLOADS = ("unsubscribe", "stop", "stop_promo", "abmelden")

_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"[\s_-]+")


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"


def normalise(text: str) -> str:
    """Lower case, no punctuation or symbols, single spaces: ``" STOPP!! 🙏"`` → ``"stopp"``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", folded)).strip()


@dataclass(frozen=True, slots=True)
class KeywordMatcher:
    stop: tuple[str, ...] = DEFAULT_STOP_KEYWORDS
    start: tuple[str, ...] = DEFAULT_START_KEYWORDS

    def match(self, text: str) -> Keyword | None:
        """The keyword ``text`` is, or None when it is an ordinary message."""
        words = [w for w in normalise(text).split(" ") if w]
        core = " ".join(w for w in words if w not in FILLER_WORDS)
        if not core or len(words) - len(core.split(" ")) > 2:
            return None
        if core in {normalise(k) for k in self.stop}:
            return Keyword.STOP
        if core in {normalise(k) for k in self.start}:
            return Keyword.START
        return None


def is_unsubscribe_payload(payload: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether a template quick-reply button's payload means "unsubscribe"."""
    return normalise(payload).replace(" ", "_") in {
        normalise(p).replace(" ", "_") for p in (*UNSUBSCRIBE_PAYLOADS, *extra)
    }
