"""The DPO's pages for data-subject requests: overdue and due-soon requests are shown, the
access report downloads as a zip, the access log is filtered by person, and every other role
gets 403 from the server for each of these pages."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.domain.accounts import Role
from chatproof.services.dsr import add_request
from tests.e2e.test_dsr import ANNA, populate
from tests.e2e.web.test_auth import add, csrf_of, sign_in


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en-GB,en;q=0.9"


def register(components: Components) -> None:
    populate(components)
    now, tz = datetime.now(UTC), components.timezone
    today = now.astimezone(tz).date()
    long_ago = date(today.year - 1, 1, 15)
    add_request(components.writer, ANNA, "access", long_ago, "ID", by="d", now=now, tz=tz)
    add_request(components.writer, ANNA, "erasure", today, "ID", by="d", now=now, tz=tz)


async def test_the_officer_sees_overdue_requests_and_downloads_the_report(
    client: httpx.AsyncClient, components: Components
) -> None:
    register(components)
    secret = add(components, "dora", Role.DPO)
    await sign_in(client, "dora", secret=secret)
    page = await client.get("/dpo/requests")
    assert page.status_code == 200
    assert 'data-state="overdue"' in page.text and 'data-state="on_time"' in page.text
    assert 'href="/dpo/requests"' in page.text

    answer = await client.post(
        "/dpo/report",
        data={"contact": ANNA, "language": "en", "staff_names": "1", "csrf": csrf_of(page)},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as z:
        report = json.loads(z.read("report.json"))
    assert [m["text"] for m in report["messages"]] == [
        "Bestellung QX-1 bitte",
        "Und Lieferadresse QX-2",
    ]
    assert report["accesses"][0]["actor"] == "user:reader1"

    reads = await client.get("/dpo/person-access", params={"contact": ANNA})
    assert reads.status_code == 200
    assert "user:reader1" in reads.text and "access_report" in reads.text
    unknown = await client.post(
        "/dpo/report", data={"contact": "4900000000", "language": "de", "csrf": csrf_of(page)}
    )
    assert unknown.status_code == 400


@pytest.mark.parametrize("role", [Role.AGENT, Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN])
async def test_no_other_role_reaches_the_request_pages(
    client: httpx.AsyncClient, components: Components, role: Role
) -> None:
    register(components)
    secret = add(components, "other", role)
    await sign_in(client, "other", secret=secret)
    assert (await client.get("/dpo/requests")).status_code == 403
    assert (await client.get("/dpo/person-access", params={"contact": ANNA})).status_code == 403
    home = await client.get("/account/password")
    forged = await client.post("/dpo/report", data={"contact": ANNA, "csrf": csrf_of(home)})
    assert forged.status_code == 403


async def test_the_api_hides_a_restricted_person_from_staff_tokens(
    client: httpx.AsyncClient, components: Components
) -> None:
    from chatproof.services import accounts
    from chatproof.services.dsr import restrict

    register(components)
    restrict(
        components.writer, ANNA, "Art. 18(1)(a)", by="user:dora", now=datetime.now(UTC),
        tz=components.timezone,
    )  # fmt: skip
    for name, role in (("lena", Role.SUPERVISOR), ("maria", Role.AGENT)):
        add(components, name, role)
        token = accounts.create_api_token(components.writer, "t", datetime.now(UTC), name, "x")
        headers = {"Authorization": f"Bearer {token}"}
        listed = await client.get("/api/conversations", headers=headers)
        assert [c["name"] for c in listed.json()["items"]] == ["Ben Bleibt"], name
        hidden = await client.get("/api/conversations/1/messages", headers=headers)
        assert hidden.status_code == 403 and "restricted" in hidden.text
        assert (await client.get("/api/conversations/2/messages", headers=headers)).is_success
