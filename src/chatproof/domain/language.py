"""Which language to address a customer in when they have not said: German for numbers of
the German-speaking countries, English otherwise (the platform tells us no locale)."""

from __future__ import annotations

GERMAN_SPEAKING_PREFIXES = ("49", "43", "41", "423")


def language_for(wa_id: str) -> str:
    digits = wa_id.lstrip("+")
    return "de" if digits.startswith(GERMAN_SPEAKING_PREFIXES) else "en"
