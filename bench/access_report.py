"""Access-report benchmark: ``chatproof dsr report`` (GDPR Art. 15/20) for a contact with
``--messages`` messages (default 10,000; target under 5 s) in SQLite on disk.

1. generate: the contact with one conversation of ``--messages`` text messages in both
   directions (every one sealed under its own data key, as ingest seals them, with its own log
   entry), three consent events, ``--decisions`` policy decisions and ``--reads`` recorded
   reads; and ``--others`` other customers with ``--per-other`` messages each, so the report
   has to pick the person's data out of an archive that holds more.
2. report: the real service behind the command (gathering, HTML, PDF, JSON, zip, the logged
   read), ``--rounds`` times; wall and CPU seconds, and the time of each part on its own.

The speed of a shared machine drifts: a fixed piece of Python work is timed before each round
(``calibration_ms``, lower is faster) and the machine's busy and stolen CPU time during the
run are reported.

Example: .venv/bin/python bench/access_report.py --messages 10000
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from chatproof.archive.log import append
from chatproof.bootstrap import Components, build, system_facts
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.access_report import redacted, to_document, to_json
from chatproof.domain.consent import MARKETING, ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.processing import to_html
from chatproof.services.access import record_read
from chatproof.services.consent import record_in
from chatproof.services.dsr_pdf import report_pdf
from chatproof.services.dsr_report import access_report, gather, with_processing
from chatproof.store import tables as t

try:
    from bench.ingest import calibrate, machine, system_cpu
except ModuleNotFoundError:
    from ingest import calibrate, machine, system_cpu  # type: ignore[no-redef]

TARGET_SECONDS = 5.0
START = datetime(2025, 3, 1, 8, tzinfo=UTC)
NUMBER = "4917612398765"
WORDS = ["Bestellung", "Lieferung", "Rechnung", "Termin", "Rückruf", "Paket", "Adresse", "Grüße"]
CHUNK = 2000


def _customer(components: Components, index: int, number: str, count: int) -> None:
    """One contact and conversation with ``count`` messages, each sealed and logged alone."""
    with components.writer() as uow:
        conn = uow.inbox.conn  # type: ignore[attr-defined]
        subject = str(uuid.uuid4())
        first = START + timedelta(minutes=index)
        sealed_wa, sealed_name = uow.personal.seal_fields(
            subject, [number, f"Kunde {index}"], first
        )
        contact_id = conn.execute(
            insert(t.contacts).values(
                subject_id=subject,
                wa_id_hash=uow.pseudonyms.hash("wa_id", number),  # type: ignore[attr-defined]
                wa_id=sealed_wa,
                name=sealed_name,
                first_seen_at=first,
                updated_at=first,
            )
        ).inserted_primary_key[0]
        conversation_id = conn.execute(
            insert(t.conversations).values(
                contact_id=contact_id,
                business_number_id="106540352242922",
                created_at=first,
                last_message_at=first + timedelta(minutes=count),
                message_count=count,
            )
        ).inserted_primary_key[0]
        rows, entries = [], []
        for k in range(count):
            at = first + timedelta(minutes=k)
            text = f"{WORDS[k % len(WORDS)]} Nachricht {k} von Kunde {index}"
            wamid = f"wamid.{index}.{k}"
            raw = json.dumps({"from": number, "id": wamid, "type": "text", "text": {"body": text}})
            sealed_id, sealed_text, sealed_raw = uow.personal.seal_fields(
                subject, [wamid, text, raw], at
            )
            digest = hashlib.sha256(wamid.encode()).hexdigest()
            outbound = k % 2 == 1
            rows.append(
                {
                    "conversation_id": conversation_id,
                    "platform_id_hash": digest,
                    "platform_id": sealed_id,
                    "direction": "outbound" if outbound else "inbound",
                    "type": "text",
                    "sent_at": at,
                    "received_at": at,
                    "text": sealed_text,
                    "raw": sealed_raw,
                    "state": "read" if outbound else None,
                    "state_at": at + timedelta(seconds=30) if outbound else None,
                }
            )
            kind = "message.outbound" if outbound else "message.inbound"
            entries.append(
                uow.personal.entry(kind, subject, at, platform_id_hash=digest, content=sealed_raw)
            )
        for start in range(0, count, CHUNK):
            conn.execute(insert(t.messages), rows[start : start + CHUNK])
            append(uow.log, entries[start : start + CHUNK], START)
        uow.commit()


def _history(components: Components, decisions: int, reads: int) -> None:
    """Consent events, gate decisions and recorded reads about the measured contact."""
    with components.writer() as uow:
        contact = uow.sending.contact_by_number(NUMBER)
        assert contact is not None
        for day, action in enumerate((ConsentAction.GRANTED, ConsentAction.WITHDRAWN)):
            at = START + timedelta(days=day * 30)
            event = ConsentEvent(
                purpose=MARKETING,
                action=action,
                source=ConsentSource.WEB_FORM if day == 0 else ConsentSource.KEYWORD,
                at=at,
                recorded_by="web form",
                text="Ja, ich möchte Angebote per WhatsApp erhalten." if day == 0 else "",
                text_version="2025-01" if day == 0 else "",
            )
            record_in(uow, contact, event, at)
        drafts = [
            uow.personal.entry(
                "policy.decision",
                contact.subject_id,
                START + timedelta(hours=i),
                allowed=i % 5 != 0,
                rule="window.open" if i % 5 else "window.closed",
                reason="Inside the 24-hour window." if i % 5 else "The 24-hour window is closed.",
                purpose="service",
                actor="user:lead",
            )
            for i in range(decisions)
        ]
        append(uow.log, drafts, START)
        for i in range(reads):
            at = START + timedelta(hours=i)
            record_read(
                uow, at, f"user:agent{i % 4}", "thread", "conversation:1", contact.subject_id
            )
        uow.commit()


def generate(components: Components, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    _customer(components, 0, NUMBER, args.messages)
    for i in range(1, args.others + 1):
        _customer(components, i, f"49151{i:08d}", args.per_other)
    _history(components, args.decisions, args.reads)
    return {
        "messages": args.messages,
        "others": args.others,
        "other_messages": args.others * args.per_other,
        "seconds": round(time.perf_counter() - began, 1),
    }


def _parts(components: Components) -> dict[str, float]:
    """Each part of a report on its own, to see where the time goes."""
    facts = system_facts(components, "de")
    now = datetime.now(UTC)
    times: dict[str, float] = {}
    began = time.perf_counter()
    with components.reader() as uow:
        contact = uow.sending.contact_by_number(NUMBER)
        assert contact is not None
        media: dict[str, bytes] = {}
        report = gather(
            uow, components.blobs, contact, components.retention_classes, components.timezone,
            now, media,
        )  # fmt: skip
    times["gather (read and open)"] = time.perf_counter() - began
    report = redacted(with_processing(report, facts, "de", now))
    document = to_document(report, "de")
    for name, work in (
        ("html", lambda: to_html(document)),
        ("pdf", lambda: report_pdf(document)),
        ("json", lambda: json.dumps(to_json(report), ensure_ascii=False, indent=1)),
    ):
        began = time.perf_counter()
        work()
        times[name] = time.perf_counter() - began
    return {k: round(v, 3) for k, v in times.items()}


def measure(components: Components, rounds: int) -> dict[str, Any]:
    facts = system_facts(components, "de")
    walls, cpus, calibration = [], [], []
    busy0, stolen0 = system_cpu()
    size = 0
    for _ in range(rounds):
        calibration.append(round(calibrate(), 1))
        began, cpu = time.perf_counter(), time.process_time()
        made = access_report(
            components.writer,
            components.blobs,
            NUMBER,
            facts,
            components.retention_classes,
            components.timezone,
            by="bench",
            now=datetime.now(UTC),
            language="de",
        )
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
        size = len(made.data)
        with zipfile.ZipFile(io.BytesIO(made.data)) as z:
            counted = len(json.loads(z.read("report.json"))["messages"])
        assert counted == made.messages, (counted, made.messages)
    busy1, stolen1 = system_cpu()
    return {
        "messages_in_report": made.messages,
        "zip_bytes": size,
        "wall_s": [round(w, 2) for w in walls],
        "median_s": round(statistics.median(walls), 2),
        "cpu_s": [round(c, 2) for c in cpus],
        "calibration_ms": calibration,
        "machine_busy_s": round(busy1 - busy0, 1),
        "machine_stolen_s": round(stolen1 - stolen0, 1),
        "target_s": TARGET_SECONDS,
        "met": statistics.median(walls) < TARGET_SECONDS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=200)
    parser.add_argument("--per-other", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="chatproof-dsr-", dir=args.tmp_dir))
    console = Console(stderr=True)
    try:
        initialise(root / "data")
        components = build(load_settings(root / "data", {}))
        try:
            console.print(f"generating {args.messages:,} messages of one contact …")
            data = generate(components, args)
            console.print("measuring …")
            figures = measure(components, args.rounds)
            parts = _parts(components)
        finally:
            components.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report = {"machine": machine(), "data": data, "report": figures, "parts_s": parts}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    table = Table("figure", "value")
    for key, value in {**data, **figures}.items():
        table.add_row(key, str(value))
    for key, value in parts.items():
        table.add_row(f"part: {key}", f"{value} s")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
