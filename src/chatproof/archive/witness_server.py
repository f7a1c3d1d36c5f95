"""A countersigning witness server (DESIGN invariant 3): the other side of `HttpWitness`.

Run by someone other than the log's operator, it countersigns a head only if it extends the
latest head it countersigned, by an RFC 9162 consistency proof, so it never signs two
histories. Everything it signed is appended to a JSON-lines file (`_jsonl`) before it answers:
each line is the cosignature document plus the log's head under "sth". The protocol is in
`witness_http`'s docstring. A small Starlette app, so tests mount it in-process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatproof.archive._jsonl import AppendOnlyFile, read_lines
from chatproof.archive.errors import (
    ProofError,
    SignatureMismatchError,
    TreeHeadFormatError,
    WitnessStorageError,
)
from chatproof.archive.merkle import verify_consistency
from chatproof.archive.tree_head import SignedTreeHead, verify_tree_head
from chatproof.archive.witness import now_ms
from chatproof.archive.witness_http import cosign

__all__ = ["create_witness_app"]

logger = logging.getLogger(__name__)

_NAME = "witness server"
MAX_REQUEST_BYTES = 64 * 1024


class _Refused(Exception):
    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        self.status = status
        self.error = error
        self.field = field


class _State:
    """The latest countersigned head, loaded from the file once and kept in memory: the server
    is the file's only writer."""

    def __init__(self, path: Path, private_key: Ed25519PrivateKey, log_key: bytes | None) -> None:
        self.path = path
        self.private_key = private_key
        self.log_key = log_key
        self.lock = asyncio.Lock()
        self.latest: dict[str, object] | None = None
        self.latest_sth: SignedTreeHead | None = None
        self.loaded = False

    def load(self) -> None:
        if self.loaded:
            return
        with AppendOnlyFile(self.path, _NAME) as file:
            latest = file.last()
        if latest is not None:
            sth = latest.get("sth")
            try:
                if not isinstance(sth, Mapping):
                    raise TreeHeadFormatError("sth", "is missing")
                self.latest_sth = SignedTreeHead.from_json(sth)
            except TreeHeadFormatError as exc:
                raise WitnessStorageError(_NAME, None, f"the last line: {exc}") from None
        self.latest = latest
        self.loaded = True


def _parse_request(doc: object) -> tuple[SignedTreeHead, int | None, list[bytes]]:
    if not isinstance(doc, Mapping):
        raise _Refused(400, "the request must be a JSON object", "body")
    sth_doc = doc.get("sth")
    if not isinstance(sth_doc, Mapping):
        raise _Refused(400, "is missing or not a JSON object", "sth")
    try:
        sth = SignedTreeHead.from_json(sth_doc)
    except TreeHeadFormatError as exc:
        raise _Refused(400, str(exc), f"sth.{exc.field}") from None
    previous = doc.get("previous_size")
    if previous is not None and (not isinstance(previous, int) or isinstance(previous, bool)):
        raise _Refused(400, "must be an integer", "previous_size")
    raw_proof = doc.get("consistency_proof", [])
    if not isinstance(raw_proof, list) or not all(isinstance(h, str) for h in raw_proof):
        raise _Refused(400, "must be a list of hex strings", "consistency_proof")
    try:
        proof = [bytes.fromhex(h) for h in raw_proof]
    except ValueError:
        raise _Refused(400, "must be a list of hex strings", "consistency_proof") from None
    return sth, previous, proof


def _check(state: _State, sth: SignedTreeHead, previous: int | None, proof: list[bytes]) -> None:
    held = state.latest_sth
    log_key = state.log_key or (held.public_key if held else sth.public_key)
    try:
        verify_tree_head(sth, log_key)
    except SignatureMismatchError as exc:
        raise _Refused(403, str(exc)) from None
    if held is None:
        return
    size, held_size = sth.head.tree_size, held.head.tree_size
    if size < held_size:
        raise _Refused(409, f"tree size {size} is smaller than the head of size {held_size} held")
    if size == held_size:
        if sth.head.root_hash != held.head.root_hash:
            raise _Refused(409, f"another root at tree size {size} was countersigned")
        return
    if held_size == 0:
        return
    if previous != held_size:
        raise _Refused(
            409, f"a consistency proof from tree size {held_size} (previous_size) is needed"
        )
    try:
        verify_consistency(held_size, size, held.head.root_hash, sth.head.root_hash, proof)
    except ProofError as exc:
        reason = f"the head does not extend the one of size {held_size}: {exc}"
        raise _Refused(409, reason) from None


def create_witness_app(
    private_key: Ed25519PrivateKey,
    storage_path: Path | str,
    *,
    log_public_key: bytes | None = None,
    clock: Callable[[], int] = now_ms,
) -> Starlette:
    """A countersigning witness that keeps what it signed in `storage_path` (JSON lines).

    With `log_public_key` (raw 32 bytes) it countersigns only heads signed by that key;
    without, it follows the key of the first head it countersigned.
    """
    state = _State(Path(storage_path), private_key, log_public_key)

    def held(doc: Mapping[str, object]) -> dict[str, object]:
        return {key: value for key, value in doc.items() if key != "sth"}

    async def head(request: Request) -> JSONResponse:
        async with state.lock:
            await asyncio.to_thread(state.load)
            latest = state.latest
        if latest is None:
            return JSONResponse({"error": "no head countersigned yet"}, status_code=404)
        return JSONResponse(held(latest))

    async def heads(request: Request) -> JSONResponse:
        lines = await asyncio.to_thread(read_lines, state.path, _NAME)
        return JSONResponse({"heads": [held(doc) for _, doc in lines]})

    async def countersign(request: Request) -> JSONResponse:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_REQUEST_BYTES:
                return JSONResponse({"error": "the request is too large", "field": "body"}, 413)
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "the body is not JSON", "field": "body"}, 400)
        async with state.lock:
            await asyncio.to_thread(state.load)
            try:
                sth, previous, proof = _parse_request(body)
                _check(state, sth, previous, proof)
            except _Refused as refusal:
                return _refusal(refusal, state.latest)
            cosignature = cosign(sth.head, state.private_key, clock())
            record = {**cosignature.to_json(), "sth": sth.to_json()}
            await asyncio.to_thread(_append, state.path, record)
            state.latest, state.latest_sth = record, sth
        logger.info("countersigned tree head size=%d", sth.head.tree_size)
        return JSONResponse(cosignature.to_json())

    return Starlette(
        routes=[
            Route("/head", head, methods=["GET"]),
            Route("/heads", heads, methods=["GET"]),
            Route("/cosign", countersign, methods=["POST"]),
        ]
    )


def _append(path: Path, record: dict[str, object]) -> None:
    with AppendOnlyFile(path, _NAME) as file:
        file.append(record)


def _refusal(refusal: _Refused, latest: Mapping[str, object] | None) -> JSONResponse:
    body: dict[str, object] = {"error": refusal.error}
    if refusal.field is not None:
        body["field"] = refusal.field
    if refusal.status == 409 and latest is not None:
        body["tree_size"] = latest["tree_size"]
        body["root_hash"] = latest["root_hash"]
    logger.info("refused a tree head: %s", refusal.error)
    return JSONResponse(body, status_code=refusal.status)
