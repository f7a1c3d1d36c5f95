"""``GET /{waba-id}/message_templates`` as the platform lists templates, read through the
real client and turned into the catalogue chatproof checks template sends against."""

from __future__ import annotations

from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.channels.whatsapp.errors import InvalidParameter
from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import from_platform
from tests.integration.emulator.conftest import PHONE_ID, TOKEN, VERSION, WABA_ID, Harness


def client_for(harness: Harness) -> CloudApiClient:
    connection = Connection(
        base_url="http://emulator.test", access_token=TOKEN, phone_number_id=PHONE_ID
    )
    return CloudApiClient(connection, http=harness.client)


async def test_the_account_lists_its_templates_in_the_platforms_shape(harness: Harness) -> None:
    response = await harness.client.get(
        f"/{VERSION}/{WABA_ID}/message_templates", headers=harness.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "paging"}
    newsletter = next(t for t in body["data"] if t["name"] == "newsletter")
    assert (newsletter["category"], newsletter["status"], newsletter["language"]) == (
        "MARKETING",
        "APPROVED",
        "de",
    )
    assert {c["type"] for c in newsletter["components"]} == {"BODY", "BUTTONS"}


async def test_the_client_reads_them_into_specs(harness: Harness) -> None:
    listed = await client_for(harness).list_templates(WABA_ID)
    specs = {(s.name, s.language): s for s in map(from_platform, listed)}
    order = specs[("order_update", "de")]
    assert (order.category, order.body_params, order.approved) == (
        TemplateCategory.UTILITY,
        2,
        True,
    )
    assert specs[("newsletter", "de")].body_params == 1


async def test_a_paused_template_is_listed_as_not_approved(harness: Harness) -> None:
    await harness.client.post(
        "/_emulator/templates",
        json={"name": "promo", "language": "de", "category": "marketing", "status": "PAUSED"},
    )
    listed = await client_for(harness).list_templates(WABA_ID)
    (promo,) = [from_platform(t) for t in listed if t["name"] == "promo"]
    assert not promo.approved


async def test_another_account_is_refused(harness: Harness) -> None:
    try:
        await client_for(harness).list_templates("999")
    except InvalidParameter as exc:
        assert exc.code == 100
    else:
        raise AssertionError("listing another account's templates succeeded")
