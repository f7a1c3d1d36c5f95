from __future__ import annotations

import pytest

from chatproof.channels.errors import SignatureError
from chatproof.channels.whatsapp.signature import sign, verify_secret_header, verify_signature

SECRET = "app-secret"
BODY = '{"object":"whatsapp_business_account","entry":[{"text":"Grüße 👋"}]}'.encode()


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    # printf '{}' | openssl dgst -sha256 -hmac app-secret
    assert sign(b"{}", SECRET) == (
        "sha256=bd9549eb87a414d3df28b5a60ea86d4a11e2f1c6258edbd18f56d3c23c0f908d"
    )
    verify_signature(BODY, sign(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (None, "missing"),
        ("", "missing"),
        ("sha1=abc", "must start"),
        ("sha256=" + "0" * 64, "does not match"),
    ],
)
def test_wrong_or_missing_signatures_are_refused(header: str | None, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        verify_signature(BODY, header, SECRET)


def test_a_signature_over_re_serialised_json_does_not_match() -> None:
    reserialised = BODY.decode().encode("ascii", "backslashreplace")
    with pytest.raises(SignatureError):
        verify_signature(BODY, sign(reserialised, SECRET), SECRET)


def test_a_different_secret_does_not_match() -> None:
    with pytest.raises(SignatureError):
        verify_signature(BODY, sign(BODY, "other"), SECRET)


def test_secret_header_for_provider_setups() -> None:
    verify_secret_header("s3cret", "s3cret", "X-Chatproof-Secret")
    with pytest.raises(SignatureError, match="X-Chatproof-Secret"):
        verify_secret_header("nope", "s3cret", "X-Chatproof-Secret")
    with pytest.raises(SignatureError, match="missing"):
        verify_secret_header(None, "s3cret", "X-Chatproof-Secret")
