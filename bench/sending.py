"""Sending benchmark: how fast the policy gate decides, and whether the outbox keeps to the
platform's throughput (DESIGN invariant 5; reference §4.4).

Phases:

1. gate: ``decide`` over a mix of contacts (window open or closed, consent granted,
   withdrawn or absent, restricted) and messages (free text, utility, marketing, broadcast),
   ``--decisions`` times. Reports decisions/s.
2. send: ``--messages`` contacts with a marketing opt-in get one broadcast, sent by the real
   outbox worker through the real Cloud API client over loopback HTTP to the emulator, which
   refuses with 130429 whatever exceeds ``--rate`` messages per second (per second of its
   clock, as the platform counts). The worker is configured to the same rate. Reports the
   achieved send rate (first to last accepted send), its share of the allowed rate, and the
   number of 130429 answers. Target: at least 95 % of the allowed rate, no 130429.

Example: .venv/bin/python bench/sending.py --messages 1200 --rate 80
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from chatproof.bootstrap import build
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.consent import (
    MARKETING,
    SERVICE,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
    current_states,
)
from chatproof.domain.policy import (
    ContactState,
    LimitUsage,
    MessageKind,
    OutboundRequest,
    PolicySettings,
    TemplateCategory,
    decide,
)
from chatproof.domain.templates import TemplateCatalogue, TemplateSpec
from chatproof.emulator import EmulatorSettings
from chatproof.emulator import create_app as create_emulator
from chatproof.services import broadcasts, consent
from chatproof.services.outbox_worker import OutboxWorker, WorkerSettings
from chatproof.services.sending import SendingSettings

try:
    from bench.ingest import calibrate, machine, run_and_report, system_cpu
except ModuleNotFoundError:
    from ingest import calibrate, machine, run_and_report, system_cpu

TARGET_SHARE = 0.95
NEWSLETTER = TemplateSpec("newsletter", "de", TemplateCategory.MARKETING, body_params=1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1200)
    parser.add_argument("--rate", type=int, default=80, help="messages per second allowed")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--tmp-dir", default=None)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def gate_cases() -> list[tuple[ContactState, OutboundRequest]]:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    grant = ConsentEvent(
        MARKETING, ConsentAction.GRANTED, ConsentSource.WEB_FORM, now - timedelta(days=9), "w",
        "Ja", "1",
    )  # fmt: skip
    stop = ConsentEvent(
        "*", ConsentAction.WITHDRAWN, ConsentSource.KEYWORD, now - timedelta(days=2), "k"
    )
    histories = [[], [grant], [grant, stop]]
    inbound = [now - timedelta(hours=1), now - timedelta(days=3), None]
    requests = [
        OutboundRequest(SERVICE, MessageKind.FREE_TEXT),
        OutboundRequest(SERVICE, MessageKind.TEMPLATE, TemplateCategory.UTILITY),
        OutboundRequest(MARKETING, MessageKind.TEMPLATE, TemplateCategory.MARKETING),
        OutboundRequest(MARKETING, MessageKind.TEMPLATE, TemplateCategory.MARKETING, True, True),
    ]
    cases = []
    for history, last, request, restricted in itertools.product(
        histories, inbound, requests, (False, True)
    ):
        state = ContactState(last, current_states(history), restricted=restricted)
        cases.append((state, request))
    return cases


def run_gate(count: int) -> dict[str, Any]:
    cases = gate_cases()
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    usage, settings = LimitUsage(10, False), PolicySettings()
    allowed = 0
    start = time.perf_counter()
    for i in range(count):
        contact, request = cases[i % len(cases)]
        allowed += decide(contact, request, usage, now, settings).allowed
    elapsed = time.perf_counter() - start
    return {"decisions": count, "seconds": elapsed, "per_second": count / elapsed,
            "allowed_share": allowed / count}  # fmt: skip


async def run_send(args: argparse.Namespace, progress: Progress | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        data_dir = Path(tmp) / "data"
        initialise(data_dir)
        env = {"CHATPROOF_DATABASE_URL": args.database_url} if args.database_url else {}
        port = _free_port()
        env["CHATPROOF_WHATSAPP_BASE_URL"] = f"http://127.0.0.1:{port}"
        settings = load_settings(data_dir, env)
        components = build(settings)
        sending = SendingSettings(
            PolicySettings(messaging_limit=0), TemplateCatalogue([NEWSLETTER]),
            settings.whatsapp.phone_number_id,
        )  # fmt: skip
        emulator_settings = EmulatorSettings(
            app_secret=settings.whatsapp.app_secret,
            access_token=settings.whatsapp.access_token,
            phone_number_id=settings.whatsapp.phone_number_id,
            public_base_url=f"http://127.0.0.1:{port}",
            messages_per_second=args.rate,
            status_delay=0.5,
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_emulator(emulator_settings), host="127.0.0.1", port=port,
                log_level="warning",
            )
        )  # fmt: skip
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        try:
            now = datetime.now(UTC)
            task = progress.add_task("opt-ins", total=args.messages) if progress else None
            for i in range(args.messages):
                event = ConsentEvent(
                    MARKETING, ConsentAction.GRANTED, ConsentSource.WEB_FORM, now, "bench",
                    "Ja, Newsletter", "1",
                )  # fmt: skip
                consent.record(components.writer, f"49151{i:08d}", event, now)
                if progress and task is not None:
                    progress.advance(task)
            broadcasts.create(
                components.writer, sending, now, name="bench", template="newsletter",
                language="de", body_params=["Sommer"], actor="bench",
            )  # fmt: skip
            async with httpx.AsyncClient(timeout=30) as http:
                client = CloudApiClient(Connection.from_config(settings.whatsapp), http=http)
                worker = OutboxWorker(
                    components.writer,
                    client.send_payload,
                    sending,
                    WorkerSettings(messages_per_second=args.rate, customer_interval=0),
                    reader=components.reader,
                )
                sent_task = progress.add_task("sending", total=args.messages) if progress else None
                start = time.perf_counter()
                cpu_before = time.process_time()
                busy_before = system_cpu()[0]
                running = asyncio.create_task(worker.run())
                while worker.stats.sent + worker.stats.failed < args.messages:
                    await asyncio.sleep(0.1)
                    if running.done():
                        running.result()
                    if progress and sent_task is not None:
                        progress.update(sent_task, completed=worker.stats.sent)
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu_before
                busy = system_cpu()[0] - busy_before
            accepted = [m.accepted_at for m in _emulator_sent(server)]
        finally:
            server.should_exit = True
            await serving
            components.close()
    span = max(accepted) - min(accepted) if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span if span else float("nan")
    return {
        "messages": args.messages,
        "allowed_rate": args.rate,
        "sent": worker.stats.sent,
        "failed": worker.stats.failed,
        "throughput_refusals_130429": worker.stats.throughput_refusals,
        "retried": worker.stats.retried,
        "seconds": elapsed,
        "achieved_rate": rate,
        "share_of_allowed": rate / args.rate,
        "machine_busy_cpu_seconds": busy,
        "process_cpu_ms_per_message": 1000 * cpu / max(1, worker.stats.sent),
        "load_average": os.getloadavg()[0],
        "target_met": rate / args.rate >= TARGET_SHARE and worker.stats.throughput_refusals == 0,
    }


def _emulator_sent(server: uvicorn.Server) -> list[Any]:
    app = server.config.app
    return list(app.state.emulator.state.sent.values())


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_benchmark(args: argparse.Namespace, progress: Progress | None) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "calibration_ms": calibrate()}
    report["gate"] = run_gate(args.decisions)
    report["send"] = asyncio.run(run_send(args, progress))
    return report


def render(report: dict[str, Any], console: Console) -> None:
    gate, send = report["gate"], report["send"]
    table = Table(title="chatproof sending")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("policy decisions/s", f"{gate['per_second']:,.0f}")
    table.add_row("messages sent", f"{send['sent']:,} of {send['messages']:,}")
    table.add_row("allowed rate (msgs/s)", f"{send['allowed_rate']}")
    table.add_row("achieved rate (msgs/s)", f"{send['achieved_rate']:.1f}")
    table.add_row("share of allowed rate", f"{send['share_of_allowed']:.1%}")
    table.add_row("130429 answers", f"{send['throughput_refusals_130429']}")
    table.add_row("target met (≥95 %, no 130429)", "yes" if send["target_met"] else "NO")
    table.add_row(
        "CPU per message (ms, worker + emulator)", f"{send['process_cpu_ms_per_message']:.2f}"
    )
    table.add_row("load average during the run", f"{send['load_average']:.1f}")
    table.add_row("calibration (ms, lower = faster)", f"{report['calibration_ms']:.1f}")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    return 0 if run_and_report(parse_args(argv), run_benchmark, render) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
