from __future__ import annotations

import pytest

from chatproof.emulator.statuses import pricing_for
from chatproof.emulator.templates import Template, TemplateCategory

from .conftest import ANNA, BEN, NOW, Harness, HarnessFactory, template_to, text_to


async def test_statuses_go_sent_delivered_read(make_harness: HarnessFactory) -> None:
    async with make_harness(webhook_concurrency=1) as harness:
        await harness.add_customer(ANNA)
        await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hallo"}})
        wamid = await harness.send_ok(text_to(ANNA))
        await harness.flush()
        statuses = harness.recorder.statuses(wamid)
        assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
        for status in statuses:
            assert status["recipient_id"] == ANNA
            assert status["timestamp"] == str(int(NOW))
        sent = (await harness.client.get(f"/_emulator/sent/{wamid}")).json()
        assert sent["status"] == "read"
        assert [s["status"] for s in sent["statuses"]] == ["sent", "delivered", "read"]


async def test_each_status_is_its_own_webhook(harness: Harness, anna: str) -> None:
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    status_posts = [v for v in harness.recorder.values() if "statuses" in v]
    assert len(status_posts) == 3
    assert all(len(v["statuses"]) == 1 and v["statuses"][0]["id"] == wamid for v in status_posts)


async def test_no_read_without_read_receipts(harness: Harness) -> None:
    await harness.add_customer(ANNA, read_receipts=False)
    await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hallo"}})
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    assert sorted(s["status"] for s in harness.recorder.statuses(wamid)) == ["delivered", "sent"]


async def test_service_reply_pricing_and_conversation(harness: Harness, anna: str) -> None:
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    by_status = {s["status"]: s for s in harness.recorder.statuses(wamid)}
    sent = by_status["sent"]
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert sent["conversation"]["expiration_timestamp"] == str(int(NOW) + 86400)
    assert "expiration_timestamp" not in by_status["delivered"]["conversation"]
    assert by_status["delivered"]["conversation"]["id"] == sent["conversation"]["id"]


@pytest.mark.parametrize(
    ("category", "window_open", "expected"),
    [
        (None, True, ("service", False, "free_customer_service")),
        (TemplateCategory.UTILITY, True, ("utility", False, "free_customer_service")),
        (TemplateCategory.UTILITY, False, ("utility", True, "regular")),
        (TemplateCategory.MARKETING, True, ("marketing", True, "regular")),
        (TemplateCategory.AUTHENTICATION, False, ("authentication", True, "regular")),
    ],
)
def test_pricing_follows_per_message_pricing(
    category: TemplateCategory | None, window_open: bool, expected: tuple[str, bool, str]
) -> None:
    template = None if category is None else Template("t", "de", category)
    assert pricing_for(template, window_open) == expected


async def test_free_form_outside_the_window_fails_131047(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    [failed] = harness.recorder.statuses(wamid)
    assert failed["status"] == "failed"
    [error] = failed["errors"]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert error["error_data"]["details"]
    assert error["href"].startswith("https://")
    assert "pricing" not in failed and "conversation" not in failed


async def test_window_closes_after_24_hours_of_emulator_clock(harness: Harness, anna: str) -> None:
    harness.clock.advance(23 * 3600)
    inside = await harness.send_ok(text_to(ANNA))
    harness.clock.advance(3600)
    outside = await harness.send_ok(text_to(ANNA))
    template = await harness.send_ok(template_to(ANNA, "hello_world", "en_US"))
    await harness.flush()
    assert harness.recorder.statuses(inside)[0]["status"] == "sent"
    assert harness.recorder.statuses(outside)[0]["errors"][0]["code"] == 131047
    assert harness.recorder.statuses(template)[0]["pricing"]["billable"] is True


async def test_a_new_customer_message_reopens_the_window(harness: Harness, anna: str) -> None:
    harness.clock.advance(2 * 86400)
    await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Noch da?"}})
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    assert harness.recorder.statuses(wamid)[0]["status"] == "sent"


async def test_unknown_number_fails_131026(harness: Harness) -> None:
    wamid = await harness.send_ok(template_to("4930123456", "hello_world", "en_US"))
    await harness.flush()
    [failed] = harness.recorder.statuses(wamid)
    assert failed["errors"][0]["code"] == 131026
    assert failed["recipient_id"] == "4930123456"


async def test_unreachable_customer_fails_131026(harness: Harness, anna: str) -> None:
    response = await harness.client.patch(f"/_emulator/customers/{ANNA}", json={"reachable": False})
    assert response.json()["reachable"] is False
    wamid = await harness.send_ok(text_to(ANNA))
    await harness.flush()
    assert harness.recorder.statuses(wamid)[0]["errors"][0]["code"] == 131026


async def test_marketing_to_opted_out_customer_fails_131050(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    await harness.client.post(f"/_emulator/customers/{ANNA}/marketing", json={"value": "stop"})
    marketing = await harness.send_ok(template_to(ANNA, "newsletter", "de", "Anna"))
    utility = await harness.send_ok(template_to(ANNA, "order_update", "de", "Anna", "4711"))
    await harness.client.post(f"/_emulator/customers/{ANNA}/marketing", json={"value": "resume"})
    again = await harness.send_ok(template_to(ANNA, "newsletter", "de", "Anna"))
    await harness.flush()
    assert harness.recorder.statuses(marketing)[0]["errors"][0]["code"] == 131050
    assert harness.recorder.statuses(utility)[0]["status"] == "sent"
    sent = harness.recorder.statuses(again)[0]
    assert sent["status"] == "sent"
    assert sent["pricing"]["category"] == "marketing"
    assert sent["pricing"]["billable"] is True


async def test_too_many_messages_to_one_customer_fail_131056(make_harness: HarnessFactory) -> None:
    async with make_harness(pair_limit_per_minute=2) as harness:
        for wa_id in (ANNA, BEN):
            await harness.add_customer(wa_id)
            await harness.customer_says(wa_id, {"type": "text", "text": {"body": "Hi"}})
        first = [await harness.send_ok(text_to(ANNA)) for _ in range(3)]
        other = await harness.send_ok(text_to(BEN))
        harness.clock.advance(60)
        later = await harness.send_ok(text_to(ANNA))
        await harness.flush()
        codes = [harness.recorder.statuses(w)[0].get("errors", [{}])[0].get("code") for w in first]
        assert codes == [None, None, 131056]
        assert "pair rate limit" in harness.recorder.statuses(first[2])[0]["errors"][0]["title"]
        assert harness.recorder.statuses(other)[0]["status"] == "sent"
        assert harness.recorder.statuses(later)[0]["status"] == "sent"


async def test_unfetchable_media_link_fails_131052(harness: Harness, anna: str) -> None:
    wamid = await harness.send_ok(
        {
            "messaging_product": "whatsapp",
            "to": ANNA,
            "type": "image",
            "image": {"link": "ftp://x/y.jpg"},
        }
    )
    await harness.flush()
    assert harness.recorder.statuses(wamid)[0]["errors"][0]["code"] == 131052


async def test_biz_opaque_callback_data_is_echoed(harness: Harness, anna: str) -> None:
    payload = {**text_to(ANNA), "biz_opaque_callback_data": "outbox-42"}
    wamid = await harness.send_ok(payload)
    await harness.flush()
    statuses = harness.recorder.statuses(wamid)
    assert len(statuses) == 3
    assert all(s["biz_opaque_callback_data"] == "outbox-42" for s in statuses)


async def test_voice_message_can_be_played(harness: Harness, anna: str) -> None:
    wamid = await harness.send_ok(
        {
            "messaging_product": "whatsapp",
            "to": ANNA,
            "type": "audio",
            "audio": {"link": "https://x/a.ogg"},
        }
    )
    await harness.flush()
    response = await harness.client.post(f"/_emulator/sent/{wamid}/play")
    assert response.status_code == 200
    await harness.flush()
    assert harness.recorder.statuses(wamid)[-1]["status"] == "played"
    text = await harness.send_ok(text_to(ANNA))
    assert (await harness.client.post(f"/_emulator/sent/{text}/play")).status_code == 409


async def test_sent_listing_filters(harness: Harness, anna: str) -> None:
    await harness.send_ok(text_to(ANNA))
    await harness.send_ok(template_to(BEN, "hello_world", "en_US"))
    await harness.flush()
    failed = (await harness.client.get("/_emulator/sent", params={"status": "failed"})).json()[
        "data"
    ]
    assert [m["to"] for m in failed] == [BEN]
    to_anna = (await harness.client.get("/_emulator/sent", params={"to": ANNA})).json()["data"]
    assert len(to_anna) == 1
    assert to_anna[0]["request"]["text"] == {"body": "Guten Tag"}
