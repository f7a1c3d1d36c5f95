"""``chatproof export gobd``: the data handover to a tax auditor (Z3, § 147 (6) AO).

One read snapshot of the archive becomes a folder (and a zip of it) that the auditor's
analysis software reads through ``index.xml``: CSV tables of contacts, messages, statuses,
consent events and media, the media files, and for every row the leaf hash of its log entry.
Beside them lie the signed tree head, the leaf hashes of every entry in the export's index
range and the boundary subtree hashes, so the auditor recomputes the signed root without
trusting chatproof (``check_export.py``, DESIGN invariant 3).

Only tax-relevant retention classes are exported (GoBD data access covers tax-relevant data
only); what was left out is counted. Opening the sealed content is a read of archived content
by a person, recorded once per export with the range and the counts (invariant 2). Rows are
written as they are read, a page at a time, so memory does not grow with the archive; the
folder appears under its name only when complete (invariant 6).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from chatproof.archive.blobs import BlobStore
from chatproof.archive.keystore import KeyStore
from chatproof.archive.range_proof import range_proof
from chatproof.domain.gdpdu import (
    DIALECT,
    DTD_FILE,
    INDEX_FILE,
    Supplier,
    index_xml,
)
from chatproof.domain.processing import SystemFacts
from chatproof.services.access import record_read
from chatproof.services.archive import sign_head
from chatproof.services.errors import ServiceError
from chatproof.services.gobd import tables as spec
from chatproof.services.gobd.auditor_readme import auditor_readme
from chatproof.services.gobd.summary import ExportSummary
from chatproof.services.gobd.table_writer import TableWriter, WorkerSetup
from chatproof.services.gobd.validate import official_dtd, validate_index
from chatproof.services.procedure import record_procedure, versions_during
from chatproof.store import UnitOfWork
from chatproof.store.gobd import SqlExportSource
from chatproof.store.log import SqlAlchemyLogRepository

CHECK_SCRIPT = "check_export.py"

_PLAIN_KIND = re.compile(r"[A-Za-z0-9_.-]+")


class ExportRefused(ServiceError):
    """The request cannot be carried out; names the field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class ExportRequest:
    start: date
    end: date
    out: Path
    make_zip: bool = True


@dataclass(frozen=True)
class ExportContext:
    """What the export needs from the running system."""

    engine: Engine
    keystore: Callable[[Connection], KeyStore]
    uow_factory: Callable[[], UnitOfWork]
    blobs: BlobStore
    signing_key: Ed25519PrivateKey
    facts: SystemFacts
    tz: ZoneInfo
    actor: str
    worker: WorkerSetup | None = None
    """How a second process opens the archive; None keeps the export in one process."""


def export_gobd(
    ctx: ExportContext,
    request: ExportRequest,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the export of messages sent from ``request.start`` to ``request.end`` (whole days
    in the business's time zone, both included).

    Raises:
        ExportRefused: the dates are reversed, or ``out`` exists and is not an empty folder.
    """
    if request.end < request.start:
        raise ExportRefused("--to", f"{request.end} is before --from {request.start}")
    out = request.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportRefused("OUT", f"{out} exists and is not an empty folder")
    zip_path = out.with_name(out.name + ".zip") if request.make_zip else None
    if zip_path is not None and zip_path.exists():
        raise ExportRefused("OUT", f"{zip_path} exists already")
    start = datetime.combine(request.start, datetime.min.time(), ctx.tz).astimezone(UTC)
    end = datetime.combine(request.end + timedelta(days=1), datetime.min.time(), ctx.tz)
    end = end.astimezone(UTC)
    classes = set(ctx.facts.tax_relevant_classes())
    summary = ExportSummary(
        folder=str(out),
        zip=str(zip_path) if zip_path else None,
        start=request.start.isoformat(),
        end=request.end.isoformat(),
        tax_relevant_classes=sorted(classes),
    )
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "media").mkdir(parents=True)
    (partial / "proof").mkdir()
    try:
        record_procedure(ctx.engine, ctx.facts, ctx.actor, now, ctx.tz)
        writer = TableWriter(ctx.keystore, ctx.blobs, partial, classes, summary, ctx.tz, progress)
        writer.write_tables(ctx.engine, start, end, ctx.worker)
        _write_proof(ctx, partial, summary, now)
        versions = versions_during(ctx.engine, start, end, ctx.facts.language)
        summary.procedure_versions = len(versions)
        for version in versions:
            name = f"verfahrensdokumentation_{version.valid_from:%Y%m%dT%H%M%S}Z.md"
            (partial / name).write_text(version.text, encoding="utf-8")
        index = index_xml(
            Supplier(
                ctx.facts.organisation.name or "chatproof",
                ctx.facts.organisation.address or "-",
                f"chatproof {ctx.facts.software_version}: WhatsApp-Archiv {summary.start} bis "
                f"{summary.end}",
            ),
            "WhatsApp-Archiv",
            spec.ALL,
            valid_from=start.astimezone(ctx.tz),
            valid_to=end.astimezone(ctx.tz) - timedelta(days=1),
        )
        validate_index(index)
        (partial / INDEX_FILE).write_bytes(index)
        (partial / DTD_FILE).write_bytes(official_dtd())
        check = files("chatproof.archive").joinpath("export_check.py").read_bytes()
        (partial / CHECK_SCRIPT).write_bytes(check)
        (partial / "README.md").write_text(
            auditor_readme(ctx.facts, summary, versions), encoding="utf-8"
        )
        (partial / "summary.json").write_text(
            json.dumps(asdict(summary) | {"folder": out.name}, indent=2), encoding="utf-8"
        )
        manifest = _write_manifest(partial)
        if out.exists():
            out.rmdir()
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if zip_path is not None:
        _zip(out, zip_path)
    with ctx.uow_factory() as uow:
        record_read(
            uow,
            now,
            ctx.actor,
            "export.gobd",
            f"{summary.start}..{summary.end}",
            None,
            messages=summary.messages,
            contacts=summary.contacts,
            statuses=summary.statuses,
            consent_events=summary.consent_events,
            media=summary.media_files,
            manifest_sha256=manifest,
        )
        uow.commit()
    return summary


def _write_proof(ctx: ExportContext, folder: Path, summary: ExportSummary, now: datetime) -> None:
    """Sign a head that covers every exported entry (if the latest does not), then write the
    entries of the range and the boundary hashes against it."""
    with ctx.uow_factory() as uow:
        head = uow.log.latest_head()
    need = summary.end_entry or 0
    if head is None or head.head.tree_size < max(need, 1):
        head = sign_head(ctx.uow_factory, ctx.signing_key, now) or head
    assert head is not None
    size = head.head.tree_size
    first, end = summary.first_entry, summary.end_entry
    summary.tree_size = size
    handle = (folder / spec.LOG_ENTRIES.url).open("w", encoding="utf-8", newline="")
    writer = csv.writer(
        handle,
        delimiter=DIALECT.column_delimiter,
        quotechar=DIALECT.text_encapsulator,
        lineterminator=DIALECT.record_delimiter,
    )
    boundary: list[bytes] = []
    with handle, ctx.engine.connect() as conn, conn.begin():
        writer.writerow(spec.LOG_ENTRIES.header)
        if first is not None and end is not None:
            for page in SqlExportSource(conn).log_range(first, end):
                if all(_PLAIN_KIND.fullmatch(k) for k in {k for _, k, _ in page}):
                    # Kinds are code-defined words: no field needs quoting, so the lines are
                    # joined directly, several times faster than the csv module here.
                    handle.write("".join([f"{i};{k};{h.hex()}\r\n" for i, k, h in page]))
                else:
                    writer.writerows((i, k, h.hex()) for i, k, h in page)
            boundary = range_proof(first, end, size, SqlAlchemyLogRepository(conn).node)
    document = {
        "first": first,
        "end": end,
        "tree_size": size,
        "hashing": "RFC 9162 §2.1.1: leaf SHA-256(0x00||leaf), node SHA-256(0x01||left||right)",
        "boundary_hashes": [h.hex() for h in boundary],
        "signed_tree_head": head.to_json(),
    }
    (folder / "proof" / "range_proof.json").write_text(
        json.dumps(document, indent=2), encoding="utf-8"
    )


def _write_manifest(folder: Path) -> str:
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        lines.append(f"{digest.hexdigest()}  {path.relative_to(folder).as_posix()}\n")
    text = "".join(lines)
    (folder / "MANIFEST.sha256").write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def _zip(folder: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
