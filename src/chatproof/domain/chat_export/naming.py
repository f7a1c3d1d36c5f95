"""Who the other side of an exported chat is: the app names the export file after the chat
("WhatsApp Chat mit +49 151 2345678.txt", "WhatsApp Chat with +1 650-555-1234.zip"), which
carries the phone number when the contact was not saved under a name."""

from __future__ import annotations

import re

import phonenumbers

from chatproof.domain.errors import DomainError

_NUMBER_IN_NAME = re.compile(r"\+\d[\d \u00a0\u202f().-]{5,}\d")
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\))?(?:\.(?:txt|zip))?$", re.IGNORECASE)
"""`` (2).zip``: what browsers and phones append to a second download of the same name."""


class InvalidPhoneNumber(DomainError):
    def __init__(self, given: str, field: str) -> None:
        self.given = given
        super().__init__(f"{field}: {given!r} is not a phone number with country code")


def wa_id_of(number: str, field: str = "--contact") -> str:
    """The WhatsApp id (digits with country code, no ``+``) of a number as people write it.

    Raises:
        InvalidPhoneNumber: not a possible number with a country code.
    """
    cleaned = number.strip().strip("\u200e\u202a\u202c")
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not cleaned.startswith("+"):
        cleaned = "+" + cleaned
    try:
        parsed = phonenumbers.parse(cleaned)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(number, field) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(number, field)
    return f"{parsed.country_code}{parsed.national_number}"


def number_in_file_name(name: str) -> str | None:
    """The WhatsApp id in an export's file name, if the name carries a number."""
    found = _NUMBER_IN_NAME.search(_COPY_SUFFIX.sub("", name))
    if found is None:
        return None
    try:
        return wa_id_of(found.group(0), "file name")
    except InvalidPhoneNumber:
        return None
