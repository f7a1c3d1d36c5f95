"""GoBD export benchmark: ``chatproof export gobd`` of ``--messages`` messages (default
1,000,000) from SQLite on disk, as the auditor's command runs it.

1. generate: ``--contacts`` customers, each with one conversation; ``--messages`` inbound text
   messages spread over 2025, sealed exactly as ingest seals them (one data key per message
   under the customer's 2025 business-letter bucket; number, text and raw payload), each with
   its own archive log entry, written with bulk inserts in transactions of ``--batch``.
2. export: the real ``chatproof export gobd`` as its own process (``--no-zip``) over the whole
   year, and once over one month, to compare peak memory (the export streams, so its peak must
   not grow with the rows). Reports rows/s, wall and CPU time, peak RSS of each.
3. check: the shipped ``check_export.py`` on the full export (standard library only), so the
   figures are of an export that verifies.

The access-report half of the issue's benchmark (Art. 15 report of a contact with 10,000
messages) belongs to the data-subject-request step and is not measured here.

Example: .venv/bin/python bench/export.py --messages 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from chatproof.archive.log import append
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.store.webhooks import MESSAGE_COLUMNS

try:
    from bench.ingest import calibrate, filesystem, machine, run_and_report, system_cpu
except ModuleNotFoundError:
    from ingest import calibrate, filesystem, machine, run_and_report, system_cpu  # type: ignore[no-redef]

DEFAULT_MESSAGES = 1_000_000
TARGET_ROWS_PER_S = 50_000
YEAR = 2025
WORDS = [
    "Hallo",
    "Guten",
    "Tag",
    "Bestellung",
    "Rechnung",
    "Lieferung",
    "morgen",
    "bitte",
    "danke",
    "Termin",
    "Rad",
    "Reparatur",
    "Angebot",
    "Preis",
    "Kette",
    "Bremse",
    "Sattel",
    "Zahlung",
    "überwiesen",
    "Grüße",
    "Frage",
    "Antwort",
]
SRC = Path(__file__).resolve().parents[1] / "src"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data and the exports")
    parser.add_argument(
        "--reuse", type=Path, default=None, help="export again from a folder left by --keep"
    )
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def generate(data_dir: Path, messages: int, contacts: int, batch: int, progress: Any) -> float:
    """Fill the archive; returns seconds taken."""
    started = time.perf_counter()
    components = build(load_settings(data_dir, {}))
    rng = random.Random(7)
    pseudonyms: Pseudonymizer = components.pseudonyms
    at0 = datetime(YEAR, 1, 1, 8, tzinfo=UTC)
    step = timedelta(days=364) / messages
    people = []
    with components.writer() as uow:
        now = datetime.now(UTC)
        conn = uow._conn  # type: ignore[attr-defined]
        uow.personal.prepare([(str(uuid.UUID(int=rng.getrandbits(128))), at0)])
        for i in range(contacts):
            subject = str(uuid.UUID(int=rng.getrandbits(128)))
            wa_id = f"49151{i:08d}"
            uow.personal.prepare([(subject, at0)])
            number, name = uow.personal.seal_fields(subject, [wa_id, f"Kunde {i}"], at0)
            contact_id = conn.exec_driver_sql(
                "INSERT INTO contacts (subject_id, wa_id_hash, wa_id, name, first_seen_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (subject, pseudonyms.hash("wa_id", wa_id), number, name, _sql(at0), _sql(now)),
            ).scalar_one()
            conversation_id = conn.exec_driver_sql(
                "INSERT INTO conversations (contact_id, business_number_id, status, created_at,"
                " last_message_at, message_count, unread_count)"
                " VALUES (?, '106540352242922', 'open', ?, ?, 0, 0) RETURNING id",
                (contact_id, _sql(at0), _sql(at0)),
            ).scalar_one()
            people.append((subject, wa_id, conversation_id))
        uow.commit()
    placeholders = ", ".join("?" * (len(MESSAGE_COLUMNS) + 1))
    insert = (
        f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}, log_index) VALUES ({placeholders})"
    )
    task = progress.add_task("generate", total=messages) if progress else None
    done = 0
    while done < messages:
        count = min(batch, messages - done)
        with components.writer() as uow:
            now = datetime.now(UTC)
            conn = uow._conn  # type: ignore[attr-defined]
            personal = uow.personal
            chosen = [people[rng.randrange(contacts)] for _ in range(count)]
            personal.prepare([(p[0], at0) for p in chosen])
            rows, drafts = [], []
            for k, (subject, wa_id, conversation_id) in enumerate(chosen):
                at = at0 + step * (done + k)
                wamid = f"wamid.bench{done + k:012d}"
                text = " ".join(rng.choices(WORDS, k=rng.randint(3, 14)))
                raw = json.dumps(
                    {"from": wa_id, "id": wamid, "type": "text", "text": {"body": text}}
                ).encode()
                sealed_id, sealed_text, sealed_raw = personal.seal_fields(
                    subject, [wamid, text, raw], at
                )
                platform_hash = pseudonyms.hash("wamid", wamid)
                drafts.append(
                    personal.entry(
                        "message.inbound",
                        subject,
                        at,
                        platform_id_hash=platform_hash,
                        content=sealed_raw,
                        type="text",
                    )
                )
                rows.append(
                    [conversation_id, None, platform_hash, sealed_id, "inbound", "text",
                     _sql(at), _sql(at), sealed_text, sealed_raw, None, None, None, None,
                     None, None, None, None, None, None, None, None]
                )  # fmt: skip
            indexes = append(uow.log, drafts, now)
            for row, index in zip(rows, indexes, strict=True):
                row.append(index)
            assert len(rows[0]) == len(MESSAGE_COLUMNS) + 1
            conn.exec_driver_sql(insert, [tuple(r) for r in rows])
            uow.commit()
        done += count
        if progress:
            progress.update(task, completed=done)
    components.close()
    return time.perf_counter() - started


def _sql(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def run_export(data_dir: Path, out: Path, first: str, last: str) -> dict[str, Any]:
    """``chatproof export gobd`` as its own process; wall and CPU time and its peak RSS."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [sys.executable, "-m", "chatproof", "export", "gobd", "--from", first, "--to", last]
    command += [str(out), "--no-zip", "--json", "--data-dir", str(data_dir)]
    busy0, steal0 = system_cpu()
    calib = calibrate()
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"export failed: {stderr.decode()[-500:]}")
    busy1, steal1 = system_cpu()
    summary = json.loads(stdout)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "period": f"{first}..{last}",
        "messages": summary["messages"],
        "contacts": summary["contacts"],
        "wall_s": wall,
        "cpu_s": cpu,
        "rows_per_s": summary["messages"] / wall,
        "rows_per_cpu_s": summary["messages"] / cpu,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "other_cpu": max(0.0, (busy1 - busy0) - cpu) / wall,
        "steal": (steal1 - steal0) / wall,
        "calib_ms": calib,
        "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
    }


def run_check(out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    checked = subprocess.run(
        [sys.executable, "-I", str(out / "check_export.py"), str(out)],
        capture_output=True,
        text=True,
    )
    return {"ok": checked.returncode == 0, "seconds": time.perf_counter() - started,
            "output": (checked.stdout + checked.stderr).strip().splitlines()[-1:]}  # fmt: skip


def run_benchmark(args: argparse.Namespace, progress: Progress | None) -> dict[str, Any]:
    reuse = args.reuse
    parent = reuse or Path(tempfile.mkdtemp(prefix="chatproof-bench-export-", dir=args.tmp_dir))
    try:
        data_dir = parent / "data"
        if reuse is None:
            initialise(data_dir)
            seconds = generate(data_dir, args.messages, args.contacts, args.batch, progress)
            generated = {"messages": args.messages, "contacts": args.contacts,
                         "seconds": seconds, "messages_per_s": args.messages / seconds}  # fmt: skip
        else:
            generated = {"reused": str(reuse)}
            for old in ("month", "year"):
                shutil.rmtree(parent / old, ignore_errors=True)
        if progress:
            progress.add_task("export (whole year, one month)", total=None)
        month = run_export(data_dir, parent / "month", f"{YEAR}-03-01", f"{YEAR}-03-31")
        full = run_export(data_dir, parent / "year", f"{YEAR}-01-01", f"{YEAR}-12-31")
        check = run_check(parent / "year")
        return {
            "machine": machine(),
            "filesystem": filesystem(parent),
            "generate": generated,
            "export": full,
            "export_one_month": month,
            "memory_growth_mib": full["peak_rss_mib"] - month["peak_rss_mib"],
            "check": check,
            "targets": {"rows_per_s": {"target": TARGET_ROWS_PER_S,
                                       "met": full["rows_per_s"] >= TARGET_ROWS_PER_S}},
        }  # fmt: skip
    finally:
        if args.keep or reuse is not None:
            print(f"kept {parent}", file=sys.stderr)
        else:
            shutil.rmtree(parent, ignore_errors=True)


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(title="GoBD export (chatproof export gobd, SQLite)")
    for column in ("period", "messages", "rows/s", "rows/CPU-s", "wall", "CPU", "peak RSS",
                   "other CPU", "steal", "calib", "size"):  # fmt: skip
        table.add_column(column)
    for key in ("export", "export_one_month"):
        r = report[key]
        table.add_row(
            r["period"], f"{r['messages']:,}", f"{r['rows_per_s']:,.0f}",
            f"{r['rows_per_cpu_s']:,.0f}", f"{r['wall_s']:.1f} s", f"{r['cpu_s']:.1f} s",
            f"{r['peak_rss_mib']:.0f} MiB", f"{r['other_cpu']:.0%}", f"{r['steal']:.0%}",
            f"{r['calib_ms']:.0f} ms", f"{r['bytes'] / 2**20:,.0f} MiB",
        )  # fmt: skip
    console.print(table)
    g = report["generate"]
    if "reused" in g:
        console.print(f"exported from the archive kept in {g['reused']}")
    else:
        console.print(
            f"generated {g['messages']:,} sealed messages with log entries for "
            f"{g['contacts']:,} contacts in {g['seconds']:.0f} s ({g['messages_per_s']:,.0f}/s)"
        )
    console.print(
        f"peak memory grows by {report['memory_growth_mib']:.0f} MiB from one month to the year"
    )
    check = report["check"]
    console.print(
        f"check_export.py: {'OK' if check['ok'] else 'FAILED'} in {check['seconds']:.1f} s"
    )
    target = report["targets"]["rows_per_s"]
    console.print(f"target ≥ {target['target']:,} rows/s: {'met' if target['met'] else 'NOT met'}")
    console.print(f"machine: {report['machine']}, file system {report['filesystem']}")


def main(argv: list[str] | None = None) -> int:
    report = run_and_report(parse_args(argv), run_benchmark, render)
    if report is None:
        return 1
    return 0 if report["check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
