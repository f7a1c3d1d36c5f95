"""The ``import.message`` log entries of stored message rows (DESIGN invariant 3): each
entry's canonical JSON written out at once from the row, which holds every part of it but the
time the log writes and the start year. The importing process encodes them itself: built in
the sealing process, with the Merkle hashing that needs them, they cost that process 1.2 s of
CPU per 200,000 messages (166 MB of leaves to pickle among it) and saved this one only 0.5 s,
which made the sealing process the slower of the two."""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence
from json.encoder import encode_basestring

from chatproof.archive.log import ENVELOPE_VERSION, EntryRow
from chatproof.store.imports import PreparedMessages

ENTRY_KIND = "import.message"

EntryTime = tuple[str, int]
"""The entry's time as the log writes it (UTC, milliseconds) and its start year."""


def message_entries(
    rows: PreparedMessages,
    times: Sequence[EntryTime],
    import_id: int,
    subject_id: str,
    retention_class: str,
) -> list[EntryRow]:
    """One entry per row, numbered by the row's ``log_index``. The JSON is ``log.encode_leaf``
    of the same draft (a test holds the two equal): every value here is ASCII but the subject
    and the retention class, which are escaped as JCS escapes them."""
    b64, sha256 = binascii.b2a_base64, hashlib.sha256
    retention = f'"retention":{{"class":{encode_basestring(retention_class)},'
    subject = f'"subject":{encode_basestring(subject_id)}'
    entries: list[EntryRow] = []
    media = rows.media
    for position, (values, (line, kind), (time, year)) in enumerate(
        zip(rows.values, rows.lines, times, strict=True)
    ):
        _, fingerprint, _, direction, message_type, _, _, _, raw, index = values
        state = blob = None
        if position in media:
            _, _, _, _, state, blob, _ = media[position]
        blob_member = f'"blob":"{blob}",' if blob else ""
        media_member = f',"media":"{state}"' if state else ""
        leaf = (
            f'{{"attributes":{{{blob_member}"direction":"{direction}",'
            f'"import_id":{import_id},"line":{line}{media_member},"message_kind":"{kind}",'
            f'"type":"{message_type}"}},"content":"{b64(raw, newline=False).decode()}",'
            f'"index":{index},"kind":"{ENTRY_KIND}","platform_id":"{fingerprint}",'
            f'{retention}"start_year":{year}}},{subject},"time":"{time}",'
            f'"v":{ENVELOPE_VERSION}}}'
        ).encode()
        entries.append(
            (index, leaf, ENTRY_KIND, subject_id, fingerprint, sha256(b"\x00" + leaf).digest())
        )
    return entries
