"""How each message type is prepared for the thread: media links, voice notes, locations with
a map link, shared contacts, reactions, button and list answers, failures in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chatproof.domain.inbox import MediaView, MessageView
from chatproof.web.ui.bubbles import bubble

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def message(kind: str, body: dict, **changes: object) -> MessageView:
    values: dict[str, object] = {
        "id": 7,
        "conversation_id": 1,
        "direction": "inbound",
        "type": kind,
        "sent_at": AT,
        "received_at": AT,
        "text": "",
        "state": "",
        "state_at": None,
        "error_code": None,
        "error_title": "",
        "reply_to": None,
        "refers_to": None,
        "edited_at": None,
        "revoked_at": None,
        "media": None,
        "raw": json.dumps({"type": kind, kind: body}).encode(),
    }
    return MessageView(**{**values, **changes})  # type: ignore[arg-type]


def media(state: str = "stored") -> MediaView:
    return MediaView("m1", "audio/ogg", "", state, 1, "", "blob")


def test_a_voice_note_plays_from_the_media_route() -> None:
    b = bubble(message("audio", {"voice": True}, media=media()))
    assert (b.type, b.media_url, b.media_state) == ("voice", "/api/messages/7/media", "stored")


def test_a_location_has_coordinates_and_a_map_link() -> None:
    raw = {"latitude": 52.52, "longitude": 13.405, "name": "Rotes Rathaus", "address": "Berlin"}
    b = bubble(message("location", raw))
    assert (b.latitude, b.longitude, b.place) == (52.52, 13.405, "Rotes Rathaus, Berlin")
    assert "mlat=52.52&mlon=13.405" in b.map_url


def test_shared_contacts_reactions_and_answers() -> None:
    card = {"name": {"formatted_name": "Eva"}, "phones": [{"phone": "+49 1"}]}
    cards = message("contacts", {}, raw=json.dumps({"contacts": [card]}).encode())
    assert bubble(cards).contacts == (("Eva", "+49 1"),)
    assert bubble(message("reaction", {"emoji": "👍"})).emoji == "👍"
    reply = {"type": "list_reply", "list_reply": {"id": "a", "title": "Morgen 9 Uhr"}}
    assert bubble(message("interactive", reply)).choice == "Morgen 9 Uhr"
    assert bubble(message("button", {"text": "Ja, bitte"})).choice == "Ja, bitte"


def test_a_failure_is_explained_in_both_languages_with_its_code() -> None:
    failed = message("text", {}, direction="outbound", state="failed", error_code=131047)
    de, en = bubble(failed).failure
    assert "24 Stunden" in de and en.endswith("(131047)")
    unknown = message("text", {}, state="failed", error_code=130472, error_title="")
    assert bubble(unknown).failure[1] == "Platform error 130472"


def test_unreadable_platform_objects_still_show_the_text() -> None:
    broken = message("text", {}, raw=b"not json", text="Hallo")
    assert bubble(broken).text == "Hallo"
