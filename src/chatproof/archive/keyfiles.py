"""Key files in the data directory: the master key (wraps every data key, DESIGN invariant 4)
and the Ed25519 key that signs tree heads (invariant 3). Both are readable by the owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatproof.archive.errors import ArchiveError

MASTER_KEY_FILE = "master.key"
SIGNING_KEY_FILE = "signing.key"
PUBLIC_KEY_FILE = "signing.pub"
MASTER_KEY_BYTES = 32


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def create_keys(keys_dir: Path) -> None:
    """Raises:
    ArchiveError: a key file already exists (keys are never silently replaced).
    """
    signing = Ed25519PrivateKey.generate()
    try:
        _write_private(
            keys_dir / MASTER_KEY_FILE, secrets.token_bytes(MASTER_KEY_BYTES).hex().encode()
        )
        _write_private(
            keys_dir / SIGNING_KEY_FILE,
            signing.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    except FileExistsError as exc:
        raise ArchiveError(f"{exc.filename} already exists; keys are never replaced") from None
    (keys_dir / PUBLIC_KEY_FILE).write_bytes(
        signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_master_key(keys_dir: Path) -> bytes:
    """The current master key (``master.key``; see ``master_keys`` for older versions).

    Raises:
        ArchiveError: the master key is missing, unreadable or malformed.
    """
    return read_master_key_file(keys_dir / MASTER_KEY_FILE)[1]


def read_master_key_file(path: Path) -> tuple[int, bytes]:
    """(version, key) from a master key file: ``<hex>`` is version 1 (as ``chatproof init``
    writes it), ``v<N>:<hex>`` version N.

    Raises:
        ArchiveError: the file is missing, unreadable or malformed.
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ArchiveError(f"{path} is missing; run `chatproof init` first") from None
    version_text, _, hex_key = text.rpartition(":")
    try:
        version = int(version_text.removeprefix("v")) if version_text else 1
        key = bytes.fromhex(hex_key)
    except ValueError:
        raise ArchiveError(f"{path} is not a hex-encoded key") from None
    if version < 1:
        raise ArchiveError(f"{path}: version {version} is not a master key version")
    if len(key) != MASTER_KEY_BYTES:
        raise ArchiveError(f"{path} must hold {MASTER_KEY_BYTES} bytes, not {len(key)}")
    return version, key


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose, so the master key itself is used only to wrap keys."""
    return hmac.new(master_key, b"chatproof/v1/" + purpose.encode(), hashlib.sha256).digest()


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Raises:
    ArchiveError: the key is missing or not an Ed25519 private key in PEM.
    """
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ArchiveError(f"{path} is missing; run `chatproof init` first") from None
    except ValueError:
        raise ArchiveError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ArchiveError(f"{path} is not an Ed25519 key")
    return key
