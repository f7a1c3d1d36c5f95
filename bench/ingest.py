"""Webhook ingest benchmark: signed WhatsApp webhooks, one inbound message per POST, from a
separate load-generator process on loopback into ``chatproof serve`` (SQLite, durable).

Phases, each repeated ``--repeat`` times after a warm-up:

1. saturated: ``--connections`` keep-alive connections, each sending its next request as soon
   as the previous one is answered; reports acknowledged messages per second.
2. open loop: requests are sent on a fixed schedule of ``--rate`` per second for
   ``--duration`` seconds whatever the server does; latency runs from the *scheduled* send
   time, so a stalled server cannot hide its backlog (no coordinated omission).

Afterwards the database must hold exactly as many messages as were answered 200, or the
run is void (DESIGN invariant 1: acknowledged means durable).

Example: .venv/bin/python bench/ingest.py --messages 20000 --rate 1000 --duration 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

LOADGEN = Path(__file__).with_name("_loadgen.py")
SOURCE = Path(__file__).resolve().parents[1] / "src"
TARGET_SATURATED = 2000.0
TARGET_P99_MS = 100.0
TARGET_RATE = 1000.0
PERCENTILES = (50, 90, 99)
DISTURBED_CPU = 0.25
"""A run during which other processes used more than this share of a CPU is flagged."""
DISTURBED_LAG = 0.020
"""…as is one in which the load generator sent more than 20 ms late (it was not scheduled)."""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    data_dir: Path
    host: str
    port: int
    secret: str
    phone_number_id: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Example: " + __doc__.split("Example: ")[1]
    )
    parser.add_argument("--messages", type=int, default=20_000, help="per saturated run")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="open-loop messages/s")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per open-loop run")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase")
    parser.add_argument("--warmup", type=int, default=2000, help="messages sent before measuring")
    parser.add_argument(
        "--tmp-dir", type=Path, default=None, help="where the data directory goes (a real disk)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if min(args.messages, args.connections, args.repeat) < 1 or args.rate <= 0:
        parser.error("--messages, --connections, --repeat and --rate must be positive")
    return args


def chatproof_command() -> list[str]:
    script = Path(sys.executable).with_name("chatproof")
    if script.exists():
        return [str(script)]
    found = shutil.which("chatproof")
    return [found] if found else [sys.executable, "-m", "chatproof"]


def clean_environment() -> dict[str, str]:
    """The caller's environment without ``CHATPROOF_*`` overrides (the bench wants SQLite),
    with this checkout's ``src`` first on the path: the server measured is the code next to
    this file, even when the virtualenv's editable install points at another copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATPROOF_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), env.get("PYTHONPATH")]))
    return env


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, host: str = "127.0.0.1") -> Server:
    init = subprocess.run(
        [*chatproof_command(), "init", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=clean_environment(),
    )
    if init.returncode:
        raise RuntimeError(f"chatproof init failed:\n{(init.stderr or init.stdout)[-3000:]}")
    config = tomllib.loads((data_dir / "chatproof.toml").read_text(encoding="utf-8"))
    port = free_port(host)
    log = (data_dir / "serve.log").open("wb")
    command = [*chatproof_command(), "serve", "--data-dir", str(data_dir)]
    command += ["--host", host, "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=clean_environment()
    )
    server = Server(
        process,
        data_dir,
        host,
        port,
        config["whatsapp"]["app_secret"],
        config["whatsapp"]["phone_number_id"],
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chatproof serve exited:\n{server_log(server)}")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.05)
    stop(process)
    raise RuntimeError("chatproof serve did not answer /healthz within 60 s")


def server_log(server: Server) -> str:
    return (server.data_dir / "serve.log").read_text(errors="replace")[-3000:]


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LoadGenerator:
    """The ``_loadgen.py`` process, fed one job per phase."""

    def __init__(self, server: Server) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(LOADGEN)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.send(
            {
                "host": server.host,
                "port": server.port,
                "secret": server.secret,
                "phone_number_id": server.phone_number_id,
            }
        )
        self.receive()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited with {self.process.wait()}")
        return json.loads(line)

    def run(self, job: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
        self.send(job)
        task = progress.add_task(job["label"], total=None) if progress else None
        while True:
            message = self.receive()
            if "result" in message:
                if progress and task is not None:
                    progress.remove_task(task)
                return message["result"]
            if progress and task is not None:
                progress.update(task, completed=message["progress"], total=message["total"])

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads (Linux), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_cpu() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine so far (Linux), or NaN elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    steal = fields[7] if len(fields) > 7 else 0
    return (sum(fields[:8]) - idle - steal) / tick, steal / tick


def calibrate() -> float:
    """Milliseconds for a fixed piece of Python work, taken before each phase: on a shared or
    virtual machine the speed drifts, and this shows by how much (lower is faster)."""
    doc = {"entry": [{"id": "1", "text": "Grüße " * 8, "n": list(range(10))}]}
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(5000):
            hashlib.sha256(json.dumps(doc).encode()).hexdigest()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def stored_counts(data_dir: Path) -> dict[str, int]:
    """Counted through a separate read-only connection while the server keeps running."""
    uri = f"file:{data_dir / 'chatproof.sqlite3'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        row = db.execute(
            "SELECT (SELECT count(*) FROM messages),"
            " (SELECT count(*) FROM webhook_deliveries),"
            " (SELECT count(DISTINCT received_at) FROM webhook_deliveries),"
            " (SELECT count(*) FROM quarantine)"
        ).fetchone()
    db.close()
    return dict(zip(("messages", "deliveries", "commits", "quarantined"), row, strict=True))


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summarise(result: dict[str, Any], server_cpu: float, before: dict, after: dict) -> dict:
    latencies = sorted(result.pop("latencies"))
    commits = after["commits"] - before["commits"]
    stored = after["messages"] - before["messages"]
    result["latency_ms"] = {
        **{f"p{q}": percentile(latencies, q) * 1000 for q in PERCENTILES},
        "max": (latencies[-1] * 1000) if latencies else float("nan"),
    }
    result["errors"] = result["sent"] - result["acknowledged"]
    result["server_cpu"] = server_cpu / result["wall"] if result["wall"] else 0.0
    result["stored"] = stored
    result["commits"] = commits
    result["mean_group"] = stored / commits if commits else 0.0
    result["disturbed"] = (
        result["other_cpu"] > DISTURBED_CPU
        or result["steal"] > 0.05
        or result["max_send_lag"] > DISTURBED_LAG
    )
    return result


def machine() -> dict[str, Any]:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    cpu_model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": cpu_model,
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
    }


def filesystem(path: Path) -> str:
    """The mount type under ``path``: tmpfs would make fsync free and the figures meaningless."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


def run_benchmark(args: argparse.Namespace, progress: Progress | None) -> dict[str, Any]:
    parent = Path(tempfile.mkdtemp(prefix="chatproof-bench-", dir=args.tmp_dir))
    data_dir = parent / "data"
    server = start_server(data_dir)
    generator: LoadGenerator | None = None
    phases: list[dict[str, Any]] = []
    try:
        generator = LoadGenerator(server)
        plan: list[tuple[str, dict[str, Any]]] = []
        if args.warmup:
            plan.append(("warm-up", {"messages": args.warmup}))
        for i in range(args.repeat):
            plan.append((f"saturated {i + 1}", {"messages": args.messages}))
        for i in range(args.repeat):
            plan.append((f"open loop {i + 1}", {"rate": args.rate, "duration": args.duration}))
        for seed, (label, job) in enumerate(plan):
            job.update(
                label=label,
                phase=label.rsplit(" ", 1)[0] if label[-1].isdigit() else label,
                connections=args.connections,
                prefix=secrets.token_hex(4).upper(),
                seed=seed,
            )
            calibration = calibrate()
            before = stored_counts(data_dir)
            cpu_before = cpu_seconds(server.process.pid)
            busy_before, steal_before = system_cpu()
            result = generator.run(job, progress)
            server_cpu = cpu_seconds(server.process.pid) - cpu_before
            busy, steal = system_cpu()
            after = stored_counts(data_dir)
            result["label"] = label
            result["calibration_ms"] = calibration
            wall = result["wall"] or 1e-9
            # CPU used by anything but the server and the load generator, and CPU the
            # hypervisor gave to someone else: both make a run slower for no fault of its own.
            result["other_cpu"] = max(
                0.0, (busy - busy_before - server_cpu) / wall - result["loadgen_cpu"]
            )
            result["steal"] = (steal - steal_before) / wall
            phases.append(summarise(result, server_cpu, before, after))
            if server.process.poll() is not None:
                raise RuntimeError(f"chatproof serve died:\n{server_log(server)}")
        final = stored_counts(data_dir)
    finally:
        if generator is not None:
            generator.close()
        stop(server.process)
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
    acknowledged = sum(p["acknowledged"] for p in phases)
    sent = sum(p["sent"] for p in phases)
    check = {
        "acknowledged": acknowledged,
        "sent": sent,
        **final,
        "ok": final["messages"] == acknowledged
        and final["deliveries"] == acknowledged
        and final["quarantined"] == 0,
    }
    return {
        "command": " ".join(["python", *sys.argv]),
        "machine": {**machine(), "filesystem": filesystem(parent)},
        "settings": {
            "messages": args.messages,
            "rate": args.rate,
            "duration": args.duration,
            "connections": args.connections,
            "repeat": args.repeat,
            "warmup": args.warmup,
        },
        "data_dir": str(data_dir) if args.keep else None,
        "phases": phases,
        "summary": overall(phases),
        "check": check,
    }


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def overall(phases: list[dict[str, Any]]) -> dict[str, Any]:
    saturated = [p for p in phases if p["phase"] == "saturated"]
    open_loop = [p for p in phases if p["phase"] == "open loop"]
    summary: dict[str, Any] = {
        "saturated_msgs_per_s": spread([p["throughput"] for p in saturated]),
        "open_loop_errors": sum(p["errors"] for p in open_loop),
        "saturated_errors": sum(p["errors"] for p in saturated),
    }
    for key in ("p50", "p90", "p99", "max"):
        summary[f"open_loop_{key}_ms"] = spread([p["latency_ms"][key] for p in open_loop])
    sat = summary["saturated_msgs_per_s"].get("median", 0.0)
    p99 = summary["open_loop_p99_ms"].get("median", float("inf"))
    summary["targets"] = {
        "saturated": {"target": TARGET_SATURATED, "median": sat, "met": sat >= TARGET_SATURATED},
        "p99": {"target_ms": TARGET_P99_MS, "median_ms": p99, "met": p99 < TARGET_P99_MS},
    }
    return summary


def render(report: dict[str, Any], console: Console) -> None:
    m, s = report["machine"], report["settings"]
    console.print(
        f"[bold]chatproof ingest benchmark[/]  {m['cpus']} CPUs ({m['usable_cpus']} usable, "
        f"{m['cpu_model']}), {m['memory']}, Python {m['python']}, SQLite {m['sqlite']}, "
        f"{m['os']}, data dir on {m['filesystem']}"
    )
    console.print(f"command: {report['command']}")
    console.print(
        f"{s['connections']} connections, saturated runs of {s['messages']} messages, "
        f"open loop {s['rate']:g}/s for {s['duration']:g} s, {s['repeat']} runs each, "
        f"{s['warmup']} warm-up messages"
    )
    table = Table(title="runs")
    for column in ("run", "200/sent", "err", "msgs/s", "p50", "p90", "p99", "max ms"):
        table.add_column(column, justify="right")
    for column in ("group", "CPU srv/gen/other", "steal", "calib", "queued", "lag"):
        table.add_column(column, justify="right")
    for p in report["phases"]:
        ms = p["latency_ms"]
        table.add_row(
            p["label"] + (" !" if p["disturbed"] else ""),
            f"{p['acknowledged']}/{p['sent']}",
            str(p["errors"]),
            f"{p['throughput']:.0f}",
            *(f"{ms[k]:.1f}" for k in ("p50", "p90", "p99", "max")),
            f"{p['mean_group']:.1f}",
            f"{p['server_cpu']:.0%}/{p['loadgen_cpu']:.0%}/{p['other_cpu']:.0%}",
            f"{p['steal']:.0%}",
            f"{p['calibration_ms']:.0f}",
            str(p["queued_in_client"]),
            f"{p['max_send_lag'] * 1000:.1f}",
        )
    console.print(table)
    if any(p["disturbed"] for p in report["phases"]):
        console.print(
            "! disturbed: other processes used over a quarter of a CPU, time was stolen, or "
            "the load generator fell behind its schedule; repeat the benchmark on a quiet machine"
        )
    summary = report["summary"]
    result = Table(title="summary: median of runs \\[min – max]")
    result.add_column("figure")
    result.add_column("value", justify="right")
    result.add_column("target", justify="right")
    result.add_column("met")

    def fmt(d: dict[str, float], unit: str) -> str:
        if not d:
            return "-"
        return f"{d['median']:.1f} {unit} \\[{d['min']:.1f} – {d['max']:.1f}]"

    targets = summary["targets"]
    result.add_row(
        "saturated",
        fmt(summary["saturated_msgs_per_s"], "msgs/s"),
        f"≥ {TARGET_SATURATED:.0f} msgs/s",
        "yes" if targets["saturated"]["met"] else "[red]NO[/]",
    )
    for key in ("p50", "p90", "p99", "max"):
        target = f"< {TARGET_P99_MS:.0f} ms" if key == "p99" else ""
        met = ("yes" if targets["p99"]["met"] else "[red]NO[/]") if key == "p99" else ""
        name = f"{key} at {s['rate']:g}/s"
        result.add_row(name, fmt(summary[f"open_loop_{key}_ms"], "ms"), target, met)
    errors = summary["saturated_errors"] + summary["open_loop_errors"]
    result.add_row("errors (non-200)", str(errors), "0", "yes" if not errors else "[red]NO[/]")
    check = report["check"]
    result.add_row(
        "stored = acknowledged",
        f"{check['messages']} messages, {check['deliveries']} deliveries, "
        f"{check['quarantined']} quarantined / {check['acknowledged']} answered 200",
        "equal",
        "yes" if check["ok"] else "[red]NO — run void[/]",
    )
    console.print(result)


def run_and_report(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, Progress | None], dict[str, Any]],
    render_report: Callable[[dict[str, Any], Console], None],
) -> dict[str, Any] | None:
    """Run a benchmark under a progress bar on stderr and print its report (a table, or JSON
    with ``--json``); None when it could not run (the error is printed)."""
    err = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            report = run(args, progress)
    except RuntimeError as exc:
        err.print(f"Error: {exc}")
        return None
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        out = Console()
        render_report(report, out if out.is_terminal else Console(width=140))
    return report


def main(argv: list[str] | None = None) -> int:
    report = run_and_report(parse_args(argv), run_benchmark, render)
    if report is None:
        return 1
    if not report["check"]["ok"]:
        Console(stderr=True).print(
            "Error: the database does not hold exactly the acknowledged messages"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
