"""A witness that countersigns tree heads over HTTP (DESIGN invariant 3).

The witness runs elsewhere, under someone else's control, with its own Ed25519 key. It keeps
every head it countersigned and refuses one that contradicts them, so even the holder of the
log's signing key cannot get a rewritten history countersigned. `witness_server` is one.

Protocol (JSON over HTTP; `url` is the witness's base URL):

    GET  {url}/head     → 200 the latest cosignature, or 404 when it holds none yet
    GET  {url}/heads    → 200 {"heads": [cosignature, …]}, oldest first
    POST {url}/cosign   ← {"sth": <SignedTreeHead.to_json()>,
                           "previous_size": m, "consistency_proof": ["<hex>", …]}
                        → 200 cosignature
                        → 400 {"error", "field"}: the request is malformed
                        → 403 {"error"}: the head's signature does not verify, or it is signed
                              by another key than the log's the witness follows
                        → 409 {"error", "tree_size", "root_hash"}: the head contradicts the
                              latest one the witness holds (given back): a smaller size, another
                              root at the same size, or a missing or failing consistency proof

    cosignature = {"tree_size": n, "root_hash": "<hex>", "timestamp": <witness clock, ms>,
                   "cosignature": "<base64>", "witness_key": "<base64 of the raw 32 bytes>"}

`previous_size` and `consistency_proof` are required when the witness holds a head of size m
with 0 < m < n: the RFC 9162 proof that the head of size m is a prefix of the new one. The
cosignature is Ed25519 by the witness key over RFC 6962's 50-byte TreeHeadSignature of
(n, root, the witness's timestamp) — the log's own signature input with the witness's clock —
so it says "at this time, I saw the log at this size with this root" and checks with
`tree_head.verify_tree_head` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatproof.archive._jsonl import dump_line
from chatproof.archive.errors import (
    SignatureMismatchError,
    TreeHeadFormatError,
    WitnessError,
    WitnessEvidenceError,
    WitnessRefusedError,
)
from chatproof.archive.tree_head import (
    PUBLIC_KEY_SIZE,
    SignedTreeHead,
    TreeHead,
    sign_tree_head,
    verify_tree_head,
)
from chatproof.archive.witness import (
    ConsistencyProver,
    Witness,
    WitnessedHead,
    WitnessKind,
    WitnessReceipt,
)

__all__ = ["DEFAULT_TIMEOUT", "Cosignature", "HttpWitness", "cosign"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
_SIGNED_FIELDS = {"cosignature": "signature", "witness_key": "public_key"}
_COSIGNED_FIELDS = {signed: cosigned for cosigned, signed in _SIGNED_FIELDS.items()}


@dataclass(frozen=True)
class Cosignature:
    """A witness's signature over (tree size, root, its own timestamp)."""

    head: TreeHead
    cosignature: bytes
    witness_key: bytes

    def to_json(self) -> dict[str, object]:
        doc = SignedTreeHead(self.head, self.cosignature, self.witness_key).to_json()
        return {_COSIGNED_FIELDS.get(field, field): value for field, value in doc.items()}

    @classmethod
    def from_json(cls, doc: object) -> Cosignature:
        """Parse the JSON form; this does not check the cosignature.

        Raises:
            TreeHeadFormatError: naming the first missing or malformed field.
        """
        if not isinstance(doc, Mapping):
            raise TreeHeadFormatError("cosignature", "must be a JSON object")
        renamed = {_SIGNED_FIELDS.get(str(key), str(key)): value for key, value in doc.items()}
        try:
            sth = SignedTreeHead.from_json(renamed)
        except TreeHeadFormatError as exc:
            field = _COSIGNED_FIELDS.get(exc.field, exc.field)
            raise TreeHeadFormatError(field, exc.reason) from None
        return cls(sth.head, sth.signature, sth.public_key)

    def verify(self, witness_key: bytes) -> None:
        """Check the cosignature under the trusted `witness_key` (32 raw bytes).

        Raises:
            SignatureMismatchError: another key, or a signature that does not verify.
        """
        verify_tree_head(SignedTreeHead(self.head, self.cosignature, self.witness_key), witness_key)


def cosign(head: TreeHead, private_key: Ed25519PrivateKey, timestamp_ms: int) -> Cosignature:
    """The witness's cosignature of `head`, at the witness's own `timestamp_ms`."""
    signed = sign_tree_head(TreeHead(head.tree_size, head.root_hash, timestamp_ms), private_key)
    return Cosignature(signed.head, signed.signature, signed.public_key)


class HttpWitness(Witness):
    """A countersigning witness at `url`, trusted by its raw 32-byte Ed25519 `public_key`."""

    def __init__(
        self,
        url: str,
        public_key: bytes,
        *,
        name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if len(public_key) != PUBLIC_KEY_SIZE:
            raise ValueError(f"a witness public key must be {PUBLIC_KEY_SIZE} raw bytes")
        self.url = url.rstrip("/")
        self.public_key = public_key
        self.name = name or self.url
        self._transport = transport
        self._timeout = timeout

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._transport, timeout=self._timeout)

    async def submit(
        self, sth: SignedTreeHead, consistency: ConsistencyProver | None = None
    ) -> WitnessReceipt:
        size = sth.head.tree_size
        request: dict[str, object] = {"sth": sth.to_json()}
        async with self._client() as client:
            latest = await self._latest(client)
            if latest is not None and 0 < latest.head.tree_size < size and consistency:
                previous = latest.head.tree_size
                request["previous_size"] = previous
                request["consistency_proof"] = [h.hex() for h in consistency(previous, size)]
            response = await self._call(client, "POST", "/cosign", json=request, allow=(403, 409))
        if response.status_code in (403, 409):
            raise WitnessRefusedError(self.name, _error_text(response))
        cosignature = self._verified(_json(self.name, response))
        if (cosignature.head.tree_size, cosignature.head.root_hash) != (size, sth.head.root_hash):
            raise WitnessEvidenceError(
                self.name, f"countersigned another head (size {cosignature.head.tree_size})"
            )
        logger.info("witness %s countersigned tree head size=%d", self.name, size)
        return WitnessReceipt(
            witness=self.name,
            tree_size=size,
            root_hash=sth.head.root_hash,
            received_at_ms=cosignature.head.timestamp_ms,
            evidence=dump_line(cosignature.to_json()),
            kind=WitnessKind.HTTP,
        )

    async def heads(self) -> list[WitnessedHead]:
        async with self._client() as client:
            response = await self._call(client, "GET", "/heads")
        doc = _json(self.name, response)
        items = doc.get("heads") if isinstance(doc, Mapping) else None
        if not isinstance(items, list):
            raise WitnessError(self.name, "answered /heads without a 'heads' list")
        return [
            WitnessedHead(self.name, c.head.tree_size, c.head.root_hash, c.head.timestamp_ms)
            for c in map(self._verified, items)
        ]

    async def _latest(self, client: httpx.AsyncClient) -> Cosignature | None:
        response = await self._call(client, "GET", "/head", allow=(404,))
        if response.status_code == 404:
            return None
        return self._verified(_json(self.name, response))

    async def _call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        json: object = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        try:
            response = await client.request(method, self.url + path, json=json)
        except httpx.HTTPError as exc:
            raise WitnessError(self.name, f"unreachable: {exc!r}") from None
        if response.status_code != 200 and response.status_code not in allow:
            status, text = response.status_code, _error_text(response)
            raise WitnessError(self.name, f"{method} {path} answered {status}: {text}")
        return response

    def _verified(self, doc: object) -> Cosignature:
        try:
            cosignature = Cosignature.from_json(doc)
            cosignature.verify(self.public_key)
        except (TreeHeadFormatError, SignatureMismatchError) as exc:
            raise WitnessEvidenceError(self.name, f"cosignature does not verify: {exc}") from None
        return cosignature


def _json(name: str, response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        raise WitnessError(
            name, f"answered {response.status_code} with a body that is not JSON"
        ) from None


def _error_text(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text[:200] or "(no body)"
    if isinstance(doc, Mapping) and isinstance(doc.get("error"), str):
        return doc["error"]
    return response.text[:200]
