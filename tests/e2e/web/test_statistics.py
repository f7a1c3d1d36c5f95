"""The statistics page: counts per day from real deliveries, charts as SVG, CSV download,
and 403 for roles without statistics."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.domain.accounts import Role
from tests.e2e.conftest import signed
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.support.samples import sample_body


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en"


async def deliver_today(client: httpx.AsyncClient, settings: Settings, count: int) -> None:
    for number in range(count):
        sample = json.loads(sample_body("openapi/Text Message"))
        message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
        message["id"] = f"wamid.stats{number}"
        message["timestamp"] = str(int(time.time()))
        body = json.dumps(sample).encode()
        response = await client.post(
            "/webhooks/whatsapp", content=body, headers=signed(body, settings)
        )
        assert response.status_code == 200


async def test_supervisors_see_counts_charts_and_csv(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver_today(client, settings, 3)
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    listing = await client.get("/inbox")
    cid = int(listing.text.split('href="/inbox/')[1].split('"')[0].split("?")[0])
    await client.post(f"/inbox/{cid}/status", data={"status": "closed", "csrf": csrf_of(listing)})
    page = await client.get("/statistics")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5 and 'role="img"' in page.text
    download = await client.get("/statistics.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 14
    today = rows[-1]
    assert (today["received"], today["opened"], today["closed"]) == ("3", "1", "1")
    assert today["resolution_median_s"] != ""


async def test_weekly_view_and_bad_ranges(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    weekly = await client.get("/statistics.csv", params={"period": "week"})
    assert weekly.status_code == 200 and len(weekly.text.strip().splitlines()) in (3, 4)
    bad = await client.get("/statistics", params={"from": "2026-11-10", "to": "2026-11-01"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("to:")


async def test_agents_get_403(client: httpx.AsyncClient, components: Components) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    assert (await client.get("/statistics")).status_code == 403
    assert (await client.get("/statistics.csv")).status_code == 403
