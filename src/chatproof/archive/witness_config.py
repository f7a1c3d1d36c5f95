"""Witnesses from settings (DESIGN invariant 3): the ``[[archive.witness]]`` tables.

    [[archive.witness]]
    kind = "file"
    path = "/mnt/other/heads.jsonl"

    [[archive.witness]]
    kind = "http"
    url = "https://witness.example.org"
    public_key = "<base64 of the witness's raw 32-byte Ed25519 key>"

    [[archive.witness]]
    kind = "tsa"
    url = "https://tsa.example.org/tsr"
    ca_file = "/etc/chatproof/tsa-ca.pem"   # optional: PEM CA certificates the TSA must chain to

Each table may also set `name`. Unknown keys are errors, so a typo never silently drops a
witness. Without any witness the log works, but the admin is warned (`NO_WITNESS_WARNING`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509

from chatproof.archive.errors import WitnessConfigError
from chatproof.archive.tree_head import PUBLIC_KEY_SIZE
from chatproof.archive.witness import NO_WITNESS_WARNING, Witness, WitnessKind
from chatproof.archive.witness_file import FileWitness
from chatproof.archive.witness_http import HttpWitness
from chatproof.archive.witness_tsa import TsaWitness

__all__ = ["witnesses_from_config"]

logger = logging.getLogger(__name__)

_KEYS = {
    WitnessKind.FILE: ({"path"}, set()),
    WitnessKind.HTTP: ({"url", "public_key"}, set()),
    WitnessKind.TSA: ({"url"}, {"ca_file"}),
}


def witnesses_from_config(archive: Mapping[str, object]) -> list[Witness]:
    """The witnesses of the ``[archive]`` settings table, in the order configured.

    Logs a warning when there is none.

    Raises:
        WitnessConfigError: naming the field, e.g. ``archive.witness[1].public_key``.
    """
    entries = archive.get("witness", [])
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        raise WitnessConfigError(
            "archive.witness", "must be a list of tables ([[archive.witness]])"
        )
    witnesses = [_witness(f"archive.witness[{i}]", entry) for i, entry in enumerate(entries)]
    if not witnesses:
        logger.warning("%s", NO_WITNESS_WARNING)
    return witnesses


def _witness(prefix: str, entry: object) -> Witness:
    if not isinstance(entry, Mapping):
        raise WitnessConfigError(prefix, "must be a table")
    kinds = ", ".join(repr(k.value) for k in WitnessKind)
    raw_kind = entry.get("kind")
    if raw_kind is None:
        raise WitnessConfigError(f"{prefix}.kind", f"is missing (one of {kinds})")
    try:
        kind = WitnessKind(raw_kind)
    except ValueError:
        raise WitnessConfigError(f"{prefix}.kind", f"{raw_kind!r} is not one of {kinds}") from None
    required, optional = _KEYS[kind]
    for key in sorted(required):
        if key not in entry:
            raise WitnessConfigError(f"{prefix}.{key}", f"is missing (needed for kind {kind})")
    unknown = sorted(set(entry) - required - optional - {"kind", "name"})
    if unknown:
        raise WitnessConfigError(f"{prefix}.{unknown[0]}", f"is not a setting of kind {kind}")
    name = _string(entry, prefix, "name") if "name" in entry else None
    if kind is WitnessKind.FILE:
        return FileWitness(_string(entry, prefix, "path"), name=name)
    url = _url(entry, prefix)
    if kind is WitnessKind.HTTP:
        return HttpWitness(url, _public_key(entry, prefix), name=name)
    ca_certificates = _ca_certificates(entry, prefix) if "ca_file" in entry else None
    return TsaWitness(url, ca_certificates=ca_certificates, name=name)


def _string(entry: Mapping[str, object], prefix: str, key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise WitnessConfigError(f"{prefix}.{key}", "must be a non-empty string")
    return value


def _url(entry: Mapping[str, object], prefix: str) -> str:
    url = _string(entry, prefix, "url")
    if not url.startswith(("https://", "http://")):
        raise WitnessConfigError(f"{prefix}.url", f"{url!r} is not an http(s) URL")
    return url


def _public_key(entry: Mapping[str, object], prefix: str) -> bytes:
    value = _string(entry, prefix, "public_key")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise WitnessConfigError(f"{prefix}.public_key", "is not base64") from None
    if len(raw) != PUBLIC_KEY_SIZE:
        raise WitnessConfigError(
            f"{prefix}.public_key",
            f"must decode to a raw {PUBLIC_KEY_SIZE}-byte Ed25519 key, got {len(raw)} bytes",
        )
    return raw


def _ca_certificates(entry: Mapping[str, object], prefix: str) -> list[x509.Certificate]:
    path = Path(_string(entry, prefix, "ca_file"))
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise WitnessConfigError(
            f"{prefix}.ca_file", f"cannot read {path}: {exc.strerror}"
        ) from None
    except ValueError:
        raise WitnessConfigError(
            f"{prefix}.ca_file", f"{path} holds no PEM certificate that can be read"
        ) from None
    return certificates
