"""Leaves are RFC 8785 canonical JSON of their envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from chatproof.archive.errors import ArchiveError
from chatproof.archive.log import (
    EntryDraft,
    canonical_json,
    encode_leaf,
    entry_time,
    envelope,
    whole_second_entry_time,
)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), inner, max_size=4)
    ),
    max_leaves=12,
)


def test_an_entry_time_is_utc_with_milliseconds_cut_off() -> None:
    assert entry_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    berlin = datetime(2026, 7, 1, 0, 30, 1, 999_999, tzinfo=ZoneInfo("Europe/Berlin"))
    assert entry_time(berlin) == "2026-06-30T22:30:01.999Z"


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
    )
)
def test_an_entry_time_is_the_iso_form_of_the_utc_time(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    assert entry_time(moment) == f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)))
def test_a_whole_second_entry_time_is_made_from_its_iso_form(moment: datetime) -> None:
    utc = moment.replace(microsecond=0)
    assert whole_second_entry_time(utc.isoformat()) == entry_time(utc.replace(tzinfo=UTC))


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), values, max_size=6))
def test_canonical_json_is_exactly_jcs(document: dict) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


def test_an_envelope_names_what_the_archive_promises() -> None:
    draft = EntryDraft(
        kind="message.inbound",
        at=datetime(2026, 1, 2, 3, 4, 5, 678_900, tzinfo=UTC),
        retention_class="business_letter",
        start_year=2026,
        subject_id="0f1e",
        platform_id_hash="ab" * 32,
        content=b"\x01cipher",
        attributes={"type": "text"},
    )
    doc = envelope(7, draft)
    assert doc == {
        "v": 1,
        "index": 7,
        "kind": "message.inbound",
        "time": "2026-01-02T03:04:05.678Z",
        "retention": {"class": "business_letter", "start_year": 2026},
        "subject": "0f1e",
        "platform_id": "ab" * 32,
        "content": "AWNpcGhlcg==",
        "attributes": {"type": "text"},
    }
    assert encode_leaf(7, draft) == rfc8785.dumps(doc)


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ({"a": [1, {"b": 0.5}]}, "floating-point"),
        ({"a": 2**60}, "2\\^53"),
        ({"ä": 1}, "ASCII"),
    ],
)
def test_values_whose_jcs_form_would_differ_are_refused(document: dict, match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        canonical_json(document)


@given(
    st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), values, max_size=6),
    st.integers(0, 2**53 - 1),
    text,
    text,
    st.none() | text,
    st.none() | text,
    st.none() | st.binary(max_size=40),
    st.datetimes(timezones=st.just(UTC)),
    st.integers(1970, 9999),
)
def test_a_leaf_is_the_jcs_of_its_envelope_whatever_it_holds(
    attributes: dict,
    index: int,
    kind: str,
    retention_class: str,
    subject_id: str | None,
    platform_id_hash: str | None,
    content: bytes | None,
    at: datetime,
    start_year: int,
) -> None:
    draft = EntryDraft(
        kind=kind,
        at=at,
        retention_class=retention_class,
        start_year=start_year,
        subject_id=subject_id,
        platform_id_hash=platform_id_hash,
        content=content,
        attributes=attributes,
    )
    assert encode_leaf(index, draft) == rfc8785.dumps(envelope(index, draft))


@pytest.mark.parametrize(
    ("attributes", "index", "match"),
    [
        ({"amount": 1.5}, 0, "floating-point"),
        ({"nested": [{"big": 2**60}]}, 0, "2\\^53"),
        ({"schlüssel": 1}, 0, "ASCII"),
        ({}, 2**53, "2\\^53"),
    ],
)
def test_entries_whose_jcs_form_would_differ_are_refused(
    attributes: dict, index: int, match: str
) -> None:
    draft = EntryDraft("x", datetime(2026, 1, 2, tzinfo=UTC), "c", 2026, attributes=attributes)
    with pytest.raises(ArchiveError, match=match):
        encode_leaf(index, draft)
