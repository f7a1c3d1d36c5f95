from __future__ import annotations

import base64
import random

import pytest

from chatproof.emulator.wamid import decode_wamid, encode_wamid, new_wamid


def test_known_platform_wamid_decodes_to_its_number() -> None:
    # The wamid from Meta's own response example.
    assert decode_wamid("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA") == (
        "16503879439",
        "B96747441CEB7504CE",
        False,
    )


def test_inbound_sample_wamid_decodes_as_inbound() -> None:
    decoded = decode_wamid("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    assert decoded == ("16503879439", "3A4A6599AEE03810144F", True)


@pytest.mark.parametrize("inbound", [True, False])
def test_new_wamids_round_trip_and_embed_the_number(inbound: bool) -> None:
    wamid = new_wamid("4915112345678", random.Random(1), inbound=inbound)
    assert wamid.startswith("wamid.")
    raw = base64.b64decode(wamid.removeprefix("wamid."))
    assert b"4915112345678" in raw
    decoded = decode_wamid(wamid)
    assert decoded is not None
    assert decoded[0] == "4915112345678"
    assert decoded[2] is inbound
    assert len(decoded[1]) == (20 if inbound else 18)


def test_encode_matches_platform_bytes() -> None:
    assert (
        encode_wamid("16503879439", "B96747441CEB7504CE", inbound=False)
        == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
    )


@pytest.mark.parametrize(
    "value", ["", "wamid.", "wamid.!!!", "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww", "id.HBgL"]
)
def test_foreign_ids_do_not_decode(value: str) -> None:
    assert decode_wamid(value) is None
