"""The RFC 3161 witness: `TsaWitness` against a local TSA stand-in that signs real tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatproof.archive.errors import WitnessError, WitnessEvidenceError
from chatproof.archive.merkle import MemoryTree
from chatproof.archive.timestamp import timestamp_request, verify_timestamp_token
from chatproof.archive.tree_head import SignedTreeHead, TreeHead, sign_tree_head, signature_input
from chatproof.archive.witness import WitnessKind
from chatproof.archive.witness_tsa import TsaWitness
from tests.support.tsa import (
    Fault,
    TsaIdentity,
    create_tsa_app,
    make_ca,
    make_tsa_identity,
    timestamp_response,
)

URL = "http://tsa.test/tsr"
LOG = MemoryTree(f"event {i}".encode() for i in range(9))
HEAD = sign_tree_head(
    TreeHead(9, LOG.root_hash(), 1_700_000_000_000),
    Ed25519PrivateKey.from_private_bytes(b"L" * 32),
)
DIGEST = hashlib.sha256(signature_input(HEAD.head)).digest()


@pytest.fixture(scope="module")
def identity() -> TsaIdentity:
    return make_tsa_identity()


def tsa(
    identity: TsaIdentity,
    *,
    fault: Fault | None = None,
    ca_certificates: list[x509.Certificate] | None = None,
) -> TsaWitness:
    app = create_tsa_app(identity, fault=fault)
    return TsaWitness(URL, transport=httpx.ASGITransport(app), ca_certificates=ca_certificates)


async def test_a_head_is_time_stamped_and_the_token_kept(identity: TsaIdentity) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    receipt = await tsa(identity, ca_certificates=[identity.ca_certificate]).submit(HEAD)

    assert (receipt.kind, receipt.witness) == (WitnessKind.TSA, URL)
    assert (receipt.tree_size, receipt.root_hash) == (9, LOG.root_hash())
    token = verify_timestamp_token(
        receipt.evidence, DIGEST, ca_certificates=[identity.ca_certificate]
    )
    assert token.signer == identity.certificate
    assert before <= token.gen_time <= datetime.now(UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert receipt.received_at_ms == (token.gen_time - epoch) // timedelta(milliseconds=1)
    info = cms.ContentInfo.load(receipt.evidence)["content"]["encap_content_info"]["content"]
    assert info.parsed["message_imprint"]["hashed_message"].native == DIGEST


@pytest.mark.parametrize("rsa_key", [False, True], ids=["ecdsa", "rsa"])
@pytest.mark.parametrize("by_key_id", [False, True], ids=["issuer-serial", "key-id"])
async def test_signers_are_found_either_way_for_either_key(rsa_key: bool, by_key_id: bool) -> None:
    identity = make_tsa_identity(rsa_key=rsa_key)
    app = create_tsa_app(identity, by_key_id=by_key_id)
    witness = TsaWitness(
        URL, transport=httpx.ASGITransport(app), ca_certificates=[identity.ca_certificate]
    )
    receipt = await witness.submit(HEAD)
    assert verify_timestamp_token(receipt.evidence, DIGEST).signer == identity.certificate


async def test_the_request_is_rfc_3161(identity: TsaIdentity) -> None:
    seen: list[tsp.TimeStampReq] = []
    app = create_tsa_app(identity)
    inner = httpx.ASGITransport(app)

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append(tsp.TimeStampReq.load(request.content))
        assert request.headers["content-type"] == "application/timestamp-query"
        return await inner.handle_async_request(request)

    witness = TsaWitness(URL, transport=httpx.MockTransport(record))
    await witness.submit(HEAD)
    await witness.submit(HEAD)

    first, second = seen
    assert first["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert first["message_imprint"]["hashed_message"].native == DIGEST
    assert first["cert_req"].native is True
    assert first["nonce"].native != second["nonce"].native


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("imprint", "message imprint is not the SHA-256 of the tree head"),
        ("nonce", "is not the request's"),
        ("signature", "signature does not verify"),
        ("message_digest", "signed message digest does not match"),
        ("signer_cert", "signing certificate it names is not the one that signed"),
    ],
)
async def test_a_wrong_answer_is_refused(identity: TsaIdentity, fault: Fault, reason: str) -> None:
    with pytest.raises(WitnessEvidenceError) as caught:
        await tsa(identity, fault=fault).submit(HEAD)
    assert reason in str(caught.value)


async def test_a_refusal_by_the_tsa_says_why(identity: TsaIdentity) -> None:
    with pytest.raises(WitnessError, match=r"refused the request \(rejection: policy says no\)"):
        await tsa(identity, fault="rejection").submit(HEAD)


async def test_garbage_is_not_a_token(identity: TsaIdentity) -> None:
    receipt = await tsa(identity).submit(HEAD)
    with pytest.raises(WitnessEvidenceError, match="time-stamp token refused"):
        verify_timestamp_token(receipt.evidence[:-40], DIGEST)
    with pytest.raises(WitnessEvidenceError, match="time-stamp token refused"):
        verify_timestamp_token(b"\x30\x03\x02\x01\x01", DIGEST)


async def test_a_token_from_another_ca_is_refused(identity: TsaIdentity) -> None:
    _, stranger = make_ca("another CA")
    with pytest.raises(WitnessEvidenceError, match="does not chain to a configured CA"):
        await tsa(identity, ca_certificates=[stranger]).submit(HEAD)


async def test_a_certificate_without_time_stamping_usage_is_refused() -> None:
    with pytest.raises(WitnessEvidenceError, match="not for time-stamping"):
        await tsa(make_tsa_identity(time_stamping=False)).submit(HEAD)


async def test_a_token_for_another_head_is_refused(identity: TsaIdentity) -> None:
    receipt = await tsa(identity).submit(HEAD)
    other = SignedTreeHead(
        TreeHead(8, LOG.root_hash(8), HEAD.head.timestamp_ms), HEAD.signature, HEAD.public_key
    )
    with pytest.raises(WitnessEvidenceError, match="message imprint"):
        verify_timestamp_token(
            receipt.evidence, hashlib.sha256(signature_input(other.head)).digest()
        )


async def test_an_altered_token_is_refused(identity: TsaIdentity) -> None:
    receipt = await tsa(identity).submit(HEAD)
    version = receipt.evidence.find(b"\x02\x01\x01")  # the TSTInfo's version, INTEGER 1
    altered = receipt.evidence[: version + 2] + b"\x02" + receipt.evidence[version + 3 :]
    with pytest.raises(WitnessEvidenceError, match="signed message digest does not match"):
        verify_timestamp_token(altered, DIGEST)


def test_a_token_outside_the_certificate_validity_is_refused(identity: TsaIdentity) -> None:
    late = datetime.now(UTC) + timedelta(days=365)
    response = timestamp_response(identity, timestamp_request(DIGEST, 7), serial_number=1, now=late)
    token = tsp.TimeStampResp.load(response)["time_stamp_token"].dump()
    with pytest.raises(WitnessEvidenceError, match="outside the certificate's validity"):
        verify_timestamp_token(token, DIGEST, nonce=7)


async def test_a_tsa_that_is_down_is_a_witness_error() -> None:
    witness = TsaWitness(URL, transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    with pytest.raises(WitnessError, match="answered 503"):
        await witness.submit(HEAD)
    assert await witness.heads() == []
