"""What the WhatsApp app writes in place of content, in English and German: clock markers,
media and deletion notices, attachment forms and system notices (reference: exports made by
the Android and iOS apps in both languages)."""

from __future__ import annotations

import re

from chatproof.domain.chat_export.model import Kind

SPACE_CHARACTERS = " \u00a0\u202f"
SPACE = f"[{SPACE_CHARACTERS}]"
"""The app separates date, time and clock marker with a space, a no-break space (U+00A0) or a
narrow no-break space (U+202F), depending on version and locale."""

DIRECTION_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
"""Invisible direction marks the app puts around names, numbers and notices."""

LRM = "\u200e"

CLOCK_MARKER = rf"(?:[AaPp]\.?{SPACE}?[Mm]\.?|vorm\.|nachm\.)"
"""AM/PM, am/pm, a.m./p.m., "a. m."/"p. m." (Spanish and others), vorm./nachm. (German)."""


def is_afternoon(marker: str) -> bool:
    """True for the PM markers of ``CLOCK_MARKER``."""
    first = marker[:1].lower()
    return first == "p" or first == "n"


_OMITTED = [
    "<Media omitted>",
    "<Medien ausgeschlossen>",
    *(f"{what} omitted" for what in ("image", "video", "audio", "sticker", "GIF", "document")),
    "Contact card omitted",
    *(f"{what} weggelassen" for what in ("Bild", "Video", "Audio", "Sticker", "GIF", "Dokument")),
    "Kontaktkarte weggelassen",
]
_DELETED = [
    "This message was deleted",
    "You deleted this message",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
]
NOTICES: dict[str, Kind] = {
    **{text: Kind.MEDIA_OMITTED for text in _OMITTED},
    **{text + end: Kind.DELETED for text in _DELETED for end in ("", ".")},
}
"""What the app writes, exactly, in place of a message it did not export or that was deleted."""

IOS_ATTACHMENT = re.compile(r"<(?:attached|Anhang): ([^<>]+)>$")
"""iOS: ``<attached: 00000012-PHOTO-2024-03-12-14-05-33.jpg>``, at the end of the line."""

ANDROID_ATTACHMENT = re.compile(r"(.+?) \((?:file attached|Datei angehängt)\)")
"""Android: ``IMG-20240312-WA0001.jpg (Datei angehängt)``; a caption follows on new lines."""

SYSTEM_NOTICE = re.compile(
    r"end-to-end encrypted|Ende-zu-Ende-verschlüsselt"
    r"|changed (?:their|his|her) phone number|changed to \+|Telefonnummer"
    r"|changed the (?:subject|group)|den Betreff|Gruppenbeschreibung|Gruppenbild"
    r"|created (?:the )?group|hat die Gruppe|security code|Sicherheitsnummer",
    re.IGNORECASE,
)
"""Notices recognised as system messages even where they look like ``NAME: TEXT``."""

ENCRYPTION_NOTICE = re.compile(r"end-to-end encrypted|Ende-zu-Ende-verschlüsselt", re.IGNORECASE)
"""The one notice recognised inside an author's line (iOS writes it under the chat's name);
people do write about phone numbers and groups themselves."""
