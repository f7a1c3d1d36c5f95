"""The load generator of ``bench/ingest.py``, run as its own process so that it does not share
an interpreter (or a GIL) with the server under test.

It keeps many keep-alive HTTP/1.1 connections on loopback and writes requests that were
serialised and signed before the clock starts; responses are parsed by a small callback
protocol on uvloop, so one request costs the generator a few tens of microseconds.

Protocol: the parent writes one JSON job per line on stdin (the first line is the target and
the app secret, so the secret never shows up in ``ps``); the generator answers with JSON lines
on stdout: ``{"progress": done, "total": n}`` while a phase runs, then one ``{"result": …}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import resource
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvloop

PATH = "/webhooks/whatsapp"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "4930609859535"
PROGRESS_EVERY = 0.25
GRACE = 30.0
"""Seconds after the last scheduled send before outstanding requests count as timed out."""

FIRST_NAMES = (
    "Anna", "Lukas", "Mia", "Leon", "Hannah", "Finn", "Emma", "Jonas", "Sophie", "Elias",
    "Lea", "Paul", "Marie", "Ben", "Lena", "Felix", "Laura", "Maximilian", "Julia", "Noah",
    "Olivia", "James", "Amelia", "Oliver", "Zeynep", "Mehmet", "Aylin", "Jan", "Katarzyna",
    "Luca", "Chiara", "Sven", "Jürgen", "Ömer", "Gökhan", "Renée", "Björn", "Dörte",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Smith", "Jones", "Taylor", "Brown", "Yılmaz", "Kaya", "Nowak", "Rossi", "Öztürk",
)  # fmt: skip
MOBILE_PREFIXES = (
    "49151", "49152", "49157", "49160", "49162", "49170", "49171", "49172", "49175", "49176",
    "49177", "49178", "49179", "43664", "43676", "41791", "41786", "447700", "447911",
)  # fmt: skip
COUNTRIES = {"49": "DE", "43": "AT", "41": "CH", "44": "GB"}
TEXTS = (
    "Hallo, wo bleibt meine Bestellung {order}?",
    "Guten Tag, ich möchte meinen Termin am {day}. verschieben.",
    "Können Sie mir die Rechnung {order} noch einmal schicken?",
    "Danke, das hat geklappt! 👍",
    "Ist der Artikel in Größe M wieder lieferbar?",
    "Ich habe ein Problem mit der Rücksendung {order}, das Etikett lässt sich nicht öffnen.",
    "Haben Sie am Samstag geöffnet?",
    "Bitte rufen Sie mich zurück, ich bin bis 18 Uhr erreichbar.",
    "Die Lieferung kam beschädigt an 😕 Was nun?",
    "Wie lange dauert die Erstattung normalerweise?",
    "Moin! Gibt es den Gutschein noch?",
    "Ich möchte keine Werbung mehr per WhatsApp erhalten.",
    "Hello, I ordered {order} last week and it still hasn't shipped.",
    "Hi! Do you ship to Austria?",
    "Can I change the delivery address for order {order}?",
    "Thanks a lot for the quick help 🙏",
    "What are your opening hours on public holidays?",
    "The payment failed twice, could you check order {order}?",
    "Is it possible to pick up the parcel in store?",
    "Sorry for the late reply – yes, the {day}th works for me.",
)


def signed_request(body: bytes, secret: bytes, host: str) -> bytes:
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
    head = (
        f"POST {PATH} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: facebookexternalua\r\n"
        "Accept: */*\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={signature}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


def _wamid(wa_id: str, unique: str) -> str:
    """Shaped like the platform's ids: base64 of the sender's number and a 20-hex-digit id."""
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x12\x18\x14"
    return "wamid." + base64.b64encode(raw + unique.encode() + b"\x00").decode()


def build_bodies(count: int, prefix: str, seed: int, phone_number_id: str) -> list[bytes]:
    """``count`` webhook bodies, one inbound text message each, with unique wamids.

    ``prefix`` (8 hex digits) keeps wamids unique across phases and runs.
    """
    rng = random.Random(seed)
    customers = []
    for _ in range(max(1, min(2000, count // 4))):
        number = rng.choice(MOBILE_PREFIXES)
        number += "".join(rng.choice("0123456789") for _ in range(13 - len(number)))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        user_id = f"{COUNTRIES[number[:2]]}.{rng.randrange(10**19, 10**20)}"
        customers.append((number, name, user_id))
    now = int(time.time())
    bodies = []
    for i in range(count):
        wa_id, name, user_id = rng.choice(customers)
        order, day = f"A-{rng.randrange(10**6):06d}", rng.randint(1, 28)
        text = rng.choice(TEXTS).format(order=order, day=day)
        doc = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA_ID,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": DISPLAY_NUMBER,
                                    "phone_number_id": phone_number_id,
                                },
                                "contacts": [
                                    {"profile": {"name": name}, "wa_id": wa_id, "user_id": user_id}
                                ],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": _wamid(wa_id, f"{prefix}{i:012X}"),
                                        "timestamp": str(now - rng.randint(0, 5)),
                                        "text": {"body": text},
                                        "type": "text",
                                    }
                                ],
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }
        # Compact, with non-ASCII characters as \u escapes (json.dumps' default).
        bodies.append(json.dumps(doc, separators=(",", ":")).encode())
    return bodies


class Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, on_response: Callable[[Connection, int, float], None]) -> None:
        self.on_response = on_response
        self.on_lost: Callable[[Connection], None] | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.index = -1
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, index: int, request: bytes) -> None:
        self.index = index
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end]).lower() + b"\r\n"
        at = head.find(b"\r\ncontent-length:")
        length = int(head[at + 17 : head.find(b"\r\n", at + 2)]) if at >= 0 else 0
        if len(buffer) < end + 4 + length:
            return
        del buffer[: end + 4 + length]
        status = int(head[9:12])
        self.on_response(self, status, time.perf_counter())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_lost is not None:
            self.on_lost(self)


@dataclass
class Run:
    """Bookkeeping of one phase; every method is a loop callback, nothing blocks."""

    host: str
    port: int
    requests: list[bytes]
    started: list[float]
    open_loop: bool
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    next_index: int = 0
    answered: int = 0
    acknowledged: int = 0
    queued: int = 0
    waiting: deque[int] = field(default_factory=deque)
    idle: list[Connection] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    first_send: float = 0.0
    last_answer: float = 0.0
    done: asyncio.Future[None] | None = None

    def record(self, index: int, status: int | str, at: float) -> None:
        self.answered += 1
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if status == 200:
            self.acknowledged += 1
            self.latencies.append(at - self.started[index])
        self.last_answer = at
        if self.answered == len(self.requests) and self.done and not self.done.done():
            self.done.set_result(None)

    def on_response(self, conn: Connection, status: int, at: float) -> None:
        self.record(conn.index, status, at)
        self.feed(conn)

    def on_lost(self, conn: Connection) -> None:
        if conn.index >= 0:
            self.record(conn.index, "connection lost", time.perf_counter())
            conn.index = -1
        asyncio.get_running_loop().create_task(self.replace())

    async def replace(self) -> None:
        """A new connection for a lost one; when the server is gone, fail what is left."""
        try:
            (conn,) = await connect(self.host, self.port, 1, self)
        except OSError:
            now = time.perf_counter()
            while self.waiting:
                self.record(self.waiting.popleft(), "connection refused", now)
            if not self.open_loop:
                while self.next_index < len(self.requests):
                    self.record(self.next_index, "connection refused", now)
                    self.next_index += 1
            return
        self.feed(conn)

    def feed(self, conn: Connection) -> None:
        """Give ``conn`` its next request, or park it."""
        conn.index = -1
        if self.open_loop:
            if self.waiting:
                index = self.waiting.popleft()
            else:
                self.idle.append(conn)
                return
        else:
            if self.next_index >= len(self.requests):
                return
            index = self.next_index
            self.next_index += 1
            self.started[index] = time.perf_counter()
        conn.send(index, self.requests[index])

    def due(self, index: int) -> None:
        """Open loop: request ``index`` is due now, whatever the server is doing."""
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                conn.send(index, self.requests[index])
                return
        self.queued += 1
        self.waiting.append(index)


async def connect(host: str, port: int, count: int, run: Run) -> list[Connection]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(count):
        _, conn = await loop.create_connection(lambda: Connection(run.on_response), host, port)
        conn.on_lost = run.on_lost
        conns.append(conn)
    run.connections.extend(conns)
    return conns


async def run_phase(job: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    host, port = target["host"], target["port"]
    secret = target["secret"].encode()
    rate = job.get("rate")
    count = int(job["messages"]) if not rate else int(rate * job["duration"])
    bodies = build_bodies(count, job["prefix"], job["seed"], target["phone_number_id"])
    requests = [signed_request(b, secret, f"{host}:{port}") for b in bodies]
    run = Run(host, port, requests, [0.0] * count, open_loop=bool(rate))
    loop = asyncio.get_running_loop()
    run.done = loop.create_future()
    conns = await connect(host, port, job["connections"], run)
    reporter = asyncio.create_task(report_progress(run))
    cpu_before = _cpu()
    wall_before = time.perf_counter()
    lag = 0.0
    if rate:
        run.idle = list(conns)
        start = time.perf_counter() + 0.01
        run.first_send = start
        interval = 1.0 / rate
        for i in range(count):
            run.started[i] = start + i * interval
        i = 0
        while i < count:
            now = time.perf_counter()
            if run.started[i] <= now:
                # How late the generator is in sending: it must stay far below the latencies.
                lag = max(lag, now - run.started[i])
            while i < count and run.started[i] <= now:
                run.due(i)
                i += 1
            if i < count:
                await asyncio.sleep(max(0.0, run.started[i] - time.perf_counter()))
    else:
        run.first_send = time.perf_counter()
        for conn in conns:
            run.feed(conn)
    timeout = (job["duration"] if rate else job.get("timeout", 600.0)) + GRACE
    try:
        await asyncio.wait_for(asyncio.shield(run.done), timeout)
    except TimeoutError:
        for _ in range(count - run.answered):
            run.record(0, "timeout", time.perf_counter())
    wall = time.perf_counter() - wall_before
    cpu = _cpu() - cpu_before
    reporter.cancel()
    for conn in run.connections:
        conn.on_lost = None
        if conn.transport is not None:
            conn.transport.close()
    elapsed = (run.last_answer - run.first_send) or 1e-9
    return {
        "phase": job["phase"],
        "sent": count,
        "acknowledged": run.acknowledged,
        "statuses": run.statuses,
        "elapsed": elapsed,
        "throughput": run.acknowledged / elapsed,
        "latencies": run.latencies,
        "queued_in_client": run.queued,
        "max_send_lag": lag,
        "loadgen_cpu": cpu / wall if wall else 0.0,
        "wall": wall,
    }


async def report_progress(run: Run) -> None:
    while True:
        emit({"progress": run.answered, "total": len(run.requests)})
        await asyncio.sleep(PROGRESS_EVERY)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main() -> None:
    reader = sys.stdin
    target = json.loads(reader.readline())
    emit({"ready": True})
    for line in reader:
        job = json.loads(line)
        emit({"result": await run_phase(job, target)})


if __name__ == "__main__":
    uvloop.run(main())
