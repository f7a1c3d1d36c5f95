"""Inbox benchmark: server time of the conversation list and of a 500-message thread with
``--conversations`` conversations (default 100,000) and ``--messages`` messages (default
1,000,000) in SQLite on disk, through the real application (routes, templates, sealing,
access logging) driven in-process over ASGI, signed in as a supervisor.

The data is written with bulk inserts: one contact and one conversation per customer, the
messages spread over them (one conversation gets ``--thread`` messages), every name, number,
text and platform object sealed as the application seals them (one data key per customer's
contact fields, one per conversation's messages). The supervisor signed in has an account
older than the data and their own read state: two conversations in three opened (most of
those read to the end), the third never, so every list row joins and counts unread.
Measured, each ``--requests`` times:

- list: the first page of the inbox (all open conversations), page ``--pages`` + 1 of the
  list (by cursor), the unassigned view, and the person's unread view;
- thread: the thread page of the ``--thread``-message conversation (list and thread, all its
  messages shown), and the thread fragment the page reloads when something changes;
- search (unless ``--no-search``): after indexing every message as the background indexer
  does (timed), a word in one message of seven, and a rare word matched as a prefix.

Every request also writes its access-log row and log entry, as in production, and the
process freezes its long-lived objects for the collector as ``chatproof serve`` does. Times
are the server's (in-process, no network), reported as p50/p95/max in milliseconds.

Example: .venv/bin/python bench/inbox.py --conversations 100000 --messages 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from chatproof.bootstrap import Components, build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.accounts import Role
from chatproof.services.accounts import add_user
from chatproof.store import tables as t
from chatproof.web.app import create_app

PASSWORD = "benchmark password"
START = datetime(2025, 11, 1, tzinfo=UTC)
CHUNK = 5000
WORDS = ["Bestellung", "Lieferung", "Rechnung", "Termin", "Rückruf", "Paket", "Adresse"]


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def generate(
    components: Components, conversations: int, messages: int, thread: int, reader: int
) -> dict:
    """Write the data set, with ``reader``'s read state; return counts and seconds."""
    begun = time.perf_counter()
    rest = max(messages - thread, 0)
    per, extra = divmod(rest, max(conversations - 1, 1))
    next_message = 1
    for block in _chunks(conversations, CHUNK):
        with components.writer() as uow:
            conn = uow.inbox.conn  # type: ignore[attr-defined]
            personal = uow.personal
            contacts, convs, rows, seen = [], [], [], []
            for i in block:
                subject = str(uuid.uuid4())
                created = START + timedelta(seconds=i * 300)
                count = thread if i == 0 else per + (1 if i <= extra else 0)
                last = created + timedelta(minutes=max(count, 1))
                wa_id, name = f"49151{i:08d}", f"Kunde {i}"
                sealed_wa, sealed_name = personal.seal_fields(subject, [wa_id, name], created)
                contacts.append(
                    {
                        "id": i + 1,
                        "subject_id": subject,
                        "wa_id_hash": hashlib.sha256(wa_id.encode()).hexdigest(),
                        "wa_id": sealed_wa,
                        "name": sealed_name,
                        "first_seen_at": created,
                        "updated_at": last,
                    }
                )
                convs.append(
                    {
                        "id": i + 1,
                        "contact_id": i + 1,
                        "business_number_id": "106540352242922",
                        "status": "open",
                        "created_at": created,
                        "last_message_at": last,
                        "last_inbound_at": last,
                        "message_count": count,
                        "unread_count": count % 3,
                        "inbound_count": (count + 1) // 2,
                    }
                )
                if i % 3:
                    inbound = (count + 1) // 2
                    seen.append(
                        {
                            "user_id": reader,
                            "conversation_id": i + 1,
                            "seen_inbound": max(inbound - count % 3, 0),
                            "seen_at": last,
                        }
                    )
                texts, raws = [], []
                for k in range(count):
                    text = f"{WORDS[(i + k) % len(WORDS)]} Nachricht {k} von {name}"
                    body = {"from": wa_id, "id": f"wamid.{i}.{k}", "type": "text"}
                    texts.append(text)
                    raws.append(json.dumps({**body, "text": {"body": text}}))
                sealed = personal.sealer.seal_many(
                    subject, [x.encode() for x in texts + raws], created
                )
                for k in range(count):
                    at = created + timedelta(minutes=k)
                    rows.append(
                        {
                            "id": next_message,
                            "conversation_id": i + 1,
                            "platform_id_hash": hashlib.sha256(
                                f"m{next_message}".encode()
                            ).hexdigest(),
                            "platform_id": sealed[k],
                            "direction": "inbound" if k % 2 == 0 else "outbound",
                            "type": "text",
                            "sent_at": at,
                            "received_at": at,
                            "text": sealed[k],
                            "raw": sealed[count + k],
                            "state": None if k % 2 == 0 else "read",
                            "state_at": None if k % 2 == 0 else at,
                        }
                    )
                    next_message += 1
            conn.execute(insert(t.contacts), contacts)
            conn.execute(insert(t.conversations), convs)
            if seen:
                conn.execute(insert(t.read_states), seen)
            for part in _chunks(len(rows), CHUNK):
                conn.execute(insert(t.messages), rows[part.start : part.stop])
            uow.commit()
    return {
        "conversations": conversations,
        "messages": next_message - 1,
        "thread": thread,
        "seconds": round(time.perf_counter() - begun, 1),
    }


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50": round(p(0.5) * 1000, 1),
        "p95": round(p(0.95) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def build_search_index(components: Components) -> dict[str, float]:
    """Index every message's text as the background indexer does, batch by batch."""
    from chatproof.services.inbox import index_pending

    began, total = time.perf_counter(), 0
    while added := index_pending(components.writer, 5000):
        total += added
    seconds = time.perf_counter() - began
    return {"messages": total, "seconds": round(seconds, 1), "per_s": round(total / seconds)}


async def measure(
    components: Components, requests: int, pages: int, search: bool
) -> dict[str, dict[str, float]]:
    app = create_app(components)
    # as `chatproof serve` does: what lives as long as the process is frozen, so full
    # collections stop walking it (docs/performance.md, ingest)
    gc.collect()
    gc.freeze()
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, "no login form"
        signed_in = await client.post(
            "/login", data={"username": "lead", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert signed_in.status_code == 303, signed_in.text
        deep = await _cursor_after(client, pages=pages)
        cases = {
            "list: first page": "/inbox",
            f"list: page {pages + 1} (cursor)": f"/inbox?cursor={deep}",
            "list: unassigned": "/inbox?view=unassigned",
            "list: unread": "/inbox?view=unread",
            "thread page": "/inbox/1",
            "thread fragment": "/inbox/fragment/thread/1",
        }
        if search:
            cases["search: a word in 1 of 7 messages"] = "/inbox?q=rechnung"
            cases["search: a rare word (prefix)"] = "/inbox?q=4711"
        results = {}
        for name, url in cases.items():
            samples = []
            for _ in range(requests):
                began = time.perf_counter()
                response = await client.get(url)
                samples.append(time.perf_counter() - began)
                assert response.status_code == 200, (url, response.status_code)
            results[name] = _stats(samples)
        page = (await client.get("/inbox/1")).text
        results["thread page"]["shown"] = page.count('class="msg ')
    return results


async def _cursor_after(client: httpx.AsyncClient, pages: int) -> str:
    cursor = ""
    for _ in range(pages):
        page = await client.get("/inbox" + (f"?cursor={cursor}" if cursor else ""))
        found = re.search(r"cursor=([A-Za-z0-9_=-]+)", page.text)
        assert found, "the list ended early"
        cursor = found.group(1)
    return cursor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--thread", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--pages", type=int, default=40, help="how deep the cursor case is")
    parser.add_argument(
        "--no-search", action="store_true", help="skip building the search index and searching"
    )
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--reuse", type=Path, default=None, help="measure again on a directory kept by --keep"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    root = args.reuse or Path(tempfile.mkdtemp(prefix="chatproof-inbox-", dir=args.tmp_dir))
    console = Console(stderr=True)
    try:
        if args.reuse is None:
            initialise(root / "data")
        components = build(load_settings(root / "data", {}))
        try:
            data, index = None, None
            if args.reuse is None:
                data, index = _prepare(components, args, console)
            console.print("measuring …")
            timings = asyncio.run(
                measure(components, args.requests, args.pages, not args.no_search)
            )
        finally:
            components.close()
        report: dict[str, Any] = {"data": data, "search_index": index, "server_ms": timings}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            table = Table("request", "p50 ms", "p95 ms", "max ms", "n")
            for name, row in timings.items():
                table.add_row(name, *(str(row[k]) for k in ("p50", "p95", "max", "n")))
            Console().print(table)
        if args.keep:
            console.print(f"kept in {root} (--reuse {root})")
    finally:
        if not args.keep and args.reuse is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def _prepare(
    components: Components, args: argparse.Namespace, console: Console
) -> tuple[dict, dict[str, float] | None]:
    lead, _ = add_user(
        components.writer,
        "bench",
        START - timedelta(days=1),
        username="lead",
        role=Role.SUPERVISOR,
        password=PASSWORD,
    )
    console.print(f"generating {args.conversations:,} conversations …")
    data = generate(components, args.conversations, args.messages, args.thread, lead.id)
    console.print(f"generated in {data['seconds']} s")
    index = None
    if not args.no_search:
        console.print("building the search index …")
        index = build_search_index(components)
    return data, index


if __name__ == "__main__":
    sys.exit(main())
