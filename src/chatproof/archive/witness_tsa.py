"""A witness that is an RFC 3161 time-stamping authority (DESIGN invariant 3).

A TSA keeps nothing for us: the token it returns, over SHA-256 of the head's 50-byte signature
input (`tree_head.signature_input`), is the evidence and is checked (`timestamp`) before the
receipt is handed back, so an unverifiable answer never counts as witnessed.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509

from chatproof.archive.errors import WitnessError
from chatproof.archive.timestamp import (
    QUERY_TYPE,
    REPLY_TYPE,
    timestamp_request,
    verify_timestamp_response,
)
from chatproof.archive.tree_head import SignedTreeHead, signature_input
from chatproof.archive.witness import (
    ConsistencyProver,
    Witness,
    WitnessedHead,
    WitnessKind,
    WitnessReceipt,
)
from chatproof.archive.witness_http import DEFAULT_TIMEOUT

__all__ = ["TsaWitness"]

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TsaWitness(Witness):
    """An RFC 3161 time-stamping authority at `url`.

    It holds nothing we can list later (`heads` is empty): the receipt's DER token is the
    evidence, and must be stored with the head.
    """

    def __init__(
        self,
        url: str,
        *,
        ca_certificates: Sequence[x509.Certificate] | None = None,
        name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.ca_certificates = list(ca_certificates) if ca_certificates is not None else None
        self.name = name or url
        self._transport = transport
        self._timeout = timeout

    async def submit(
        self, sth: SignedTreeHead, consistency: ConsistencyProver | None = None
    ) -> WitnessReceipt:
        digest = hashlib.sha256(signature_input(sth.head)).digest()
        nonce = secrets.randbits(64)
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout
            ) as client:
                response = await client.post(
                    self.url,
                    content=timestamp_request(digest, nonce),
                    headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
                )
        except httpx.HTTPError as exc:
            raise WitnessError(self.name, f"unreachable: {exc!r}") from None
        if response.status_code != 200:
            raise WitnessError(self.name, f"answered {response.status_code}")
        token = verify_timestamp_response(
            response.content, digest, nonce, self.ca_certificates, name=self.name
        )
        logger.info(
            "witness %s time-stamped tree head size=%d serial=%d",
            self.name,
            sth.head.tree_size,
            token.serial_number,
        )
        return WitnessReceipt(
            witness=self.name,
            tree_size=sth.head.tree_size,
            root_hash=sth.head.root_hash,
            received_at_ms=(token.gen_time - _EPOCH) // timedelta(milliseconds=1),
            evidence=token.der,
            kind=WitnessKind.TSA,
        )

    async def heads(self) -> list[WitnessedHead]:
        return []
