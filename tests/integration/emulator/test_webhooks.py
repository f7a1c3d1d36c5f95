from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random

import pytest

from chatproof.emulator.webhooks import backoff_delay

from .conftest import (
    ANNA,
    APP_SECRET,
    PHONE_ID,
    VERIFY_TOKEN,
    WABA_ID,
    WEBHOOK_URL,
    Harness,
    HarnessFactory,
    eventually,
    text_to,
)


def _expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


async def _customer_writes(harness: Harness, text: str = "Grüße aus Köln/Ehrenfeld") -> str:
    if ANNA not in harness.emulator.state.customers:
        await harness.add_customer(ANNA, name="Anna Schmidt")
    sent = await harness.customer_says(ANNA, {"type": "text", "text": {"body": text}})
    wamid: str = sent["id"]
    return wamid


async def test_webhooks_are_signed_over_the_exact_bytes(harness: Harness) -> None:
    await _customer_writes(harness)
    await harness.flush()
    [received] = harness.recorder.requests
    assert received.headers["x-hub-signature-256"] == _expected_signature(received.body)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "facebookexternalua"


async def test_body_is_encoded_like_meta_escaping_non_ascii_and_slashes(harness: Harness) -> None:
    await _customer_writes(harness)
    await harness.flush()
    [received] = harness.recorder.requests
    assert b"Gr\\u00fc\\u00dfe aus K\\u00f6ln\\/Ehrenfeld" in received.body
    assert received.body.isascii()
    reserialised = json.dumps(received.json(), ensure_ascii=False).encode()
    assert _expected_signature(reserialised) != received.headers["x-hub-signature-256"]
    assert received.json()["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] == (
        "Grüße aus Köln/Ehrenfeld"
    )


async def test_inbound_message_envelope(harness: Harness) -> None:
    wamid = await _customer_writes(harness, "Hallo")
    await harness.flush()
    [payload] = harness.recorder.acknowledged
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    assert entry["id"] == WABA_ID
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID}
    assert value["contacts"] == [{"profile": {"name": "Anna Schmidt"}, "wa_id": ANNA}]
    assert value["messages"] == [
        {
            "from": ANNA,
            "id": wamid,
            "timestamp": "1750000000",
            "type": "text",
            "text": {"body": "Hallo"},
        }
    ]


async def test_status_envelope_has_no_contacts(harness: Harness, anna: str) -> None:
    await harness.send_ok(text_to(ANNA))
    await harness.flush()
    status_values = [v for v in harness.recorder.values() if "statuses" in v]
    assert status_values
    assert all(set(v) == {"messaging_product", "metadata", "statuses"} for v in status_values)


async def test_marketing_preference_webhook(harness: Harness) -> None:
    await harness.add_customer(ANNA, name="Anna")
    response = await harness.client.post(
        f"/_emulator/customers/{ANNA}/marketing", json={"value": "stop"}
    )
    assert response.status_code == 200
    await harness.flush()
    [payload] = harness.recorder.acknowledged
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "user_preferences"
    [preference] = change["value"]["user_preferences"]
    assert preference == {
        "wa_id": ANNA,
        "detail": "User requested to stop marketing messages",
        "category": "marketing_messages",
        "value": "stop",
        "timestamp": 1750000000,
    }
    customer = (await harness.client.get(f"/_emulator/customers/{ANNA}")).json()
    assert customer["marketing_stopped"] is True


async def test_non_200_answers_are_retried_until_acknowledged(harness: Harness) -> None:
    harness.recorder.script = [500, 503, 204]
    await _customer_writes(harness)
    await harness.flush()
    assert [r.answered for r in harness.recorder.requests] == [500, 503, 204, 200]
    bodies = {r.body for r in harness.recorder.requests}
    assert len(bodies) == 1
    signatures = {r.headers["x-hub-signature-256"] for r in harness.recorder.requests}
    assert len(signatures) == 1
    [delivery] = (await harness.client.get("/_emulator/webhooks")).json()["data"]
    assert delivery["attempts"] == 4
    assert delivery["acknowledged"] is True
    detail = (await harness.client.get(f"/_emulator/webhooks/{delivery['id']}")).json()
    assert [a["status_code"] for a in detail["history"]] == [500, 503, 204, 200]
    assert [a["error"] for a in detail["history"]] == ["HTTP 500", "HTTP 503", "HTTP 204", None]
    assert detail["body"] == harness.recorder.requests[0].body.decode()


async def test_retries_back_off_exponentially(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_retry_base_delay=0.02, webhook_retry_max_delay=1.0) as harness:
        harness.recorder.script = [500, 500, 500]
        await _customer_writes(harness)
        await harness.emulator.webhooks.wait_idle(5)
        times = [r.at for r in harness.recorder.requests]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 3
        for retry, gap in enumerate(gaps, start=1):
            assert gap >= 0.02 * 2 ** (retry - 1) / 2 * 0.9


def test_backoff_delay_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(3)
    for retry in range(1, 12):
        nominal = min(10.0, 0.5 * 2 ** (retry - 1))
        delay = backoff_delay(retry, 0.5, 10.0, rng)
        assert nominal / 2 <= delay <= nominal
    assert backoff_delay(50, 0.5, 10.0, rng) <= 10.0


async def test_gives_up_after_max_attempts(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_max_attempts=3) as harness:
        harness.recorder.script = [500] * 10
        await _customer_writes(harness)
        result = await harness.flush()
        assert result["failed"] == 1
        [delivery] = (await harness.client.get("/_emulator/webhooks")).json()["data"]
        assert delivery["state"] == "failed"
        assert delivery["attempts"] == 3
        assert delivery["last_error"] == "HTTP 500"


async def test_receiver_down_then_back_gets_everything_exactly_once(harness: Harness) -> None:
    harness.transport.down = True
    await harness.add_customer(ANNA)
    sent = [await _customer_writes(harness, f"Nachricht {n}") for n in range(5)]
    await eventually(lambda: harness.transport.refused >= 10)
    pending = (await harness.client.get("/_emulator/webhooks", params={"pending": "true"})).json()
    assert pending["pending"] == 5
    assert all(d["last_error"].startswith("ConnectError") for d in pending["data"] if d["attempts"])
    assert harness.transport.refused >= 5
    timeout = await harness.client.post("/_emulator/webhooks/flush", json={"timeout": 0.05})
    assert timeout.status_code == 504
    assert timeout.json()["settled"] is False
    harness.transport.down = False
    await harness.flush()
    received = [m["id"] for m in harness.recorder.messages()]
    assert sorted(received) == sorted(sent)
    assert (await harness.client.get("/_emulator/webhooks", params={"pending": "1"})).json()[
        "data"
    ] == []


async def test_receiver_crash_counts_as_failure(harness: Harness) -> None:
    original = harness.transport.inner

    class Exploding:
        calls = 0

        async def handle_async_request(self, request: object) -> object:
            Exploding.calls += 1
            if Exploding.calls == 1:
                raise RuntimeError("receiver bug")
            return await original.handle_async_request(request)  # type: ignore[arg-type]

    harness.transport.inner = Exploding()  # type: ignore[assignment]
    await _customer_writes(harness)
    await harness.flush()
    [delivery] = (await harness.client.get("/_emulator/webhooks")).json()["data"]
    assert delivery["attempts"] == 2
    assert delivery["acknowledged"] is True


async def test_deliveries_run_concurrently_but_bounded(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_concurrency=3) as harness:
        harness.recorder.delay = 0.02
        await harness.add_customer(ANNA)
        for n in range(9):
            await harness.customer_says(ANNA, {"type": "text", "text": {"body": str(n)}})
        await harness.flush()
        assert len(harness.recorder.requests) == 9
        assert 1 < harness.recorder.max_in_flight <= 3


async def test_replay_sends_identical_bytes_again(harness: Harness) -> None:
    await _customer_writes(harness)
    await harness.flush()
    [delivery] = (await harness.client.get("/_emulator/webhooks")).json()["data"]
    replay = await harness.client.post(f"/_emulator/webhooks/{delivery['id']}/replay")
    assert replay.status_code == 201
    assert replay.json()["replay_of"] == delivery["id"]
    await harness.flush()
    first, second = harness.recorder.requests
    assert first.body == second.body
    assert first.headers["x-hub-signature-256"] == second.headers["x-hub-signature-256"]
    missing = await harness.client.post("/_emulator/webhooks/999/replay")
    assert missing.status_code == 404


async def test_custom_secret_header_is_sent(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_secret_header=("X-Webhook-Token", "s3cret")) as harness:
        await _customer_writes(harness)
        await harness.flush()
        [received] = harness.recorder.requests
        assert received.headers["x-webhook-token"] == "s3cret"
        assert received.headers["x-hub-signature-256"] == _expected_signature(received.body)


async def test_without_url_deliveries_wait_until_one_is_configured(
    make_harness: HarnessFactory,
) -> None:
    async with make_harness(webhook_url=None) as harness:
        await _customer_writes(harness)
        [parked] = harness.emulator.webhooks.deliveries()
        await eventually(lambda: parked.state == "parked")
        [delivery] = (await harness.client.get("/_emulator/webhooks")).json()["data"]
        assert delivery["state"] == "parked"
        config = await harness.client.put("/_emulator/webhooks/config", json={"url": WEBHOOK_URL})
        assert config.json()["url"] == WEBHOOK_URL
        await harness.flush()
        assert len(harness.recorder.requests) == 1


@pytest.mark.parametrize(
    ("token", "verified", "status"), [(VERIFY_TOKEN, True, 200), ("wrong", False, 403)]
)
async def test_subscription_handshake(
    harness: Harness, token: str, verified: bool, status: int
) -> None:
    response = await harness.client.post("/_emulator/webhooks/verify", json={"verify_token": token})
    assert response.json() == {"verified": verified, "status_code": status}


async def test_delivery_log_is_trimmed_but_keeps_pending(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_log_limit=3, webhook_concurrency=1) as harness:
        await harness.add_customer(ANNA)
        for n in range(6):
            await harness.customer_says(ANNA, {"type": "text", "text": {"body": str(n)}})
        await harness.flush()
        ids = [d["id"] for d in (await harness.client.get("/_emulator/webhooks")).json()["data"]]
        assert ids == [4, 5, 6]
