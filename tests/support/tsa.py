"""A local RFC 3161 time-stamping authority for tests: real tokens, real signatures.

`make_tsa_identity` makes a CA and a time-stamping certificate it issued (EC P-256 or RSA,
generated at fixture time); `create_tsa_app` answers `application/timestamp-query` with a
CMS SignedData over a TSTInfo, signed the way a real TSA signs, so the client's checks run for
real. `fault` makes it answer wrongly in one way, to show each check refuses.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import Sequence
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Fault = Literal["imprint", "nonce", "signature", "rejection", "message_digest", "signer_cert"]

POLICY = "1.3.6.1.4.1.55555.1.1"


class _StatusOnlyResponse(Sequence):
    """TimeStampResp without its token, as a TSA refuses (asn1crypto requires the token)."""

    _fields: ClassVar = [("status", tsp.PKIStatusInfo)]


SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class TsaIdentity:
    key: SigningKey
    certificate: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    ca_certificate: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(
    common_name: str = "chatproof test CA",
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_tsa_identity(*, time_stamping: bool = True, rsa_key: bool = False) -> TsaIdentity:
    """A CA and a TSA certificate it issued (with the time-stamping usage unless told not)."""
    ca_key, ca_certificate = make_ca()
    key: SigningKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("chatproof test TSA"))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
    )
    if time_stamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return TsaIdentity(key, builder.sign(ca_key, hashes.SHA256()), ca_key, ca_certificate)


def timestamp_response(
    identity: TsaIdentity,
    request_der: bytes,
    *,
    serial_number: int,
    now: datetime,
    fault: Fault | None = None,
    by_key_id: bool = False,
) -> bytes:
    """The DER TimeStampResp a TSA would send for `request_der`; `by_key_id` names the signer
    by subject key identifier instead of issuer and serial number."""
    if fault == "rejection":
        return _StatusOnlyResponse(
            {"status": {"status": "rejection", "status_string": ["policy says no"]}}
        ).dump()
    request = tsp.TimeStampReq.load(request_der)
    imprint = request["message_imprint"]
    hashed = imprint["hashed_message"].native
    nonce = request["nonce"].native
    info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": {
                "hash_algorithm": {"algorithm": imprint["hash_algorithm"]["algorithm"].native},
                "hashed_message": bytes(32) if fault == "imprint" else hashed,
            },
            "serial_number": serial_number,
            "gen_time": now,
            "nonce": nonce + 1 if fault == "nonce" else nonce,
        }
    )
    tst_der = info.dump()
    certificate_der = identity.certificate.public_bytes(Encoding.DER)
    certificate = asn1_x509.Certificate.load(certificate_der)
    signed_for = b"another certificate" if fault == "signer_cert" else certificate_der
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {
                "type": "message_digest",
                "values": [
                    hashlib.sha256(tst_der + (b"!" if fault == "message_digest" else b"")).digest()
                ],
            },
            {
                "type": "signing_certificate_v2",
                "values": [{"certs": [{"cert_hash": hashlib.sha256(signed_for).digest()}]}],
            },
        ]
    )
    to_sign = attributes.dump() + (b"tampered" if fault == "signature" else b"")
    if isinstance(identity.key, rsa.RSAPrivateKey):
        algorithm = "sha256_rsa"
        signature = identity.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    else:
        algorithm = "sha256_ecdsa"
        signature = identity.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    if by_key_id:
        key_id = x509.SubjectKeyIdentifier.from_public_key(identity.key.public_key()).digest
        sid = cms.SignerIdentifier(name="subject_key_identifier", value=key_id)
    else:
        sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
        )
    signer_info = cms.SignerInfo(
        {
            "version": "v3" if by_key_id else "v1",
            "sid": sid,
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_der),
            },
            "certificates": [certificate] if request["cert_req"].native else [],
            "signer_infos": [signer_info],
        }
    )
    token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def create_tsa_app(
    identity: TsaIdentity, *, fault: Fault | None = None, by_key_id: bool = False
) -> Starlette:
    """An RFC 3161 endpoint at POST /tsr; `requests` on `app.state` counts what it answered."""
    serials = itertools.count(1)

    async def answer(request: Request) -> Response:
        if request.headers.get("content-type") != "application/timestamp-query":
            return Response("expected application/timestamp-query", status_code=415)
        body = await request.body()
        response = timestamp_response(
            identity,
            body,
            serial_number=next(serials),
            now=datetime.now(UTC),
            fault=fault,
            by_key_id=by_key_id,
        )
        app.state.requests += 1
        return Response(response, media_type="application/timestamp-reply")

    app = Starlette(routes=[Route("/tsr", answer, methods=["POST"])])
    app.state.requests = 0
    return app
