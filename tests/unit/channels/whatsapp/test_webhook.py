"""Parsing webhook bodies: every sample the platform publishes, and bodies it cannot send."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chatproof.channels.errors import PayloadError
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.messages import Direction
from tests.support.samples import sample_body, webhook_samples

# (direction, type, text) of the one message each sample carries.
EXPECTED_MESSAGES = {
    "message/text": ("inbound", "text", "Body Text"),
    "message/image": ("inbound", "image", ""),
    "message/video": ("inbound", "video", "caption"),
    "message/document": ("inbound", "document", "caption"),
    "message/voice": ("inbound", "audio", ""),
    "message/static_sticker": ("inbound", "sticker", ""),
    "message/reaction": ("inbound", "reaction", "😮"),
    "message/unreaction_empty": ("inbound", "reaction", ""),
    "message/current_location": ("inbound", "location", "12.25089, 43.90539"),
    "message/chosen_location": (
        "inbound",
        "location",
        "Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025",
    ),
    "message/contacts": ("inbound", "contacts", "Chandler Bing, Monica, Rachel Green"),
    "message/order": ("inbound", "order", ""),
    "message/unsupported": ("inbound", "unsupported", ""),
    "message/reply": ("inbound", "text", "replied text"),
    "message/referral": ("inbound", "text", "BODY"),
    "callback_button/quick_reply": ("inbound", "button", "title"),
    "callback_selection/callback": ("inbound", "interactive", "title"),
    "flow_completion/completion": ("inbound", "interactive", "Sent"),
    "deleted_message/revoke": ("inbound", "revoke", ""),
    "edited_message/image": ("inbound", "edit", "Updated image caption"),
    "outgoing_message/text": ("outbound", "text", "Test message"),
    "outgoing_message/edit": ("outbound", "edit", "Text was edited"),
    "system/identity_change": ("inbound", "system", "User identity changed"),
    "openapi/Button Message": ("inbound", "button", "Unsubscribe"),
    "openapi/Interactive List Reply Message": ("inbound", "interactive", "Priority Mail Express"),
    "openapi/Contact Sharing Message": ("inbound", "contacts", "Lucía Gómez"),
}


@pytest.mark.parametrize("name", sorted(webhook_samples()))
def test_every_published_sample_parses_into_something_kept(name: str) -> None:
    batch = parse_webhook(sample_body(name))
    assert not batch.is_empty
    for message in batch.messages:
        assert json.loads(message.raw)["id"] == message.platform_id
        assert message.sent_at.tzinfo is UTC


@pytest.mark.parametrize("name", sorted(EXPECTED_MESSAGES))
def test_message_samples_keep_direction_type_and_text(name: str) -> None:
    (message,) = parse_webhook(sample_body(name)).messages
    assert (message.direction.value, message.type, message.text) == EXPECTED_MESSAGES[name]


def test_a_text_message_names_sender_business_number_and_time() -> None:
    batch = parse_webhook(sample_body("message/text"))
    (message,) = batch.messages
    assert message.platform_id == "wamid.xyzxyz"
    assert message.customer_wa_id == "972987654321"
    assert message.business_number_id == "1122334455667"
    assert message.sent_at == datetime.fromtimestamp(1697043223, UTC)
    (contact,) = batch.contacts
    assert (contact.wa_id, contact.name) == ("972987654321", "Test Name")


def test_media_messages_announce_id_type_and_hash() -> None:
    (voice,) = parse_webhook(sample_body("message/voice")).messages
    assert voice.media is not None and voice.media.voice
    assert voice.media.mime_type.startswith("audio/ogg")
    assert voice.media.sha256
    (document,) = parse_webhook(sample_body("message/document")).messages
    assert document.media is not None and document.media.filename


def test_reactions_edits_and_revokes_point_at_the_message_they_change() -> None:
    (reaction,) = parse_webhook(sample_body("openapi/Reaction Message")).messages
    assert reaction.related_id.startswith("wamid.")
    (edit,) = parse_webhook(sample_body("edited_message/image")).messages
    assert edit.related_id.startswith("wamid.") and edit.media is not None
    (revoke,) = parse_webhook(sample_body("outgoing_message/delete")).messages
    assert (revoke.direction, revoke.related_id) == (Direction.OUTBOUND, "wamid.zzzzzz")


def test_a_reply_carries_the_quoted_message_id() -> None:
    (reply,) = parse_webhook(sample_body("message/reply")).messages
    assert reply.context_id == "wamid.xyzxyz=="


@pytest.mark.parametrize(
    ("name", "status", "codes"),
    [
        ("message_status/sent", "sent", []),
        ("message_status/delivered", "delivered", []),
        ("message_status/read", "read", []),
        ("message_status/played", "played", []),
        ("message_status/failed", "failed", [130472]),
    ],
)
def test_statuses_with_their_errors(name: str, status: str, codes: list[int]) -> None:
    (update,) = parse_webhook(sample_body(name)).statuses
    assert update.status == status
    assert [e.code for e in update.errors] == codes


def test_status_pricing_and_callback_data_are_kept() -> None:
    (update,) = parse_webhook(sample_body("message_status/with_tracker")).statuses
    assert update.callback_data == "some data"
    (sent,) = parse_webhook(sample_body("message_status/sent")).statuses
    assert sent.pricing_category == "service"
    assert sent.billable is not None


def test_marketing_preferences_become_events_about_the_customer() -> None:
    (event,) = parse_webhook(sample_body("user_marketing_preferences/resume")).events
    assert (event.field, event.kind, event.customer_wa_id) == (
        "user_preferences",
        "marketing_resume",
        "16505551234",
    )


def test_call_statuses_are_not_mistaken_for_message_statuses() -> None:
    batch = parse_webhook(sample_body("call_status/call_status"))
    assert batch.statuses == ()
    assert [e.kind for e in batch.events] == ["call_ringing"]


def test_out_of_band_errors_and_unknown_fields_are_kept_as_events() -> None:
    batch = parse_webhook(sample_body("message/interactive_message_with_err"))
    assert [e.kind for e in batch.events] == ["error"]
    (event,) = parse_webhook(sample_body("account_update/account_deleted")).events
    assert event.field == "account_update" and b"ACCOUNT_DELETED" in event.raw


def test_event_keys_are_stable_across_redelivery_and_distinct_between_events() -> None:
    first = parse_webhook(sample_body("template_status_update/approved")).events[0]
    again = parse_webhook(sample_body("template_status_update/approved")).events[0]
    other = parse_webhook(sample_body("template_status_update/rejected")).events[0]
    assert first.key == again.key != other.key


def test_unknown_message_types_are_kept_not_refused() -> None:
    body = json.loads(sample_body("message/text"))
    item = body["entry"][0]["changes"][0]["value"]["messages"][0]
    item["type"] = "hologram"
    item["hologram"] = {"depth": 3}
    (message,) = parse_webhook(json.dumps(body).encode()).messages
    assert message.type == "hologram"
    assert json.loads(message.raw)["hologram"] == {"depth": 3}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"not json", ""),
        (b"[]", "(body)"),
        (b'{"object": "page", "entry": []}', "object"),
        (b'{"object": "whatsapp_business_account", "entry": {}}', "entry"),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]}',
            "entry[0].changes[0].field",
        ),
    ],
)
def test_bodies_of_the_wrong_shape_name_the_offending_field(body: bytes, path: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_webhook(body)
    assert caught.value.path == path


def test_a_message_without_id_names_its_path() -> None:
    body = json.loads(sample_body("message/text"))
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(PayloadError) as caught:
        parse_webhook(json.dumps(body).encode())
    assert caught.value.path == "entry[0].changes[0].value.messages[0].id"


def test_a_bad_timestamp_names_its_path() -> None:
    body = json.loads(sample_body("message_status/sent"))
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "soon"
    with pytest.raises(PayloadError, match="Unix seconds") as caught:
        parse_webhook(json.dumps(body).encode())
    assert caught.value.path.endswith("statuses[0].timestamp")
