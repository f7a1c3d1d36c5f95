"""Errors of the archive: keys, pseudonyms, blobs and (later) the log.

ArchiveError
├── BlobIntegrityError       stored media bytes do not match their content hash
├── TreeRangeError           a proof was asked for an index or sizes the tree does not have
├── ProofError               an inclusion or consistency proof does not verify
│   └── RootMismatchError    the root a proof leads to is not the root it should lead to
├── SignatureMismatchError   a signed tree head does not verify under the given key
├── TreeHeadFormatError      a tree head (or its JSON form) is malformed; names the field
├── ContentIntegrityError    sealed content is malformed, altered, or sealed for another subject
│   └── UnknownDataKeyError  the data key sealed content names is not in the key store
├── ContentErased            the content's bucket key was shredded; carries the date
├── KeyIntegrityError        a stored key does not unwrap: wrong master key or altered key store
├── MasterKeyError           a master key version is missing, or a rotation contradicts the keys
├── SubjectMismatchError     a bucket or data key belongs to another data subject
├── RetentionConfigError     a retention class is invalid; names the field
├── WitnessError             a witness could not take or hand back a head; names the witness
│   ├── WitnessRefusedError  the witness refused a head: it contradicts one it holds
│   ├── WitnessEvidenceError a cosignature or time-stamp token does not verify
│   └── WitnessStorageError  what a witness holds cannot be read; names the line
└── WitnessConfigError       an [[archive.witness]] entry is invalid; names the field
"""

from __future__ import annotations

from datetime import datetime

from chatproof.domain.errors import ChatproofError


class ArchiveError(ChatproofError):
    """Base of errors raised by chatproof.archive."""


class BlobIntegrityError(ArchiveError):
    """Media bytes do not hash to the SHA-256 they were announced or stored under."""

    def __init__(self, expected: str, computed: str) -> None:
        self.expected = expected
        self.computed = computed
        super().__init__(f"content hash mismatch: expected {expected}, computed {computed}")


class TreeRangeError(ArchiveError):
    """A proof was requested for a leaf index or tree sizes outside the tree."""


class ProofError(ArchiveError):
    """An inclusion or consistency proof does not verify (RFC 9162 §2.1.3.2, §2.1.4.2)."""


class RootMismatchError(ProofError):
    """The root hash computed from a proof differs from the root it was checked against."""

    def __init__(self, expected: bytes, calculated: bytes, what: str = "root hash") -> None:
        self.expected = expected
        self.calculated = calculated
        self.what = what
        super().__init__(
            f"{what} mismatch: expected {expected.hex()}, calculated {calculated.hex()}"
        )


class SignatureMismatchError(ArchiveError):
    """A signed tree head's Ed25519 signature does not verify under the given public key."""

    def __init__(self, tree_size: int, reason: str) -> None:
        self.tree_size = tree_size
        self.reason = reason
        super().__init__(f"signed tree head at size {tree_size} does not verify: {reason}")


class TreeHeadFormatError(ArchiveError):
    """A tree head, or its JSON form, has a missing or malformed field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"tree head field {field!r}: {reason}")


# --- envelope encryption, key store and retention (invariant 4) ---


class ContentIntegrityError(ArchiveError):
    """Sealed content cannot be opened: it is malformed, was altered, or belongs to another
    subject. Never a reason to guess; the bytes are not what chatproof sealed."""

    def __init__(self, reason: str, key_id: str | None = None) -> None:
        self.reason = reason
        self.key_id = key_id
        where = f" (data key {key_id})" if key_id else ""
        super().__init__(f"sealed content does not open{where}: {reason}")


class UnknownDataKeyError(ContentIntegrityError):
    """The data key id in sealed content is not in the key store."""

    def __init__(self, key_id: str) -> None:
        super().__init__("no such data key in the key store", key_id)


class ContentErased(ArchiveError):
    """The content was crypto-shredded: its bucket key is destroyed, so it can never be read."""

    def __init__(self, shredded_at: datetime, bucket_id: str) -> None:
        self.shredded_at = shredded_at
        self.bucket_id = bucket_id
        super().__init__(f"content erased on {shredded_at:%Y-%m-%d} (bucket {bucket_id})")


class KeyIntegrityError(ArchiveError):
    """A wrapped key in the key store does not unwrap under the key meant to wrap it."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key} does not unwrap: {reason}")


class MasterKeyError(ArchiveError):
    """A master key version needed is not loaded, or a rotation contradicts the known keys."""


class SubjectMismatchError(ArchiveError):
    """A bucket or data key was used for a data subject it does not belong to."""

    def __init__(self, expected: str, given: str) -> None:
        self.expected = expected
        self.given = given
        super().__init__(f"belongs to subject {expected}, not {given}")


class RetentionConfigError(ArchiveError):
    """A retention class is missing a field or has an invalid one."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# --- witnesses: heads held outside the operator's reach (invariant 3) ---


class WitnessError(ArchiveError):
    """A witness could not take or hand back a tree head: unreachable, or answered nonsense."""

    def __init__(self, witness: str, reason: str) -> None:
        self.witness = witness
        self.reason = reason
        super().__init__(f"witness {witness}: {reason}")


class WitnessRefusedError(WitnessError):
    """The witness refused a head: it contradicts one the witness holds (a smaller tree size,
    another root at the same size, a consistency proof that does not verify), or it is not
    signed by the log the witness follows."""


class WitnessEvidenceError(WitnessError):
    """What the witness answered does not verify: a cosignature or a time-stamp token."""


class WitnessStorageError(WitnessError):
    """What a witness holds cannot be read back; names the line when there is one."""

    def __init__(self, witness: str, line: int | None, reason: str) -> None:
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(witness, f"{where}{reason}")


class WitnessConfigError(ArchiveError):
    """An ``[[archive.witness]]`` entry is missing a field or has an invalid one."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
