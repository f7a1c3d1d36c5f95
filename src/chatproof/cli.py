"""The ``chatproof`` command. Each command parses its options, calls one service and prints
the result; errors become one line ``Error: …`` and exit code 1 (STYLE 18, 19)."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from chatproof.commands.audit import audit_app
from chatproof.commands.common import (
    DataDir,
    JsonFlag,
    YesFlag,
    actor,
    components_for,
    confirmed,
    fails_cleanly,
    output,
    settings_for,
    stderr,
)
from chatproof.commands.dsr import dsr_app
from chatproof.commands.export import export_app
from chatproof.commands.imports import import_app
from chatproof.commands.keys import keys_app
from chatproof.commands.procedure import procedure_app
from chatproof.commands.reclassify import reclassify_app
from chatproof.commands.ropa import ropa
from chatproof.commands.sending import broadcast_app, consent_app, send, templates_app
from chatproof.commands.settings import settings_app
from chatproof.commands.users import users_app
from chatproof.commands.worker import worker
from chatproof.config import Settings, load_settings, resolve_data_dir
from chatproof.domain.errors import ChatproofError
from chatproof.domain.phone import mask_phone

app = typer.Typer(
    help="Lawful WhatsApp customer service with a tamper-evident archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
@fails_cleanly
def init(data_dir: DataDir = None) -> None:
    """Create a data directory with a commented chatproof.toml, secrets and keys.

    Example: chatproof init --data-dir /var/lib/chatproof
    """
    from chatproof.commands.users import first_admin
    from chatproof.datadir import initialise

    target = resolve_data_dir(data_dir, os.environ)
    config = initialise(target)
    with components_for(target) as components:
        password = first_admin(components)
    typer.echo(f"Created {config}")
    typer.echo(f"Keys in {target / 'keys'} (owner-only). Database migrated.")
    typer.echo(f"Sign in as admin with the one-time password {password}")
    typer.echo("Next: set whatsapp.* in the file, then `chatproof serve`.")


@app.command()
@fails_cleanly
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Run the webhook receiver and the API.

    Example: chatproof serve --data-dir ./chatproof-data --host 127.0.0.1 --port 8025
    """
    import uvicorn

    from chatproof.bootstrap import build
    from chatproof.web.app import create_app

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_for(data_dir)
    components = build(settings)
    application = create_app(components, background=settings.server.background)
    # Everything loaded so far lives as long as the process: frozen, full collections skip it,
    # and stop pausing every request in flight for ~80 ms (docs/performance.md).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        application,
        host=host or settings.server.host,
        port=port or settings.server.port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
    )


@app.command()
@fails_cleanly
def emulator(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to deliver webhooks (default: the local server).")
    ] = None,
) -> None:
    """Run the local WhatsApp Cloud API emulator with this data directory's secrets.

    Example: chatproof emulator --data-dir ./chatproof-data --port 8026
    """
    import uvicorn

    from chatproof.emulator import create_app

    settings = settings_for(data_dir)
    port = port or settings.emulator.port
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn_app = create_app(_emulatorsettings_for(settings, host, port, webhook_url))
    uvicorn.run(uvicorn_app, host=host, port=port, log_level="warning")


def _emulatorsettings_for(settings: Settings, host: str, port: int, webhook_url: str | None) -> Any:
    """The emulator speaking with this data directory's secrets, so that chatproof's client
    and webhook check accept it."""
    from chatproof.emulator import EmulatorSettings

    w = settings.whatsapp
    target = (
        webhook_url
        or settings.emulator.webhook_url
        or (f"http://{settings.server.host}:{settings.server.port}/webhooks/whatsapp")
    )
    optional: dict[str, Any] = {}
    if w.phone_number_id:
        optional["phone_number_id"] = w.phone_number_id
    if w.secret_header_name:
        optional["webhook_secret_header"] = (w.secret_header_name, w.secret_header_value)
    return EmulatorSettings(
        app_secret=w.app_secret,
        access_token=w.access_token or w.api_key,
        d360_api_key=w.api_key or None,
        webhook_url=target,
        public_base_url=f"http://{host}:{port}",
        **optional,
    )


@app.command()
@fails_cleanly
def conversations(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
    status: Annotated[str | None, typer.Option(help="open or closed")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List conversations, most recent first. The read is logged.

    Example: chatproof conversations --limit 5
    """
    from chatproof.services.conversations import list_conversations

    with components_for(data_dir) as components:
        page = list_conversations(
            components.writer, actor(), datetime.now(UTC), limit=limit, status=status
        )
    rows = [
        {
            "id": c.id,
            "name": c.name,
            "phone": mask_phone(c.wa_id),
            "status": c.status,
            "messages": c.message_count,
            "unread": c.unread_count,
            "last_message_at": c.last_message_at.isoformat(timespec="seconds"),
        }
        for c in page.items
    ]
    output(rows, as_json)


@app.command()
@fails_cleanly
def messages(
    conversation_id: Annotated[int, typer.Argument(help="Conversation id (see `conversations`).")],
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show a conversation's messages, oldest first. The read is logged.

    Example: chatproof messages 1
    """
    from chatproof.services.conversations import read_messages

    with components_for(data_dir) as components:
        _, page = read_messages(
            components.writer, actor(), datetime.now(UTC), conversation_id, limit=limit
        )
    rows = [
        {
            "id": m.id,
            "at": m.sent_at.isoformat(timespec="seconds"),
            "direction": m.direction,
            "type": m.type,
            "text": m.text,
            "state": m.state or (m.media.state if m.media else ""),
        }
        for m in reversed(page.items)
    ]
    output(rows, as_json)


@app.command()
@fails_cleanly
def demo(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="chatproof's port.")] = None,
    emulator_port: Annotated[int | None, typer.Option(help="The emulator's port.")] = None,
    pace: Annotated[float, typer.Option(help="Seconds between customer messages.")] = 1.5,
    live: Annotated[
        float, typer.Option(help="Seconds between live customer messages afterwards (0: none).")
    ] = 20.0,
) -> None:
    """Start chatproof on SQLite with the emulator and simulated customers; Ctrl-C stops all.

    Example: chatproof demo --data-dir ./chatproof-data
    """
    from chatproof.commands.demo_customers import a_customer_writes
    from chatproof.commands.users import demo_logins
    from chatproof.config import CONFIG_FILE
    from chatproof.datadir import initialise

    target = resolve_data_dir(data_dir, os.environ)
    if not (target / CONFIG_FILE).exists():
        initialise(target)
        typer.echo(f"Created a fresh data directory in {target}")
    settings = load_settings(target, os.environ)
    with components_for(target) as components:
        logins = demo_logins(components)
    port = port or settings.server.port
    emulator_port = emulator_port or settings.emulator.port
    base = f"http://127.0.0.1:{port}"
    emulator_base = f"http://127.0.0.1:{emulator_port}"
    env = {
        **os.environ,
        "CHATPROOF_SERVER_PORT": str(port),
        "CHATPROOF_WHATSAPP_BASE_URL": emulator_base,
        "CHATPROOF_EMULATOR_WEBHOOK_URL": f"{base}/webhooks/whatsapp",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for args, ready in (
            (
                ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                f"{base}/healthz",
            ),
            (["emulator", "--port", str(emulator_port)], f"{emulator_base}/_emulator/clock"),
        ):
            processes.append(_spawn(args, target, env))
            _wait_until_ready(processes[-1], ready)
        typer.echo(f"chatproof   {base}  (API token: {settings.server.api_token})")
        typer.echo(f"inbox       open {base}/ and sign in as")
        for username, role, password in logins:
            typer.echo(f"              {username:<6} {password}  ({role})")
        typer.echo(f"emulator    {emulator_base}/_emulator/sent  (what the business sent)")
        typer.echo("Simulated customers are writing now …")
        _play_demo_customers(emulator_base, pace)
        typer.echo("")
        typer.echo("Try:")
        typer.echo(f"  .venv/bin/chatproof conversations --data-dir {target}")
        token = settings.server.api_token
        typer.echo(f'  curl -H "Authorization: Bearer {token}" {base}/api/conversations')
        typer.echo("Press Ctrl-C to stop.")
        turn, next_live = 0, time.monotonic() + live
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
            if live > 0 and time.monotonic() >= next_live:
                a_customer_writes(emulator_base, turn)
                turn, next_live = turn + 1, time.monotonic() + live
        raise ChatproofError("a demo process stopped unexpectedly")
    except KeyboardInterrupt:
        typer.echo("Stopping …")
    finally:
        for process in processes:
            _stop(process)


def _spawn(args: list[str], data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatproof", *args, "--data-dir", str(data_dir)],
        env=env,
        start_new_session=True,
    )


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChatproofError(f"{process.args[3]} exited with code {process.returncode}")  # type: ignore[index]
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ChatproofError(f"{url} did not answer within {timeout:.0f} s (port in use?)")


def _play_demo_customers(emulator_base: str, pace: float) -> None:
    import asyncio

    from chatproof.emulator import run_demo_customers

    report = asyncio.run(run_demo_customers(f"{emulator_base}/_emulator", pace=pace))
    typer.echo(f"{len(report.message_ids)} customer messages sent through the emulator.")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@app.command()
@fails_cleanly
def proof(
    entry: Annotated[str, typer.Argument(help="Entry number, or a message's wamid.")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Prove that an entry is in the log, against a signed tree head.

    Example: chatproof proof 17 --json > entry-17.json
    """
    from chatproof.archive.keyfiles import load_signing_key
    from chatproof.services.archive import inclusion_document, resolve_entry

    with components_for(data_dir) as components:
        key = load_signing_key(components.settings.signing_key_path)
        index = resolve_entry(components.reader, entry, components.pseudonyms)
        document = inclusion_document(components.writer, index, key, datetime.now(UTC))
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(
            f"entry {index} is in the log of {document['tree_size']} entries with root "
            f"{document['root_hash']} ({len(document['audit_path'])} proof hashes); "
            "use --json for the checkable proof"
        )


@app.command()
@fails_cleanly
def consistency(
    old_size: Annotated[int, typer.Argument(min=0, help="Size of the older signed head.")],
    new_size: Annotated[int, typer.Argument(min=0, help="Size of the newer signed head.")],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Prove that the log of NEW_SIZE entries extends the one of OLD_SIZE (RFC 9162 §2.1.4).

    Example: chatproof consistency 1000 2000 --json > heads.json
    """
    from chatproof.services.archive import consistency_document

    with components_for(data_dir) as components:
        document = consistency_document(components.reader, old_size, new_size)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(
            f"the log of {new_size} entries extends the one of {old_size} "
            f"({len(document['proof'])} proof hashes); use --json for the checkable proof"
        )


@app.command("verify-proof")
@fails_cleanly
def verify_proof(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A proof document.")],
    public_key: Annotated[
        str | None, typer.Option(help="Pin the expected signing key (base64, raw 32 bytes).")
    ] = None,
) -> None:
    """Check a proof from `proof --json` or `consistency --json` offline.

    Example: chatproof verify-proof entry-17.json
    """
    import base64

    from chatproof.archive.proofcheck import ProofCheckError, check_file

    try:
        pinned = base64.b64decode(public_key, validate=True) if public_key else None
        typer.echo(check_file(file, pinned))
    except (ProofCheckError, ValueError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
@fails_cleanly
def verify(
    data_dir: DataDir = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep", help="Also check every stored message, media file and key against the log."
        ),
    ] = False,
) -> None:
    """Rebuild the tree from every stored leaf; check every signed head and every head a
    witness holds.

    Example: chatproof verify --deep
    """
    import asyncio

    from rich.progress import Progress

    from chatproof.archive.keyfiles import load_signing_key
    from chatproof.archive.witness import NO_WITNESS_WARNING
    from chatproof.services.archive import verify as verify_archive
    from chatproof.services.archive import witnessed_roots

    with components_for(data_dir) as components, Progress(transient=True, console=stderr()) as bar:
        key = load_signing_key(components.settings.signing_key_path)
        witnesses = components.witnesses()
        held = asyncio.run(witnessed_roots(components.reader, witnesses))
        task = bar.add_task("verifying", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = verify_archive(components.reader, key, witnessed=held, progress=progress)
    typer.echo(
        f"OK: {report.entries} entries, {report.heads} signed tree heads, "
        f"{report.witnessed} witnessed heads verified"
    )
    for warning in report.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    if not witnesses:
        typer.echo(f"Warning: {NO_WITNESS_WARNING}", err=True)
    if deep:
        _verify_deep(data_dir)


def _verify_deep(data_dir: Path | None) -> None:
    from rich.progress import Progress

    from chatproof.services.deep_verify import deep_verify, summary
    from chatproof.services.errors import DeepVerificationFailed

    with components_for(data_dir) as components, Progress(transient=True, console=stderr()) as bar:
        task = bar.add_task("deep check", total=None)
        report = deep_verify(
            components.reader,
            components.blobs,
            progress=lambda stage, done: bar.update(task, description=stage, completed=done),
        )
    if report.disagreements:
        raise DeepVerificationFailed(report.disagreements)
    typer.echo(f"OK: {summary(report)}")


@app.command("sign-head")
@fails_cleanly
def sign_head_command(data_dir: DataDir = None) -> None:
    """Sign a tree head over the whole log now and hand it to the witnesses.

    Example: chatproof sign-head
    """
    import asyncio

    from chatproof.archive.keyfiles import load_signing_key
    from chatproof.services.archive import publish_head, sign_head

    with components_for(data_dir) as components:
        key = load_signing_key(components.settings.signing_key_path)
        sth = sign_head(components.writer, key, datetime.now(UTC))
        if sth is None:
            typer.echo("The latest signed head already covers the whole log.")
            return
        typer.echo(f"Signed head: {sth.head.tree_size} entries, root {sth.head.root_hash.hex()}")
        witnesses = components.witnesses()
        problems = asyncio.run(publish_head(components.writer, sth, witnesses))
    for problem in problems:
        typer.echo(f"Warning: witness {problem}", err=True)
    if witnesses:
        typer.echo(f"Handed to {len(witnesses) - len(problems)} of {len(witnesses)} witnesses.")


@app.command("backup")
@fails_cleanly
def backup_command(
    target: Annotated[Path, typer.Argument(help="Backup directory (outside the data dir).")],
    data_dir: DataDir = None,
    without_master_key: Annotated[
        bool, typer.Option("--without-master-key", help="Keep the master key out of the copy.")
    ] = False,
) -> None:
    """Make a consistent online copy of the database, keys, media and configuration.

    Example: chatproof backup /mnt/backup/chatproof-2026-11-22
    """
    from rich.progress import Progress

    from chatproof.store import backup

    settings = settings_for(data_dir)
    with Progress(transient=True, console=stderr()) as bar:
        task = bar.add_task("backing up", total=None)
        manifest = backup(
            settings,
            target,
            include_master_key=not without_master_key,
            progress=lambda done, total, _what: bar.update(task, completed=done, total=total),
        )
    typer.echo(
        f"Backed up {len(manifest.files)} files ({manifest.total_size} bytes) to {target}"
        + ("" if manifest.master_key_included else "; the master key was left out")
    )


@app.command("restore")
@fails_cleanly
def restore_command(
    source: Annotated[Path, typer.Argument(help="A directory made by `chatproof backup`.")],
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option(help="Replace data that is already there.")] = False,
) -> None:
    """Bring a backup back, checking every file against its manifest, then verify the log.

    Example: chatproof restore /mnt/backup/chatproof-2026-11-22 --data-dir /var/lib/chatproof
    """
    from chatproof.config import Settings
    from chatproof.store import restore

    target = resolve_data_dir(data_dir, os.environ)
    settings = (
        load_settings(target, os.environ)
        if (target / "chatproof.toml").exists()
        else Settings(data_dir=target)
    )
    report = restore(source, settings, force=force)
    typer.echo(f"Restored {report.files_restored} files from {source}.")
    verify(data_dir=target)


hold_app = typer.Typer(help="Legal holds: no shredding of a data subject while one is in place.")
app.add_typer(hold_app, name="hold")


def _subject_of(components: Any, conversation_id: int) -> str:
    with components.reader() as uow:
        return uow.conversations.get(conversation_id).subject_id


@hold_app.command("place")
@fails_cleanly
def hold_place(
    conversation_id: Annotated[int, typer.Argument(help="A conversation of the data subject.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. the case number.")],
    data_dir: DataDir = None,
) -> None:
    """Place a legal hold on the person behind a conversation.

    Example: chatproof hold place 12 --reason "LG Berlin 4 O 17/26"
    """
    from chatproof.services.retention import place_hold

    with components_for(data_dir) as components:
        subject = _subject_of(components, conversation_id)
        hold_id = place_hold(
            components.writer, subject, reason, actor(), datetime.now(UTC), components.timezone
        )
    typer.echo(f"Legal hold {hold_id} placed.")


@hold_app.command("lift")
@fails_cleanly
def hold_lift(
    hold_id: Annotated[int, typer.Argument(help="The hold (see `hold list`).")],
    data_dir: DataDir = None,
) -> None:
    """Lift a legal hold.

    Example: chatproof hold lift 3
    """
    from chatproof.services.retention import lift_hold

    with components_for(data_dir) as components:
        lift_hold(components.writer, hold_id, actor(), datetime.now(UTC), components.timezone)
    typer.echo(f"Legal hold {hold_id} lifted.")


@hold_app.command("list")
@fails_cleanly
def hold_list(
    data_dir: DataDir = None,
    include_lifted: Annotated[bool, typer.Option("--all", help="Include lifted holds.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List legal holds.

    Example: chatproof hold list --all
    """
    with components_for(data_dir) as components, components.reader() as uow:
        holds = uow.holds.list(include_lifted=include_lifted)
    rows = [
        {
            "id": h.id,
            "subject": h.subject_id,
            "reason": h.reason,
            "placed": f"{h.placed_at:%Y-%m-%d} by {h.placed_by}",
            "lifted": f"{h.lifted_at:%Y-%m-%d} by {h.lifted_by}" if h.lifted_at else "",
        }
        for h in holds
    ]
    output(rows, as_json)


@app.command()
@fails_cleanly
def shred(
    conversation_id: Annotated[int, typer.Argument(help="A conversation of the data subject.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. the Art. 17 request's reference.")],
    data_dir: DataDir = None,
    yes: YesFlag = False,
) -> None:
    """Crypto-shred everything archived about the person behind a conversation.

    Example: chatproof shred 12 --reason "Art. 17 request 2026-0042" --yes
    """
    from chatproof.services.erasure import shred_subject

    with components_for(data_dir) as components:
        subject = _subject_of(components, conversation_id)
        confirmed(yes, f"Destroy the keys of data subject {subject}? This cannot be undone")
        count = shred_subject(
            components.writer,
            subject,
            reason=reason,
            by=actor(),
            now=datetime.now(UTC),
            tz=components.timezone,
            scrub=components.scrub,
        )
    typer.echo(f"Shredded {count} key buckets of data subject {subject}.")


@app.command()
@fails_cleanly
def retention(
    data_dir: DataDir = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what is due.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Shred every bucket whose retention duty has ended, unless it is under a legal hold.

    Example: chatproof retention --dry-run
    """
    from chatproof.services.retention import expiring, shred_expired

    now = datetime.now(UTC)
    with components_for(data_dir) as components:
        tz, classes = components.timezone, components.retention_classes
        if dry_run:
            buckets = expiring(components.reader, classes, tz, now)
        else:
            buckets = shred_expired(components.writer, classes, tz, now)
    rows = [
        {
            "subject": b.subject_id,
            "class": b.retention_class,
            "year": b.start_year,
            "duty_ended": f"{b.duty_ended:%Y-%m-%d}",
            "held": "held" if b.held else "",
        }
        for b in buckets
    ]
    output(rows, as_json)


quarantine_app = typer.Typer(help="Signed webhook bodies chatproof could not understand.")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
@fails_cleanly
def quarantine_list(
    data_dir: DataDir = None,
    include_resolved: Annotated[bool, typer.Option("--all", help="Include resolved.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List quarantined webhook bodies with the reason and the offending field.

    Example: chatproof quarantine list
    """
    from chatproof.services.quarantine import list_quarantine

    with components_for(data_dir) as components:
        found = list_quarantine(components.reader, include_resolved=include_resolved)
    rows = [
        {
            "id": q.id,
            "received_at": q.received_at.isoformat(timespec="seconds"),
            "reason": q.reason,
            "field": q.path,
            "bytes": q.size,
            "resolved": q.resolved_at.isoformat(timespec="seconds") if q.resolved_at else "",
        }
        for q in found
    ]
    output(rows, as_json)


@quarantine_app.command("resolve")
@fails_cleanly
def quarantine_resolve(
    quarantine_id: Annotated[int, typer.Argument(help="Entry id (see `quarantine list`).")],
    data_dir: DataDir = None,
) -> None:
    """Mark a quarantined body as dealt with; the body itself is kept.

    Example: chatproof quarantine resolve 3
    """
    from chatproof.services.quarantine import resolve

    with components_for(data_dir) as components:
        resolve(components.writer, quarantine_id, actor(), datetime.now(UTC))
    typer.echo(f"Resolved quarantine entry {quarantine_id}.")


app.add_typer(users_app, name="users")
app.add_typer(settings_app, name="settings")
app.add_typer(import_app, name="import")
app.add_typer(reclassify_app, name="reclassify")
app.add_typer(consent_app, name="consent")
app.add_typer(broadcast_app, name="broadcast")
app.command("send")(send)
app.add_typer(templates_app, name="templates")
app.add_typer(keys_app, name="keys")
app.add_typer(export_app, name="export")
app.add_typer(procedure_app, name="procedure")
app.command("ropa")(ropa)
app.add_typer(dsr_app, name="dsr")
app.add_typer(audit_app, name="audit")
app.command("worker")(worker)


def main() -> None:
    app()
