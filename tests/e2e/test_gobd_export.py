"""``chatproof export gobd`` on SQLite and PostgreSQL: index.xml is valid against the official
DTD, every CSV file reads back exactly as index.xml describes it and holds what the archive
holds (decrypted), only tax-relevant classes are exported, media files are included, the
shipped checker recomputes the signed root without chatproof and notices a changed row, and
the export is logged once as a read with its counts."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.gobd.validate import checking_dtd
from chatproof.services.ingest import Received, ingest
from chatproof.store import tables as t
from tests.support.samples import sample_body

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "chat_export"
CHAT = "WhatsApp Chat mit +49 151 23456789"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PHOTO = b"\xff\xd8 photo"
OFFICIAL_DTD_SHA256 = "40e733e866f375c07efba3fafdc0765512562b1db6f86d85309527a3f77a6dc5"


@pytest.fixture
def archive(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, dict[str, str], Components]]:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    env = {"CHATPROOF_DATABASE_URL": database_url}
    chat = tmp_path / f"{CHAT}.zip"
    with zipfile.ZipFile(chat, "w") as archive:
        archive.writestr(f"{CHAT}.txt", (SAMPLES / "android-de-24h.txt").read_bytes())
        archive.writestr("IMG-20240313-WA0001.jpg", PHOTO)
    components = build(load_settings(data_dir, env))
    bodies = [
        sample_body(n) for n in ("message/text", "message_status/sent", "message_status/delivered")
    ]
    ingest([Received(b, parse_webhook(b)) for b in bodies], components.writer, NOW)
    for args in (
        ["import", "whatsapp-export", str(chat), "--business-name", "Fahrradladen Weber"],
        [
            "consent",
            "record",
            "4915112345678",
            "--text",
            "Ja, bitte\nper WhatsApp",
            "--proof",
            "form 7",
        ],
        ["reclassify", "message", "2", "--to", "no_duty", "--reason", "small talk"],
    ):
        result = run(data_dir, env, *args)
        assert result.exit_code == 0, result.output
    yield data_dir, env, components
    components.close()


def run(data_dir: Path, env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)


def read_table(folder: Path, table: Any) -> list[dict[str, Any]]:
    """A table read only as its index.xml entry says: code page, delimiters, header lines,
    column names and types."""
    assert table.find("UTF8") is not None
    layout = table.find("VariableLength")
    delimiter = layout.findtext("ColumnDelimiter")
    record_end = layout.findtext("RecordDelimiter")
    quote = layout.findtext("TextEncapsulator")
    decimal = table.findtext("DecimalSymbol")
    skip = int(table.findtext("Range/From")) - 1
    columns = layout.findall("VariablePrimaryKey") + layout.findall("VariableColumn")
    raw = (folder / table.findtext("URL")).read_bytes().decode("utf-8")
    assert raw.endswith(record_end)
    records = raw[: -len(record_end)].split(record_end)
    rows = []
    for line in records[skip:]:
        (fields,) = csv.reader(io.StringIO(line, newline=""), delimiter=delimiter, quotechar=quote)
        assert len(fields) == len(columns), line
        row = {}
        for column, value in zip(columns, fields, strict=True):
            name = column.findtext("Name")
            if column.find("Numeric") is not None and value:
                accuracy = int(column.findtext("Numeric/Accuracy") or 0)
                whole, _, decimals = value.partition(decimal)
                assert len(decimals) <= accuracy
                row[name] = int(whole) if not accuracy else float(f"{whole}.{decimals or 0}")
            elif column.find("Date") is not None and value:
                assert column.findtext("Date/Format") == "DD.MM.YYYY"
                day, month, year = value.split(".")
                row[name] = date(int(year), int(month), int(day))
            else:
                row[name] = value
        rows.append(row)
    return rows


def export(
    data_dir: Path, env: dict[str, str], out: Path
) -> tuple[dict[str, Any], dict[str, list]]:
    result = run(
        data_dir,
        env,
        "export",
        "gobd",
        "--from",
        "2020-01-01",
        "--to",
        "2026-12-31",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    index = etree.parse(str(out / "index.xml"), etree.XMLParser(no_network=True))
    assert checking_dtd().validate(index), checking_dtd().error_log
    assert index.docinfo.system_url == "gdpdu-01-09-2004.dtd"
    tables = {
        table.findtext("Name"): read_table(out, table) for table in index.getroot().iter("Table")
    }
    return summary, tables


def test_the_export_validates_reads_back_and_holds_the_archive(archive, tmp_path: Path) -> None:
    data_dir, env, components = archive
    out = tmp_path / "gobd"
    summary, tables = export(data_dir, env, out)

    shipped = (out / "gdpdu-01-09-2004.dtd").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == OFFICIAL_DTD_SHA256, "the DTD is unchanged"

    messages = {m["message_id"]: m for m in tables["messages"]}
    assert 2 not in messages, "the message reclassified as no_duty is not tax-relevant"
    assert summary["not_tax_relevant"] == 1
    assert len(messages) == summary["messages"] == 10
    webhook = messages[1]
    assert (webhook["text"], webhook["direction"], webhook["origin"]) == (
        "Body Text",
        "inbound",
        "webhook",
    )
    assert webhook["date"] == date(2023, 10, 11) and webhook["time"] == "18:53:43"
    assert webhook["retention_class"] == "business_letter"
    imported = [m for m in messages.values() if m["origin"] == "import"]
    assert "Guten Tag, mein Rad quietscht." in [m["text"] for m in imported]

    with components.reader() as uow:
        conn = uow._conn
        stored = dict(conn.execute(select(t.messages.c.id, t.messages.c.log_index)).all())
        leaves = {
            i: bytes(h).hex()
            for i, h in conn.execute(select(t.log_entries.c.idx, t.log_entries.c.leaf_hash))
        }
    for message_id, row in messages.items():
        assert row["log_index"] == stored[message_id]
        assert row["leaf_hash"] == leaves[row["log_index"]]

    (contact_1,) = [c for c in tables["contacts"] if c["contact_id"] == webhook["contact_id"]]
    assert (contact_1["phone"], contact_1["name"]) == ("972987654321", "Test Name")

    statuses = tables["statuses"]
    assert [(s["message_id"], s["status"]) for s in statuses] == [(1, "sent"), (1, "delivered")]
    assert all(s["leaf_hash"] == leaves[s["log_index"]] for s in statuses)

    (consent,) = tables["consent_events"]
    assert (consent["action"], consent["proof"]) == ("granted", "form 7")
    assert consent["text"] == "Ja, bitte\\nper WhatsApp"
    assert consent["leaf_hash"] == leaves[consent["log_index"]]
    assert consent["contact_id"] in {c["contact_id"] for c in tables["contacts"]}

    (photo,) = [m for m in tables["media"] if m["file"]]
    assert (out / photo["file"]).read_bytes() == PHOTO
    assert photo["sha256"] == hashlib.sha256(PHOTO).hexdigest() and photo["size_bytes"] == len(
        PHOTO
    )
    assert photo["message_id"] in messages

    entries = tables["log_entries"]
    assert [e["log_index"] for e in entries] == list(
        range(summary["first_entry"], summary["end_entry"])
    )

    assert list((out / ".").glob("verfahrensdokumentation_*.md"))
    readme = (out / "README.md").read_text()
    assert "Exported here: booking_voucher, books_and_records, business_letter." in readme
    with zipfile.ZipFile(tmp_path / "gobd.zip") as packed:
        assert "gobd/index.xml" in packed.namelist()
        assert packed.read("gobd/messages.csv") == (out / "messages.csv").read_bytes()


def test_the_shipped_checker_recomputes_the_root_and_notices_a_change(
    archive, tmp_path: Path
) -> None:
    data_dir, env, _ = archive
    out = tmp_path / "gobd"
    export(data_dir, env, out)
    checked = subprocess.run(
        [sys.executable, "-I", str(out / "check_export.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "give the root of the signed tree" in checked.stdout
    assert "signature verified" in checked.stdout

    lines = (out / "log_entries.csv").read_bytes().decode().split("\r\n")
    index, kind, _ = lines[2].split(";")
    lines[2] = f"{index};{kind};{'0' * 64}"
    (out / "log_entries.csv").write_bytes("\r\n".join(lines).encode())
    manifest = (out / "MANIFEST.sha256").read_text().splitlines()
    digest = hashlib.sha256((out / "log_entries.csv").read_bytes()).hexdigest()
    fixed = [
        f"{digest}  log_entries.csv" if m.endswith("  log_entries.csv") else m for m in manifest
    ]
    (out / "MANIFEST.sha256").write_text("\n".join(fixed) + "\n")
    forged = subprocess.run(
        [sys.executable, "-I", str(out / "check_export.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert forged.returncode == 1
    assert "differs from the signed head" in forged.stderr


def test_the_export_is_one_logged_read_and_keeps_the_procedure(archive, tmp_path: Path) -> None:
    data_dir, env, components = archive
    summary, _ = export(data_dir, env, tmp_path / "gobd")
    with components.reader() as uow:
        conn = uow._conn
        reads = conn.execute(
            select(t.access_log.c.action, t.access_log.c.target).where(
                t.access_log.c.action == "export.gobd"
            )
        ).all()
        leaves = [
            json.loads(bytes(leaf))
            for (leaf,) in conn.execute(
                select(t.log_entries.c.leaf).where(t.log_entries.c.kind == "access.read")
            )
        ]
        versions = conn.execute(select(t.procedure_versions.c.sha256)).all()
    assert reads == [("export.gobd", "2020-01-01..2026-12-31")]
    (entry,) = [e for e in leaves if e["attributes"]["action"] == "export.gobd"]
    assert entry["attributes"]["messages"] == summary["messages"] == 10
    assert entry["attributes"]["statuses"] == 2
    assert len(versions) == 1


def test_bad_input_is_one_line_and_writes_nothing(archive, tmp_path: Path) -> None:
    data_dir, env, _ = archive
    reversed_dates = run(
        data_dir,
        env,
        "export",
        "gobd",
        "--from",
        "2026-12-01",
        "--to",
        "2026-01-01",
        str(tmp_path / "x"),
    )
    assert reversed_dates.exit_code == 1
    assert "Error: --to: 2026-01-01 is before --from 2026-12-01" in reversed_dates.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    occupied = run(
        data_dir,
        env,
        "export",
        "gobd",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-02",
        str(tmp_path / "full"),
    )
    assert occupied.exit_code == 1 and "exists and is not an empty folder" in occupied.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.zip").exists()
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_erased_content_leaves_its_row_with_the_date_and_the_export_still_checks_out(
    archive, tmp_path: Path
) -> None:
    data_dir, env, _ = archive
    shredded = run(data_dir, env, "shred", "1", "--reason", "retention ended", "--yes")
    assert shredded.exit_code == 0, shredded.output
    out = tmp_path / "gobd"
    summary, tables = export(data_dir, env, out)
    (row,) = [m for m in tables["messages"] if m["message_id"] == 1]
    assert row["text"] == "" and row["erased_on"] and row["leaf_hash"]
    assert summary["erased"] == 1
    (contact,) = [c for c in tables["contacts"] if c["contact_id"] == row["contact_id"]]
    assert contact["phone"] == "" and contact["name"] == ""
    checked = subprocess.run(
        [sys.executable, "-I", str(out / "check_export.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_two_processes_write_exactly_what_one_writes(archive, tmp_path: Path) -> None:
    from chatproof.archive.keyfiles import load_signing_key
    from chatproof.bootstrap import system_facts
    from chatproof.services.gobd.export import (
        ExportContext,
        ExportRequest,
        WorkerSetup,
        export_gobd,
    )
    from chatproof.store.keys import SqlAlchemyKeyRepository

    _, _, components = archive

    def run_export(out: Path, split_above: int | None) -> dict[str, Any]:
        url = components.engine.url.render_as_string(hide_password=False)
        ctx = ExportContext(
            engine=components.engine,
            keystore=lambda c: components.sealing.keystore(SqlAlchemyKeyRepository(c)),
            uow_factory=components.writer,
            blobs=components.blobs,
            signing_key=load_signing_key(components.settings.signing_key_path),
            facts=system_facts(components),
            tz=components.timezone,
            actor="test",
            worker=None
            if split_above is None
            else WorkerSetup(url, components.sealing, split_above),
        )
        request = ExportRequest(date(2020, 1, 1), date(2026, 12, 31), out, make_zip=False)
        return asdict(export_gobd(ctx, request, NOW))

    one = run_export(tmp_path / "one", None)
    two = run_export(tmp_path / "two", 3)
    for name in ("messages.csv", "media.csv", "contacts.csv", "statuses.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert not list((tmp_path / "two").glob("*.part"))
    keys = ("messages", "not_tax_relevant", "media_files", "first_entry", "end_entry")
    assert {k: one[k] for k in keys} == {k: two[k] for k in keys}
    assert sorted(p.name for p in (tmp_path / "two" / "media").iterdir()) == sorted(
        p.name for p in (tmp_path / "one" / "media").iterdir()
    )


def test_a_period_without_messages_is_a_valid_empty_export(archive, tmp_path: Path) -> None:
    data_dir, env, _ = archive
    out = tmp_path / "empty"
    result = run(data_dir, env, "export", "gobd", "--from", "2019-01-01", "--to", "2019-01-31",
                 str(out), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    index = etree.parse(str(out / "index.xml"), etree.XMLParser(no_network=True))
    assert checking_dtd().validate(index)
    assert all(not read_table(out, table) for table in index.getroot().iter("Table"))
    checked = subprocess.run(
        [sys.executable, "-I", str(out / "check_export.py"), str(out)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "no rows" in checked.stdout
