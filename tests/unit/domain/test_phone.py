from __future__ import annotations

import pytest

from chatproof.domain.phone import mask_phone


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("4915112344567", "+49 151 ••• 4567"),
        ("+49 151 1234 4567", "+49 151 ••• 4567"),
        ("16505551234", "+1 650 ••• 1234"),
        ("972987654321", "+972 987 ••• 4321"),
        ("123", "•••"),
    ],
)
def test_masked_numbers_keep_country_prefix_and_last_four(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_the_middle_digits_never_appear() -> None:
    assert "1234" not in mask_phone("4915112344567")[:-4]
