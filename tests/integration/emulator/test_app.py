from __future__ import annotations

import base64

import httpx
import pytest

from chatproof.emulator import EmulatorSettings, create_app
from chatproof.emulator.wamid import decode_wamid

from .conftest import ANNA, PHONE_ID, TOKEN, VERSION, Harness, HarnessFactory, text_to


async def test_send_answers_exactly_like_the_platform(harness: Harness, anna: str) -> None:
    response = await harness.send(text_to("+49 151 1234 5678"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+49 151 1234 5678", "wa_id": ANNA}]
    [message] = body["messages"]
    assert set(message) == {"id", "message_status"}
    assert message["message_status"] == "accepted"
    assert message["id"].startswith("wamid.")
    assert ANNA.encode() in base64.b64decode(message["id"].removeprefix("wamid."))
    assert decode_wamid(message["id"]) is not None


@pytest.mark.parametrize("version", ["v17.0", "v23.0", "v25.0"])
async def test_any_graph_version_is_accepted(harness: Harness, anna: str, version: str) -> None:
    response = await harness.client.post(
        f"/{version}/{PHONE_ID}/messages", json=text_to(ANNA), headers=harness.headers
    )
    assert response.status_code == 200


async def test_wrong_token_is_190_with_401(harness: Harness) -> None:
    response = await harness.send(text_to(ANNA), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    assert "error_data" not in error
    assert response.headers["www-authenticate"].startswith('OAuth "Facebook Platform"')


async def test_missing_token_is_104_with_401(harness: Harness) -> None:
    response = await harness.send(text_to(ANNA), headers={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 104


async def test_non_bearer_scheme_counts_as_wrong_token(harness: Harness) -> None:
    response = await harness.send(text_to(ANNA), headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190


async def test_token_may_come_as_query_parameter(harness: Harness, anna: str) -> None:
    response = await harness.client.post(
        f"/{VERSION}/{PHONE_ID}/messages?access_token={TOKEN}", json=text_to(ANNA)
    )
    assert response.status_code == 200


async def test_auth_is_checked_before_the_body(harness: Harness) -> None:
    response = await harness.send({"nonsense": True}, headers={"Authorization": "Bearer x"})
    assert response.json()["error"]["code"] == 190


async def test_unknown_phone_number_id_is_graph_method_exception(harness: Harness) -> None:
    response = await harness.client.post(
        f"/{VERSION}/999999999/messages", json=text_to(ANNA), headers=harness.headers
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    assert "Object with ID '999999999' does not exist" in error["message"]


async def test_unknown_path_is_graph_error_2500(harness: Harness) -> None:
    response = await harness.client.get("/not/a/graph/path", headers=harness.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500


async def test_malformed_version_is_an_unknown_path(harness: Harness) -> None:
    response = await harness.client.post(
        f"/23/{PHONE_ID}/messages", json=text_to(ANNA), headers=harness.headers
    )
    assert response.json()["error"]["code"] == 2500


async def test_invalid_json_is_code_100(harness: Harness) -> None:
    response = await harness.client.post(
        f"/{VERSION}/{PHONE_ID}/messages",
        content=b"{not json",
        headers={**harness.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_data"] == {
        "messaging_product": "whatsapp",
        "details": "Invalid JSON in request body",
    }


async def test_phone_number_object_can_be_read(harness: Harness) -> None:
    response = await harness.client.get(f"/{VERSION}/{PHONE_ID}", headers=harness.headers)
    assert response.status_code == 200
    assert response.json()["id"] == PHONE_ID


async def test_throughput_limit_is_130429(make_harness: HarnessFactory) -> None:
    async with make_harness(messages_per_second=3) as harness:
        await harness.add_customer(ANNA)
        answers = [(await harness.send(text_to(ANNA))) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 400]
        error = answers[-1].json()["error"]
        assert error["code"] == 130429
        assert error["message"] == "(#130429) Rate limit hit"
        assert error["error_data"]["messaging_product"] == "whatsapp"
        harness.clock.advance(1)
        assert (await harness.send(text_to(ANNA))).status_code == 200


async def test_rejected_sends_are_not_recorded(harness: Harness) -> None:
    await harness.send({"messaging_product": "whatsapp", "type": "text"})
    listing = (await harness.client.get("/_emulator/sent")).json()
    assert listing["data"] == []


async def test_360dialog_paths_use_the_api_key(make_harness: HarnessFactory) -> None:
    async with make_harness(d360_api_key="d360-key") as harness:
        await harness.add_customer(ANNA)
        await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hi"}})
        denied = await harness.client.post("/messages", json=text_to(ANNA))
        assert denied.status_code == 401
        assert denied.json()["meta"]["success"] is False
        ok = await harness.client.post(
            "/messages", json=text_to(ANNA), headers={"D360-API-KEY": "d360-key"}
        )
        assert ok.status_code == 200
        assert ok.json()["contacts"][0]["wa_id"] == ANNA
        bad = await harness.client.post(
            "/messages",
            json={"messaging_product": "whatsapp"},
            headers={"D360-API-KEY": "d360-key"},
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == 100


async def test_360dialog_paths_are_absent_without_a_key(harness: Harness) -> None:
    response = await harness.client.post("/messages", json=text_to(ANNA))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500


async def test_360dialog_webhook_config_redirects_deliveries(make_harness: HarnessFactory) -> None:
    async with make_harness(d360_api_key="k", webhook_url=None, app_secret="") as harness:
        await harness.add_customer(ANNA)
        await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hi"}})
        assert harness.recorder.requests == []
        response = await harness.client.post(
            "/v1/configs/webhook",
            json={"url": "http://receiver.test/webhook", "headers": {"X-Secret": "s3"}},
            headers={"D360-API-KEY": "k"},
        )
        assert response.json() == {"url": "http://receiver.test/webhook"}
        await harness.flush()
        [received] = harness.recorder.requests
        assert received.headers["x-secret"] == "s3"
        assert "x-hub-signature-256" not in received.headers


async def test_requests_need_the_lifespan() -> None:
    app = create_app(EmulatorSettings(app_secret="s", access_token="t"))
    async with app.router.lifespan_context(app):
        pass
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as c:
        await c.post("/_emulator/customers", json={"wa_id": ANNA})
        with pytest.raises(Exception, match="lifespan"):
            await c.post(
                f"/{VERSION}/{PHONE_ID}/messages",
                json=text_to(ANNA),
                headers={"Authorization": "Bearer t"},
            )
