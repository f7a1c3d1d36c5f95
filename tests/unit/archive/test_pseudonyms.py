"""Keyed hashes of platform identifiers: one value per kind and key, never the value itself."""

from __future__ import annotations

import hashlib
import hmac
import pickle

from hypothesis import given
from hypothesis import strategies as st

from chatproof.archive.pseudonyms import Pseudonymizer

KEY = b"k" * 32


@given(st.sampled_from(["wamid", "wa_id", "import"]), st.text())
def test_a_hash_is_the_hmac_of_kind_and_value_and_a_hasher_gives_the_same(
    kind: str, value: str
) -> None:
    pseudonyms = Pseudonymizer(KEY)

    def expected(value: str) -> str:
        message = kind.encode() + b"\x00" + value.encode()
        return hmac.new(KEY, message, hashlib.sha256).hexdigest()

    hasher = pseudonyms.hasher(kind)
    assert [hasher(value), hasher("other"), hasher(value)] == [
        expected(value),
        expected("other"),
        expected(value),
    ]
    assert [pseudonyms.hash(kind, value), pseudonyms.hash(kind, value)] == [expected(value)] * 2
    assert pickle.loads(pickle.dumps(hasher))(value) == expected(value)


def test_kinds_and_keys_keep_hashes_apart_and_reprs_hide_the_key() -> None:
    pseudonyms = Pseudonymizer(KEY)
    assert pseudonyms.hash("wamid", "x") != pseudonyms.hash("wa_id", "x")
    assert Pseudonymizer(b"j" * 32).hash("wamid", "x") != pseudonyms.hash("wamid", "x")
    assert "kkkk" not in repr(pseudonyms) + repr(pseudonyms.hasher("wamid"))
