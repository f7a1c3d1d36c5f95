"""Outbound payload builders: exact shapes, documented limits, and conformance to Meta's
OpenAPI spec (schema ``Message`` of ``POST /{Version}/{Phone-Number-ID}/messages``).

The spec is read once, from the shared reference folder (``tests.support.samples``). Five
defects of the spec are patched before validating, each named in ``_patch_spec_defects``; the
patched schema still accepts the spec's own request examples and still rejects payloads that
break its limits (see the ``spec_*`` tests).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

from chatproof.channels.whatsapp.errors import MessageValidationError
from chatproof.channels.whatsapp.outbound import (
    ListRow,
    ListSection,
    body_component,
    buttons_message,
    currency_param,
    date_time_param,
    header_component,
    list_message,
    location_message,
    media_header,
    media_message,
    media_param,
    quick_reply_button,
    reaction_message,
    read_receipt,
    template_message,
    text_message,
    text_param,
    url_button,
)
from tests.support.samples import OPENAPI_DIR

SPEC_PATH = OPENAPI_DIR / "business-messaging-api_v23.0.yaml"
MESSAGES_PATH = "/{Version}/{Phone-Number-ID}/messages"
REF = "#/components/schemas/"
TO = "4915112345678"


@cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise RuntimeError(f"OpenAPI description not found at {SPEC_PATH}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as handle:
        return yaml.load(handle, Loader=loader)


def _replace_refs(node: object, old: str, new: str) -> None:
    if isinstance(node, dict):
        if node.get("$ref") == old:
            node["$ref"] = new
        for value in node.values():
            _replace_refs(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _replace_refs(value, old, new)


def _expand_discriminator(schemas: dict[str, Any], name: str) -> None:
    """jsonschema ignores OpenAPI's ``discriminator``; spell it out as if/then.

    The mapped schemas extend the base through ``allOf``, so they are pointed at a copy of the
    base without the discriminator to keep the references acyclic.
    """
    schema = schemas[name]
    discriminator = schema.pop("discriminator")
    base = f"{name}__base"
    schemas[base] = schema
    for target in discriminator["mapping"].values():
        _replace_refs(schemas[target.removeprefix(REF)], REF + name, REF + base)
    prop = discriminator["propertyName"]
    schemas[name] = {
        "allOf": [{"$ref": REF + base}]
        + [
            {
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": {"$ref": ref},
            }
            for value, ref in discriminator["mapping"].items()
        ]
    }


def _close_all_of(node: object) -> None:
    """``additionalProperties: false`` inside one ``allOf`` branch cannot see the properties
    of the other branches, so as written every message fails; the intent is a closed object,
    which 2020-12 says with ``unevaluatedProperties: false`` on the parent."""
    if isinstance(node, dict):
        branches = node.get("allOf")
        if isinstance(branches, list):
            for branch in branches:
                if isinstance(branch, dict) and branch.get("additionalProperties") is False:
                    del branch["additionalProperties"]
                    node["unevaluatedProperties"] = False
        for value in node.values():
            _close_all_of(value)
    elif isinstance(node, list):
        for value in node:
            _close_all_of(value)


def _patch_spec_defects(schemas: dict[str, Any]) -> None:
    # 1. The button index pattern "^[2-6, 11-14]$" is a malformed character class that rejects
    #    the spec's own example index "0"; its description says 0-9.
    for name in ("TemplateComponent", "ButtonComponent"):
        for branch in [schemas[name], *schemas[name].get("allOf", [])]:
            index = branch.get("properties", {}).get("index")
            if index:
                index["pattern"] = "^[0-9]$"
    # 2. Location coordinates are typed string, but the spec's example and webhooks use numbers.
    location = schemas["LocationMessage"]["allOf"][1]["properties"]["location"]["properties"]
    for axis in ("latitude", "longitude"):
        location[axis]["type"] = ["number", "string"]
    # 3. biz_opaque_callback_data is documented for sends (echoed in status webhooks) but absent.
    schemas["BaseMessageProperties"]["properties"]["biz_opaque_callback_data"] = {
        "type": "string",
        "maxLength": 512,
    }
    # 4 and 5: discriminators and allOf-closed objects, see the helpers above.
    for name in [n for n, s in schemas.items() if "discriminator" in s]:
        _expand_discriminator(schemas, name)
    _close_all_of(schemas)


def _build_validator(spec: dict[str, Any]) -> jsonschema.Draft202012Validator:
    request = spec["paths"][MESSAGES_PATH]["post"]["requestBody"]["content"]["application/json"]
    assert request["schema"] == {"$ref": REF + "Message"}
    schemas = copy.deepcopy(spec["components"]["schemas"])
    _patch_spec_defects(schemas)
    root = {"$ref": REF + "Message", "components": {"schemas": schemas}}
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return _build_validator(_spec())


def spec_errors(payload: dict[str, Any]) -> list[str]:
    """The errors of ``payload`` against the schema, most relevant first."""
    errors = sorted(_validator().iter_errors(payload), key=jsonschema.exceptions.relevance)
    if not errors:
        return []
    best = jsonschema.exceptions.best_match(errors)
    assert best is not None
    return [f"{'/'.join(map(str, best.absolute_path))}: {best.message}"] + [
        e.message for e in errors if e is not best
    ]


def full_template() -> dict[str, Any]:
    return template_message(
        TO,
        "order_update",
        "de",
        [
            header_component(media_param("image", media_id="1234")),
            body_component(
                text_param("Jane"),
                currency_param("100,99 €", "EUR", 100990),
                date_time_param("25. Februar 1977"),
            ),
            quick_reply_button(0, "STOP_PROMO"),
            url_button(1, "order/42"),
        ],
        reply_to="wamid.ABC",
        biz_opaque_callback_data="outbox:17",
    )


BUILT: dict[str, Callable[[], dict[str, Any]]] = {
    "text": lambda: text_message(TO, "Hallo!"),
    "text with reply and preview": lambda: text_message(
        "+" + TO,
        "See https://example.com",
        preview_url=True,
        reply_to="wamid.X",
        biz_opaque_callback_data="outbox:1",
    ),
    "image by id with caption": lambda: media_message(TO, "image", media_id="1", caption="x"),
    "image by link": lambda: media_message(TO, "image", link="https://example.com/a.jpg"),
    "video by id": lambda: media_message(TO, "video", media_id="2", caption="clip"),
    "audio by link": lambda: media_message(TO, "audio", link="https://example.com/a.ogg"),
    "document with filename": lambda: media_message(
        TO, "document", link="https://example.com/a.pdf", filename="a.pdf", caption="Rechnung"
    ),
    "sticker by id": lambda: media_message(TO, "sticker", media_id="3"),
    "reaction": lambda: reaction_message(TO, "wamid.X", "\N{THUMBS UP SIGN}"),
    "reaction removed": lambda: reaction_message(TO, "wamid.X", ""),
    "location": lambda: location_message(
        TO, 52.52, 13.405, name="Büro", address="Unter den Linden 1, Berlin"
    ),
    "buttons": lambda: buttons_message(TO, "Passt der Termin?", [("yes", "Ja"), ("no", "Nein")]),
    "buttons with headers": lambda: buttons_message(
        TO, "Body", [("a", "A"), ("b", "B"), ("c", "C")], header="Kopf", footer="Fuß"
    ),
    "buttons with media header": lambda: buttons_message(
        TO, "Body", [("a", "A")], header=media_header("image", link="https://example.com/i.png")
    ),
    "list": lambda: list_message(
        TO,
        "Wählen Sie",
        "Optionen",
        [
            ListSection("Termine", [ListRow("r1", "Montag", "9–12 Uhr"), ListRow("r2", "Di")]),
            ListSection("Sonstiges", [ListRow("r3", "Rückruf")]),
        ],
        header="Menü",
        footer="Danke",
    ),
    "list single untitled section": lambda: list_message(
        TO, "Body", "Open", [ListSection(None, [ListRow("r1", "One")])]
    ),
    "template bare": lambda: template_message(TO, "hello_world", "en_US"),
    "template full": full_template,
    "template document and video headers": lambda: template_message(
        TO,
        "t",
        "de",
        [header_component(media_param("document", link="https://e.com/a.pdf", filename="a.pdf"))],
    ),
    "template video header": lambda: template_message(
        TO, "t", "de", [header_component(media_param("video", media_id="9"))]
    ),
    "template text header and named body": lambda: template_message(
        TO,
        "t",
        "de",
        [
            header_component(text_param("Max")),
            body_component(text_param("Max", name="customer_name")),
        ],
    ),
}


@pytest.mark.parametrize("name", list(BUILT))
def test_builder_output_conforms_to_spec(name: str) -> None:
    assert spec_errors(BUILT[name]()) == []


@pytest.mark.parametrize(
    "example",
    [
        "Send Text Message",
        "Send Reply to Text Message",
        "Send Image Message by ID",
        "Send Document Message by URL",
        "Send Sticker Message by ID",
        "Send Location Message",
        "Send Reply Button",
        "Send List Message",
        "Send Reply with Reaction Message",
        "Send Message Template Text",
        "Send Message Template Media",
        "Send Message Template Interactive",
    ],
)
def test_spec_patched_schema_accepts_spec_examples(example: str) -> None:
    content = _spec()["paths"][MESSAGES_PATH]["post"]["requestBody"]["content"]["application/json"]
    value = copy.deepcopy(content["examples"][example]["value"])
    if value.get("type") == "template":
        # The examples predate LanguageObject's required "policy".
        value["template"]["language"].setdefault("policy", "deterministic")
    assert spec_errors(value) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p["text"].update(colour="red"),
        lambda p: p.update(surprise=True),
        lambda p: p.pop("recipient_type"),
        lambda p: p.update(type="image"),
    ],
)
def test_spec_rejects_broken_text_messages(mutate: Callable[[dict[str, Any]], None]) -> None:
    payload = text_message(TO, "Hi")
    mutate(payload)
    assert spec_errors(payload) != []


def test_spec_rejects_payloads_over_its_limits() -> None:
    too_many = buttons_message(TO, "b", [("a", "A"), ("b", "B"), ("c", "C")])
    too_many["interactive"]["action"]["buttons"].append(
        {"type": "reply", "reply": {"id": "d", "title": "D"}}
    )
    long_title = buttons_message(TO, "b", [("a", "A")])
    long_title["interactive"]["action"]["buttons"][0]["reply"]["title"] = "x" * 21
    bad_currency = full_template()
    del bad_currency["template"]["components"][1]["parameters"][1]["currency"]["amount_1000"]
    bad_index = full_template()
    bad_index["template"]["components"][2]["index"] = "10"
    for payload in (too_many, long_title, bad_currency, bad_index):
        assert spec_errors(payload) != []


def test_text_message_shape() -> None:
    assert text_message(TO, "Hallo", reply_to="wamid.Q", biz_opaque_callback_data="o:1") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "context": {"message_id": "wamid.Q"},
        "biz_opaque_callback_data": "o:1",
        "text": {"body": "Hallo", "preview_url": False},
    }


def test_template_shape() -> None:
    assert full_template()["template"] == {
        "name": "order_update",
        "language": {"policy": "deterministic", "code": "de"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "1234"}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Jane"},
                    {
                        "type": "currency",
                        "currency": {
                            "fallback_value": "100,99 €",
                            "code": "EUR",
                            "amount_1000": 100990,
                        },
                    },
                    {"type": "date_time", "date_time": {"fallback_value": "25. Februar 1977"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "STOP_PROMO"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "order/42"}],
            },
        ],
    }


def test_buttons_and_list_shapes() -> None:
    buttons = buttons_message(TO, "Ok?", [("y", "Ja")], header="H", footer="F")["interactive"]
    assert buttons == {
        "type": "button",
        "header": {"type": "text", "text": "H"},
        "body": {"text": "Ok?"},
        "footer": {"text": "F"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Ja"}}]},
    }
    listed = list_message(TO, "B", "Open", [ListSection("S", [ListRow("r", "R", "d")])])
    assert listed["interactive"]["action"] == {
        "button": "Open",
        "sections": [{"title": "S", "rows": [{"id": "r", "title": "R", "description": "d"}]}],
    }


def test_read_receipt_matches_spec_example() -> None:
    # Not a Message (no "to"/"type"), so the schema cannot check it; compare with the example.
    assert read_receipt("wamid.X", typing_indicator=True) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.X",
        "typing_indicator": {"type": "text"},
    }
    assert "typing_indicator" not in read_receipt("wamid.X")
    content = _spec()["paths"][MESSAGES_PATH]["post"]["requestBody"]["content"]
    example = content["application/json"]["examples"]["Send typing indicator and read receipt"]
    assert set(example["value"]) == set(read_receipt("wamid.X", typing_indicator=True))


def test_media_by_id_and_link() -> None:
    assert media_message(TO, "document", media_id="7", filename="a.pdf")["document"] == {
        "id": "7",
        "filename": "a.pdf",
    }
    assert media_message(TO, "audio", link="https://e.com/a.ogg")["audio"] == {
        "link": "https://e.com/a.ogg"
    }


ROW = ListRow("r", "Row")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: text_message("0151 1234", "x"), "to"),
        (lambda: text_message("abc", "x"), "to"),
        (lambda: text_message(TO, ""), "text.body"),
        (lambda: text_message(TO, "x" * 4097), "text.body"),
        (lambda: text_message(TO, "x", reply_to=""), "context.message_id"),
        (
            lambda: text_message(TO, "x", biz_opaque_callback_data="x" * 513),
            "biz_opaque_callback_data",
        ),
        (lambda: media_message(TO, "image"), "image"),
        (lambda: media_message(TO, "image", media_id="1", link="https://e.com/a"), "image"),
        (lambda: media_message(TO, "image", link="ftp://e.com/a"), "image.link"),
        (lambda: media_message(TO, "audio", media_id="1", caption="c"), "audio.caption"),
        (lambda: media_message(TO, "sticker", media_id="1", caption="c"), "sticker.caption"),
        (lambda: media_message(TO, "image", media_id="1", filename="a"), "image.filename"),
        (lambda: media_message(TO, "image", media_id="1", caption="x" * 1025), "image.caption"),
        (lambda: media_message(TO, "gif", media_id="1"), "type"),  # type: ignore[arg-type]
        (lambda: reaction_message(TO, "", "x"), "reaction.message_id"),
        (lambda: location_message(TO, 91.0, 0.0), "location.latitude"),
        (lambda: location_message(TO, 0.0, -181.0), "location.longitude"),
        (lambda: buttons_message(TO, "b", []), "interactive.action.buttons"),
        (
            lambda: buttons_message(TO, "b", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]),
            "interactive.action.buttons",
        ),
        (
            lambda: buttons_message(TO, "b", [("a", "A"), ("b", "x" * 21)]),
            "interactive.action.buttons[1].reply.title",
        ),
        (
            lambda: buttons_message(TO, "b", [("a", "A"), ("a", "B")]),
            "interactive.action.buttons.reply.id[1]",
        ),
        (
            lambda: buttons_message(TO, "b", [("a", "Same"), ("b", "Same")]),
            "interactive.action.buttons.reply.title[1]",
        ),
        (lambda: buttons_message(TO, "", [("a", "A")]), "interactive.body.text"),
        (
            lambda: buttons_message(TO, "b", [("a", "A")], header="h" * 61),
            "interactive.header.text",
        ),
        (
            lambda: buttons_message(TO, "b", [("a", "A")], footer="f" * 61),
            "interactive.footer.text",
        ),
        (
            lambda: buttons_message(TO, "b", [("a", "A")], header={"type": "gif"}),
            "interactive.header.type",
        ),
        (lambda: list_message(TO, "b", "o", []), "interactive.action.sections"),
        (
            lambda: list_message(
                TO, "b", "o", [ListSection(None, [ListRow(f"r{i}", "t") for i in range(11)])]
            ),
            "interactive.action.sections",
        ),
        (
            lambda: list_message(TO, "b", "o", [ListSection("A", [ROW]), ListSection(None, [ROW])]),
            "interactive.action.sections[1].title",
        ),
        (
            lambda: list_message(TO, "b", "o", [ListSection("S", [])]),
            "interactive.action.sections[0].rows",
        ),
        (
            lambda: list_message(TO, "b", "o", [ListSection("S", [ListRow("r", "x" * 25)])]),
            "interactive.action.sections[0].rows[0].title",
        ),
        (
            lambda: list_message(TO, "b", "o", [ListSection("S", [ListRow("r", "t", "d" * 73)])]),
            "interactive.action.sections[0].rows[0].description",
        ),
        (
            lambda: list_message(TO, "b", "x" * 21, [ListSection("S", [ROW])]),
            "interactive.action.button",
        ),
        (
            lambda: list_message(TO, "b", "o", [ListSection("A", [ROW]), ListSection("B", [ROW])]),
            "interactive.action.sections.rows.id[1]",
        ),
        (lambda: template_message(TO, "", "de"), "template.name"),
        (lambda: template_message(TO, "t", ""), "template.language"),
        (
            lambda: template_message(TO, "t", "de", [{"type": "footer"}]),
            "template.components[0].type",
        ),
        (lambda: quick_reply_button(10, "p"), "components.index"),
        (lambda: url_button(-1, "p"), "components.index"),
        (lambda: currency_param("1 €", "eur", 1000), "parameters.currency.code"),
        (lambda: currency_param("1 €", "EUR", 1.5), "parameters.currency.amount_1000"),  # type: ignore[arg-type]
        (lambda: media_param("image", media_id="1", filename="a"), "parameters.image.filename"),
        (lambda: media_param("sticker", media_id="1"), "parameters.type"),  # type: ignore[arg-type]
        (lambda: read_receipt(""), "message_id"),
    ],
)
def test_limits_raise_naming_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(MessageValidationError) as caught:
        build()
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
