from __future__ import annotations

from typing import Any

import pytest

from chatproof.emulator.templates import DEFAULT_TEMPLATES, Template, TemplateRegistry

from .conftest import ANNA, Harness, template_to


async def test_default_templates_are_listed(harness: Harness) -> None:
    listing = (await harness.client.get("/_emulator/templates")).json()["data"]
    keys = {(t["name"], t["language"]) for t in listing}
    assert {
        ("hello_world", "en_US"),
        ("order_update", "de"),
        ("order_update", "en"),
        ("newsletter", "de"),
    } <= keys
    newsletter = next(t for t in listing if t["name"] == "newsletter")
    assert newsletter["category"] == "marketing"
    assert newsletter["status"] == "APPROVED"


async def test_approved_template_is_accepted(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    await harness.send_ok(template_to(ANNA, "order_update", "de", "Anna", "4711"))
    await harness.send_ok(template_to(ANNA, "hello_world", "en_US"))


@pytest.mark.parametrize(
    ("name", "language"),
    [("no_such_template", "de"), ("order_update", "fr"), ("hello_world", "de")],
)
async def test_unknown_template_or_language_is_132001(
    harness: Harness, name: str, language: str
) -> None:
    response = await harness.send(template_to(ANNA, name, language))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 132001
    assert error["error_data"]["details"] == f"template name ({name}) does not exist in {language}"


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
async def test_unapproved_template_is_132001(harness: Harness, status: str) -> None:
    created = await harness.client.post(
        "/_emulator/templates",
        json={"name": "promo", "language": "de", "category": "marketing", "status": status},
    )
    assert created.status_code == 201
    response = await harness.send(template_to(ANNA, "promo", "de"))
    assert response.json()["error"]["code"] == 132001


async def test_wrong_parameter_count_is_132000(harness: Harness) -> None:
    response = await harness.send(template_to(ANNA, "order_update", "de", "only one"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 132000
    assert error["error_data"]["details"].startswith("body: number of localizable_params (1)")
    assert "(2)" in error["error_data"]["details"]


def _with_components(components: Any) -> dict[str, Any]:
    payload = template_to(ANNA, "order_update", "de")
    payload["template"]["components"] = components
    return payload


@pytest.mark.parametrize(
    ("components", "field"),
    [
        ("body", "template['components']"),
        ([{"parameters": []}], "['type']"),
        ([{"type": "body", "parameters": [{"type": "text"}]}], "['text']"),
        ([{"type": "body", "parameters": [{"type": "text", "text": True}]}], "['text']"),
        (
            [{"type": "body", "parameters": [{"type": "currency", "currency": {}}]}],
            "fallback_value",
        ),
        ([{"type": "button", "index": "0", "parameters": []}], "sub_type"),
        ([{"type": "button", "sub_type": "quick_reply", "parameters": []}], "index"),
    ],
)
async def test_malformed_components_are_code_100(
    harness: Harness, components: Any, field: str
) -> None:
    response = await harness.send(_with_components(components))
    error = response.json()["error"]
    assert error["code"] == 100
    assert field in error["error_data"]["details"]


async def test_missing_name_or_language_is_code_100(harness: Harness) -> None:
    no_name = {
        "messaging_product": "whatsapp",
        "to": ANNA,
        "type": "template",
        "template": {"language": {"code": "de"}},
    }
    assert (
        "template['name']" in (await harness.send(no_name)).json()["error"]["error_data"]["details"]
    )
    no_lang = {
        "messaging_product": "whatsapp",
        "to": ANNA,
        "type": "template",
        "template": {"name": "x"},
    }
    assert (
        "['language']['code']"
        in (await harness.send(no_lang)).json()["error"]["error_data"]["details"]
    )


async def test_media_header_must_be_given_with_the_right_type(harness: Harness) -> None:
    await harness.client.post(
        "/_emulator/templates",
        json={
            "name": "invoice",
            "language": "de",
            "category": "utility",
            "header": "document",
            "body_params": 1,
        },
    )
    body = {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}
    missing = await harness.send(_named("invoice", [body]))
    assert missing.json()["error"]["code"] == 132000
    image = {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x/a.jpg"}}],
    }
    wrong = await harness.send(_named("invoice", [image, body]))
    assert wrong.json()["error"]["code"] == 132012
    document = {
        "type": "header",
        "parameters": [{"type": "document", "document": {"link": "https://x/a.pdf"}}],
    }
    assert (await harness.send(_named("invoice", [document, body]))).status_code == 200


async def test_buttons_must_exist_in_the_template(harness: Harness) -> None:
    button = {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "1",
        "parameters": [{"type": "payload", "payload": "STOP"}],
    }
    body = {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}
    response = await harness.send(_named("newsletter", [body, button]))
    assert response.json()["error"]["code"] == 132012
    button["index"] = "0"
    assert (await harness.send(_named("newsletter", [body, button]))).status_code == 200


def _named(name: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    payload = template_to(ANNA, name, "de")
    payload["template"]["components"] = components
    return payload


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "de", "category": "utility"}, "name"),
        ({"name": "x", "category": "utility"}, "language"),
        ({"name": "x", "language": "de", "category": "spam"}, "category"),
        ({"name": "x", "language": "de", "category": "utility", "status": "MAYBE"}, "status"),
        ({"name": "x", "language": "de", "category": "utility", "body_params": -1}, "body_params"),
        ({"name": "x", "language": "de", "category": "utility", "header": "hologram"}, "header"),
        (
            {"name": "x", "language": "de", "category": "utility", "buttons": ["teleport"]},
            "buttons",
        ),
    ],
)
async def test_bad_template_definitions_are_refused(
    harness: Harness, body: dict[str, Any], field: str
) -> None:
    response = await harness.client.post("/_emulator/templates", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_registry_replaces_by_name_and_language() -> None:
    registry = TemplateRegistry(DEFAULT_TEMPLATES)
    replaced = Template.from_json(
        {"name": "hello_world", "language": "en_US", "category": "marketing"}
    )
    registry.add(replaced)
    assert registry.get("hello_world", "en_US") == replaced
    assert len(registry.all()) == len(DEFAULT_TEMPLATES)
