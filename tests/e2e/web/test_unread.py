"""Unread counts per person over HTTP: the list, the unread view, the page title and the live
updates show each person's own counts; opening the thread (page, fragment or the JSON API
with a person's token) clears them for that person only; "mark as unread" needs the CSRF
token and brings a conversation back for that person alone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.domain.accounts import Role
from chatproof.services import accounts
from tests.e2e.conftest import signed
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.support.samples import sample_body


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en"


async def deliver(client: httpx.AsyncClient, settings: Settings, wamid: str) -> None:
    sample = json.loads(sample_body("openapi/Text Message"))
    message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(int(datetime.now(UTC).timestamp())))
    body = json.dumps(sample).encode()
    response = await client.post("/webhooks/whatsapp", content=body, headers=signed(body, settings))
    assert response.status_code == 200


def counts(page: str) -> dict[int, int]:
    found = re.findall(r'data-id="(\d+)" data-unread="(\d+)"', page)
    return {int(k): int(v) for k, v in found}


async def two_agents(
    client: httpx.AsyncClient,
    client_for: Callable[..., Any],
    components: Components,
) -> httpx.AsyncClient:
    """Anna signs in on ``client``, Ben on the returned one."""
    add(components, "anna", Role.AGENT)
    add(components, "ben", Role.AGENT)
    other = await client_for(components)
    other.headers["Accept-Language"] = "en"
    assert (await sign_in(client, "anna")).status_code == 303
    assert (await sign_in(other, "ben")).status_code == 303
    return other


async def test_each_agent_sees_their_own_unread_counts(
    client: httpx.AsyncClient,
    client_for: Callable[..., Any],
    components: Components,
    settings: Settings,
) -> None:
    ben = await two_agents(client, client_for, components)
    await deliver(client, settings, "wamid.e1")
    await deliver(client, settings, "wamid.e2")
    listing = (await client.get("/inbox")).text
    ((conversation, n),) = counts(listing).items()
    assert n == 2 and 'class="conv unread"' in listing
    assert "<title>(1) Inbox" in listing and 'id="unread-total"' in listing

    thread = await client.get(f"/inbox/{conversation}")
    assert thread.status_code == 200
    assert counts(thread.text) == {conversation: 0}, "the page's list shows it read"
    assert "<title>Inbox" in thread.text
    assert counts((await client.get("/inbox")).text) == {conversation: 0}
    assert counts((await ben.get("/inbox")).text) == {conversation: 2}
    assert counts((await ben.get("/inbox?view=unread")).text) == {conversation: 2}
    assert counts((await client.get("/inbox?view=unread")).text) == {}

    anna_updates = (await client.get("/inbox/updates")).json()
    ben_updates = (await ben.get("/inbox/updates")).json()
    assert anna_updates["unread"]["conversations"] == 0
    assert ben_updates["unread"]["counts"] == {str(conversation): 2}
    assert ben_updates["version"] == anna_updates["version"]

    await deliver(client, settings, "wamid.e3")
    assert (await client.get("/inbox/updates")).json()["unread"]["counts"] == {str(conversation): 1}
    assert counts((await ben.get("/inbox")).text) == {conversation: 3}
    fragment = await ben.get(f"/inbox/fragment/thread/{conversation}")
    assert fragment.status_code == 200
    assert counts((await ben.get("/inbox/fragment/list")).text) == {conversation: 0}
    assert counts((await client.get("/inbox/fragment/list")).text) == {conversation: 1}


async def test_marking_unread_is_a_protected_post_for_one_person(
    client: httpx.AsyncClient,
    client_for: Callable[..., Any],
    components: Components,
    settings: Settings,
) -> None:
    ben = await two_agents(client, client_for, components)
    await deliver(client, settings, "wamid.m1")
    conversation = next(iter(counts((await client.get("/inbox")).text)))
    page = await client.get(f"/inbox/{conversation}?view=mine")
    await ben.get(f"/inbox/{conversation}")
    assert f'action="/inbox/{conversation}/unread"' in page.text
    assert "Mark as unread" in page.text

    refused = await client.post(f"/inbox/{conversation}/unread", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert counts((await client.get("/inbox")).text) == {conversation: 0}

    marked = await client.post(
        f"/inbox/{conversation}/unread",
        data={"csrf": csrf_of(page), "back": "/inbox?view=mine"},
    )
    assert marked.status_code == 303 and marked.headers["location"] == "/inbox?view=mine"
    assert counts((await client.get("/inbox")).text) == {conversation: 1}
    assert counts((await ben.get("/inbox")).text) == {conversation: 0}
    missing = await client.post("/inbox/999999/unread", data={"csrf": csrf_of(page)})
    assert missing.status_code == 404


async def test_the_api_reports_and_records_the_callers_own_state(
    client: httpx.AsyncClient,
    client_for: Callable[..., Any],
    components: Components,
    settings: Settings,
) -> None:
    ben = await two_agents(client, client_for, components)
    token = accounts.create_api_token(
        components.writer, "test", datetime.now(UTC), "anna", "script"
    )
    personal = {"Authorization": f"Bearer {token}"}
    installation = {"Authorization": f"Bearer {settings.server.api_token}"}
    await deliver(client, settings, "wamid.a1")

    (item,) = (await client.get("/api/conversations", headers=personal)).json()["items"]
    assert item["my_unread_count"] == 1 and item["unread_count"] == 1
    (item,) = (await client.get("/api/conversations", headers=installation)).json()["items"]
    assert item["my_unread_count"] is None

    messages = await client.get(f"/api/conversations/{item['id']}/messages", headers=personal)
    assert messages.status_code == 200
    (item,) = (await client.get("/api/conversations", headers=personal)).json()["items"]
    assert item["my_unread_count"] == 0
    assert item["unread_count"] == 1, "the team counter: nobody opened it in the inbox"
    assert counts((await ben.get("/inbox")).text) == {item["id"]: 1}
    older = await client.get(
        f"/api/conversations/{item['id']}/messages?before=1", headers=installation
    )
    assert older.status_code == 200
