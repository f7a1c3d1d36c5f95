"""The other side's number from ``--contact`` or from the export's file name."""

from __future__ import annotations

import pytest

from chatproof.domain.chat_export import InvalidPhoneNumber, number_in_file_name, wa_id_of


@pytest.mark.parametrize(
    ("name", "wa_id"),
    [
        ("WhatsApp Chat mit +49 151 23456789.txt", "4915123456789"),
        ("WhatsApp Chat with +1 650-555-1234.zip", "16505551234"),
        ("WhatsApp Chat - \u202a+49 30 1234567\u202c.zip", "49301234567"),
        ("WhatsApp Chat mit +49 151 23456789 (2).txt", "4915123456789"),
        ("WhatsApp Chat mit +1 (650) 555-1234.txt", "16505551234"),
        ("WhatsApp Chat mit Max Mustermann.txt", None),
        ("_chat.txt", None),
    ],
)
def test_number_in_file_name(name: str, wa_id: str | None) -> None:
    assert number_in_file_name(name) == wa_id


@pytest.mark.parametrize("given", ["+49 151 23456789", "0049 151 23456789", "4915123456789"])
def test_numbers_as_people_write_them(given: str) -> None:
    assert wa_id_of(given) == "4915123456789"


def test_a_non_number_names_the_option() -> None:
    with pytest.raises(InvalidPhoneNumber, match="--contact: 'Max' is not a phone number"):
        wa_id_of("Max")
