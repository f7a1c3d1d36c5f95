"""RFC 3161 time-stamp tokens: the request, and every check of the answer (DESIGN invariant 3).

A token from a time-stamping authority says "this hash existed at this time", signed by the
TSA; stored with a tree head, it shows the head was made by then, so a history rewritten
later cannot carry tokens from the past. A token counts only after it is checked: status
granted, message imprint, nonce, the CMS signed attributes (content type, message digest,
signing certificate) and the signature under the TSA certificate the token carries, and,
when CA certificates are given, that certificate's chain up to one of them. No network here,
so the verifier can re-check stored tokens. ASN.1 comes from asn1crypto; signatures and
certificates from cryptography.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from chatproof.archive.errors import WitnessError, WitnessEvidenceError

__all__ = [
    "QUERY_TYPE",
    "REPLY_TYPE",
    "TimestampToken",
    "timestamp_request",
    "verify_timestamp_response",
    "verify_timestamp_token",
]

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_MAX_CHAIN = 8


class _TimeStampResp(core.Sequence):
    """RFC 3161's TimeStampResp, whose token is OPTIONAL: asn1crypto's requires it, so a
    refusal would not even parse."""

    _fields: ClassVar = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Refused(Exception):
    """A check of the token failed; the message says which."""


@dataclass(frozen=True)
class TimestampToken:
    """A verified time-stamp token: its DER bytes, the time the TSA vouches for, and its signer."""

    der: bytes
    gen_time: datetime
    serial_number: int
    signer: x509.Certificate


def timestamp_request(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 `digest`, asking for the TSA certificate."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def verify_timestamp_response(
    response: bytes,
    digest: bytes,
    nonce: int,
    ca_certificates: Sequence[x509.Certificate] | None = None,
    *,
    name: str = "time-stamping authority",
) -> TimestampToken:
    """Check a DER TimeStampResp answering `timestamp_request(digest, nonce)`.

    Raises:
        WitnessError: the TSA did not grant the request (says why, when it did).
        WitnessEvidenceError: the answer or its token does not verify (says which check).
    """
    try:
        parsed = _TimeStampResp.load(response)
        status = parsed["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            texts = parsed["status"]["status_string"].native or []
            raise WitnessError(name, f"refused the request ({status}: {'; '.join(texts)})")
        token = parsed["time_stamp_token"].dump()
    except (ValueError, TypeError, KeyError) as exc:
        raise WitnessEvidenceError(name, f"the answer is not a TimeStampResp: {exc}") from None
    if not token:
        raise WitnessEvidenceError(name, "granted the request but sent no token")
    return verify_timestamp_token(
        token, digest, nonce=nonce, ca_certificates=ca_certificates, name=name
    )


def verify_timestamp_token(
    token: bytes,
    digest: bytes,
    *,
    nonce: int | None = None,
    ca_certificates: Sequence[x509.Certificate] | None = None,
    name: str = "time-stamping authority",
) -> TimestampToken:
    """Check a DER time-stamp token (CMS SignedData over a TSTInfo) for a SHA-256 `digest`.

    Without `ca_certificates` the signature is checked under the certificate the token carries,
    which shows the token is intact but not whose it is; with them, that certificate must also
    chain to one of them. Usable later on stored evidence (then without `nonce`).

    Raises:
        WitnessEvidenceError: naming the check that failed.
    """
    try:
        return _verify_token(token, digest, nonce, ca_certificates)
    except _Refused as refusal:
        reason = str(refusal)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        # asn1crypto parses lazily, so malformed DER can surface at any field access.
        reason = f"it is malformed ({exc})"
    raise WitnessEvidenceError(name, f"time-stamp token refused: {reason}")


def _verify_token(
    token: bytes,
    digest: bytes,
    nonce: int | None,
    ca_certificates: Sequence[x509.Certificate] | None,
) -> TimestampToken:
    try:
        content = cms.ContentInfo.load(token)
        if content["content_type"].native != "signed_data":
            raise _Refused("it is not CMS SignedData")
        signed = content["content"]
        encapsulated = signed["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise _Refused("it does not time-stamp a TSTInfo")
        tst_der = encapsulated["content"].contents
        info = tsp.TSTInfo.load(tst_der)
        imprint = info["message_imprint"]
        imprint_algorithm = imprint["hash_algorithm"]["algorithm"].native
        imprint_digest = imprint["hashed_message"].native
        token_nonce = info["nonce"].native
        gen_time = info["gen_time"].native
        serial_number = info["serial_number"].native
        signer_infos = list(signed["signer_infos"])
        certificates = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed["certificates"] or []
            if choice.name == "certificate"
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise _Refused(f"it is not valid DER ({exc})") from None
    if imprint_algorithm != "sha256" or imprint_digest != digest:
        raise _Refused("its message imprint is not the SHA-256 of the tree head")
    if nonce is not None and token_nonce != nonce:
        raise _Refused(f"its nonce {token_nonce} is not the request's {nonce}")
    if len(signer_infos) != 1:
        raise _Refused(f"it has {len(signer_infos)} signers, not one")
    signer = _verify_signer(signer_infos[0], tst_der, certificates)
    if not _valid_at(signer, gen_time):
        raise _Refused(f"its time {gen_time.isoformat()} is outside the certificate's validity")
    if ca_certificates is not None:
        _check_chain(signer, certificates, ca_certificates, gen_time)
    return TimestampToken(token, gen_time, serial_number, signer)


def _verify_signer(
    signer_info: cms.SignerInfo, tst_der: bytes, certificates: list[x509.Certificate]
) -> x509.Certificate:
    certificate = _signer_certificate(signer_info["sid"], certificates)
    if certificate is None:
        raise _Refused("the signer's certificate is not in the token")
    if not _is_timestamping(certificate):
        raise _Refused("the signer's certificate is not for time-stamping (extended key usage)")
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise _Refused(f"digest algorithm {digest_name} is not accepted")
    attributes = signer_info["signed_attrs"]
    if not attributes:
        raise _Refused("it has no signed attributes")
    values = {attr["type"].native: attr["values"] for attr in attributes}
    if _first(values, "content_type") != "tst_info":
        raise _Refused("its signed content type is not TSTInfo")
    if _first(values, "message_digest") != hashlib.new(digest_name, tst_der).digest():
        raise _Refused("the signed message digest does not match the TSTInfo")
    _check_signing_certificate(values, certificate)
    # The signature covers the attributes DER-encoded as a SET OF, not with their [0] tag.
    signed_bytes = b"\x31" + attributes.dump()[1:]
    try:
        _verify_signature(
            certificate.public_key(),
            signer_info["signature"].native,
            signed_bytes,
            signer_info["signature_algorithm"],
            _HASHES[digest_name](),
        )
    except InvalidSignature:
        raise _Refused("its signature does not verify under the signer's certificate") from None
    return certificate


def _first(values: Mapping[str, cms.SetOfAny], attribute: str) -> object:
    found = values.get(attribute)
    return found[0].native if found else None


def _signer_certificate(
    sid: cms.SignerIdentifier, certificates: list[x509.Certificate]
) -> x509.Certificate | None:
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                certificate.serial_number == wanted["serial_number"].native
                and certificate.issuer.public_bytes() == wanted["issuer"].dump()
            ):
                return certificate
        elif _key_identifier(certificate) == sid.chosen.native:
            return certificate
    return None


def _key_identifier(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        pass
    try:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
    except (TypeError, ValueError):
        return None


def _is_timestamping(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in usage


def _check_signing_certificate(
    values: Mapping[str, cms.SetOfAny], certificate: x509.Certificate
) -> None:
    # RFC 3161 §2.4.2 and RFC 5816: the signed attributes name the signer's certificate by
    # hash, so the token cannot be passed off as signed by another certificate for that key.
    der = certificate.public_bytes(Encoding.DER)
    if "signing_certificate_v2" in values:
        cert_id = values["signing_certificate_v2"][0]["certs"][0]
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise _Refused(f"signing certificate hash {algorithm} is not accepted")
        expected = hashlib.new(algorithm, der).digest()
    elif "signing_certificate" in values:
        cert_id = values["signing_certificate"][0]["certs"][0]
        expected = hashlib.sha1(der).digest()
    else:
        raise _Refused("it does not name its signing certificate")
    if cert_id["cert_hash"].native != expected:
        raise _Refused("the signing certificate it names is not the one that signed")


def _verify_signature(
    key: object,
    signature: bytes,
    data: bytes,
    algorithm: algos.SignedDigestAlgorithm,
    digest: hashes.HashAlgorithm,
) -> None:
    kind = algorithm.signature_algo
    if kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), digest)
    elif kind == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
        params = algorithm["parameters"]
        pss_hash = _HASHES[params["hash_algorithm"]["algorithm"].native]()
        salt = params["salt_length"].native
        key.verify(signature, data, padding.PSS(padding.MGF1(pss_hash), salt), pss_hash)
    elif kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(digest))
    elif kind == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    else:
        raise _Refused(f"signature algorithm {kind} with this certificate's key is not supported")


def _check_chain(
    signer: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    certificate = signer
    for _ in range(_MAX_CHAIN):
        if certificate in roots:
            return
        issuer = _issuer_of(certificate, roots) or _issuer_of(certificate, intermediates)
        if issuer is None:
            raise _Refused(
                f"the certificate of {certificate.subject.rfc4514_string()} "
                "does not chain to a configured CA certificate"
            )
        if issuer in roots:
            return
        if not _is_ca(issuer) or not _valid_at(issuer, at):
            raise _Refused(f"{issuer.subject.rfc4514_string()} is not a valid CA at that time")
        certificate = issuer
    raise _Refused("its certificate chain is too long")


def _issuer_of(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate == certificate or candidate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _valid_at(certificate: x509.Certificate, at: datetime) -> bool:
    return certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
