"""The countersigning witness: `HttpWitness` against the in-process witness server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from chatproof.archive.errors import WitnessError, WitnessEvidenceError, WitnessRefusedError
from chatproof.archive.merkle import MemoryTree
from chatproof.archive.tree_head import SignedTreeHead, TreeHead, raw_public_key, sign_tree_head
from chatproof.archive.witness import WitnessedHead, WitnessKind
from chatproof.archive.witness_http import Cosignature, HttpWitness
from chatproof.archive.witness_server import create_witness_app

LOG_KEY = Ed25519PrivateKey.from_private_bytes(b"L" * 32)
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(b"W" * 32)
WITNESS_PUBLIC = raw_public_key(WITNESS_KEY.public_key())
URL = "http://witness.test"
LOG = MemoryTree(f"event {i}".encode() for i in range(40))
FORK = MemoryTree(f"rewritten {i}".encode() for i in range(40))


def signed(size: int, tree: MemoryTree = LOG, key: Ed25519PrivateKey = LOG_KEY) -> SignedTreeHead:
    return sign_tree_head(TreeHead(size, tree.root_hash(size), 1_700_000_000_000 + size), key)


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "cosigned.jsonl"


@pytest.fixture
def app(storage: Path) -> Starlette:
    ticks = iter(range(1_800_000_000_000, 1_900_000_000_000))
    return create_witness_app(WITNESS_KEY, storage, clock=lambda: next(ticks))


@pytest.fixture
def witness_factory(app: Starlette) -> Callable[..., HttpWitness]:
    def make(public_key: bytes = WITNESS_PUBLIC, target: Starlette = app) -> HttpWitness:
        return HttpWitness(URL, public_key, transport=httpx.ASGITransport(target))

    return make


@pytest.fixture
def witness(witness_factory: Callable[..., HttpWitness]) -> HttpWitness:
    return witness_factory()


async def test_a_head_is_countersigned_and_kept(witness: HttpWitness, storage: Path) -> None:
    receipt = await witness.submit(signed(5))

    assert (receipt.kind, receipt.tree_size, receipt.root_hash) == (
        WitnessKind.HTTP,
        5,
        LOG.root_hash(5),
    )
    assert receipt.received_at_ms == 1_800_000_000_000
    cosignature = Cosignature.from_json(json.loads(receipt.evidence))
    cosignature.verify(WITNESS_PUBLIC)
    assert cosignature.head == TreeHead(5, LOG.root_hash(5), receipt.received_at_ms)
    [line] = storage.read_bytes().splitlines()
    assert json.loads(line)["sth"] == signed(5).to_json()


async def test_the_log_grows_with_consistency_proofs(witness: HttpWitness) -> None:
    for size in (1, 3, 8, 8, 21, 40):
        await witness.submit(signed(size), LOG.consistency_proof)

    heads = await witness.heads()
    assert [(h.tree_size, h.root_hash) for h in heads] == [
        (n, LOG.root_hash(n)) for n in (1, 3, 8, 8, 21, 40)
    ]
    assert heads[0] == WitnessedHead(URL, 1, LOG.root_hash(1), 1_800_000_000_000)


async def test_a_smaller_head_is_refused(witness: HttpWitness) -> None:
    await witness.submit(signed(10), LOG.consistency_proof)
    with pytest.raises(
        WitnessRefusedError, match="tree size 4 is smaller than the head of size 10"
    ):
        await witness.submit(signed(4), LOG.consistency_proof)


async def test_another_root_at_the_same_size_is_refused_with_409(
    witness: HttpWitness, app: Starlette
) -> None:
    await witness.submit(signed(10), LOG.consistency_proof)
    with pytest.raises(WitnessRefusedError, match="another root at tree size 10"):
        await witness.submit(signed(10, FORK))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=URL) as client:
        response = await client.post("/cosign", json={"sth": signed(10, FORK).to_json()})
    assert response.status_code == 409
    assert response.json()["tree_size"] == 10
    assert response.json()["root_hash"] == LOG.root_hash(10).hex()


async def test_a_rewritten_history_is_refused_by_its_proof(witness: HttpWitness) -> None:
    await witness.submit(signed(10), LOG.consistency_proof)
    with pytest.raises(WitnessRefusedError, match="does not extend the one of size 10"):
        await witness.submit(signed(30, FORK), FORK.consistency_proof)
    assert [h.tree_size for h in await witness.heads()] == [10]


async def test_a_larger_head_needs_a_proof(witness: HttpWitness) -> None:
    await witness.submit(signed(10))
    with pytest.raises(WitnessRefusedError, match=r"consistency proof from tree size 10"):
        await witness.submit(signed(12))


async def test_heads_signed_by_another_log_key_are_refused(witness: HttpWitness) -> None:
    await witness.submit(signed(2))
    other = Ed25519PrivateKey.from_private_bytes(b"O" * 32)
    with pytest.raises(WitnessRefusedError, match="names public key"):
        await witness.submit(signed(3, key=other), LOG.consistency_proof)


async def test_a_configured_log_key_is_enforced(storage: Path) -> None:
    app = create_witness_app(
        WITNESS_KEY, storage, log_public_key=raw_public_key(WITNESS_KEY.public_key())
    )
    witness = HttpWitness(URL, WITNESS_PUBLIC, transport=httpx.ASGITransport(app))
    with pytest.raises(WitnessRefusedError, match="does not verify"):
        await witness.submit(signed(1))


async def test_a_cosignature_under_another_key_is_not_a_receipt(
    witness_factory: Callable[..., HttpWitness],
) -> None:
    stranger = raw_public_key(Ed25519PrivateKey.from_private_bytes(b"S" * 32).public_key())
    with pytest.raises(WitnessEvidenceError, match="cosignature does not verify"):
        await witness_factory(stranger).submit(signed(1))


async def test_the_server_remembers_across_restarts(
    storage: Path, witness_factory: Callable[..., HttpWitness]
) -> None:
    await witness_factory().submit(signed(9))
    restarted = witness_factory(target=create_witness_app(WITNESS_KEY, storage))
    with pytest.raises(WitnessRefusedError, match="smaller than the head of size 9"):
        await restarted.submit(signed(5))
    await restarted.submit(signed(11), LOG.consistency_proof)
    assert [h.tree_size for h in await restarted.heads()] == [9, 11]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sth"),
        ({"sth": {"tree_size": 1}}, "sth.root_hash"),
        ({"sth": signed(2).to_json(), "previous_size": "1"}, "previous_size"),
        ({"sth": signed(2).to_json(), "consistency_proof": ["xyz"]}, "consistency_proof"),
        ([], "body"),
    ],
)
async def test_a_malformed_request_names_the_field(
    app: Starlette, body: object, field: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=URL) as client:
        response = await client.post("/cosign", json=body)
        empty = await client.get("/head")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert empty.status_code == 404


async def test_an_unreachable_witness_is_a_witness_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    witness = HttpWitness(URL, WITNESS_PUBLIC, transport=httpx.MockTransport(refuse))
    with pytest.raises(WitnessError, match="unreachable"):
        await witness.submit(signed(1))
