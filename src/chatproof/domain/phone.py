"""Phone numbers appear in logs and lists only masked (DESIGN invariant 3, STYLE 12)."""

from __future__ import annotations

import phonenumbers


def mask_phone(number: str) -> str:
    """``4915112344567`` → ``+49 151 ••• 4567``: enough to tell customers apart in a list,
    not enough to call them."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 8:
        return "•••"
    try:
        parsed = phonenumbers.parse("+" + digits)
        country, national = str(parsed.country_code), str(parsed.national_number)
    except phonenumbers.NumberParseException:
        country, national = digits[:2], digits[2:]
    return f"+{country} {national[:3]} ••• {national[-4:]}"
