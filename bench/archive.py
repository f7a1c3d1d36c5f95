"""Archive log benchmark: durable append throughput, full verification beside raw SHA-256, and
proof latency, on a log of ``--entries`` entries (default 1,000,000) in SQLite on disk (WAL,
``synchronous=FULL``), through the repository and the archive services the application uses,
each call in a transaction of its own as in the application (DESIGN invariant 3).

Phases:

1. build: the log is appended in transactions of ``--batch`` entries, each commit durable;
   every entry carries 300-600 bytes of sealed content (random bytes standing in for AES-GCM
   ciphertext), a subject uuid, a platform id hash and a few attributes. Reports entries/s.
2. head: one signed tree head over the whole log.
3. proofs: ``--proofs`` inclusion proofs of random entries, consistency proofs from random
   older sizes, and full inclusion documents (the service behind ``chatproof proof``), each
   in its own read transaction on a pooled connection; p50/p99/max. Every proof is checked.
4. verify: the ``verify`` service over the whole log, ``--repeat`` times, each beside raw
   ``hashlib.sha256`` over exactly the same leaf bytes (the n leaf hashes, then also the n-1
   interior node hashes up to the root), read beforehand so that only hashing is timed.
5. batch sizes: ``--batch-entries`` more entries per run, in transactions of each of
   ``--batch-sizes``, ``--repeat`` times, on top of the full log.

Example: .venv/bin/python bench/archive.py --entries 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table

import chatproof
from chatproof.archive import merkle
from chatproof.archive.errors import ArchiveError
from chatproof.archive.keyfiles import load_signing_key
from chatproof.archive.log import EntryDraft, append
from chatproof.archive.proofcheck import ProofCheckError, check_document
from chatproof.archive.tree_head import SignedTreeHead, raw_public_key
from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.archive import inclusion_document, sign_head, verify
from chatproof.store import UnitOfWork
from chatproof.store.log import STORED_FROM_LEVEL

# The machine and noise helpers are the ingest benchmark's: imported as ``bench.ingest`` from
# the tests, as ``ingest`` when this file runs as a script.
try:
    from bench.ingest import (
        calibrate,
        filesystem,
        machine,
        percentile,
        run_and_report,
        spread,
        system_cpu,
    )
except ModuleNotFoundError:
    from ingest import (
        calibrate,
        filesystem,
        machine,
        percentile,
        run_and_report,
        spread,
        system_cpu,
    )

TARGET_APPEND = 30_000.0
TARGET_VERIFY = 300_000.0
TARGET_PROOF_P99_MS = 5.0
DEFAULT_ENTRIES = 1_000_000
DEFAULT_BATCH = 1000
DEFAULT_BATCH_SIZES = (32, 1000, 10_000)
CONTENT_BYTES = (300, 600)
SUBJECTS = 5000
RAW_CHUNK = 1 << 13
"""Leaves hashed per timed slice of the raw comparison (a power of two: whole subtrees)."""
DISTURBED_CPU = 0.25
"""A phase during which other processes used more than this share of a CPU is flagged…"""
MIN_FLAGGED_WALL = 0.5
"""…if it took longer than this many seconds."""


def batch_sizes(text: str) -> list[int]:
    """``32,1000,10000`` → [32, 1000, 10000]; empty: none."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text!r}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Example: " + __doc__.split("Example: ")[1]
    )
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="size of the log")
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="entries per transaction while building"
    )
    parser.add_argument(
        "--batch-sizes",
        type=batch_sizes,
        default=list(DEFAULT_BATCH_SIZES),
        help="comma-separated transaction sizes compared after the build (empty: none)",
    )
    parser.add_argument(
        "--batch-entries", type=int, default=30_000, help="entries appended per batch-size run"
    )
    parser.add_argument("--proofs", type=int, default=2000, help="samples per kind of proof")
    parser.add_argument("--repeat", type=int, default=3, help="verify and batch-size runs")
    parser.add_argument("--seed", type=int, default=1, help="of the generated entries")
    parser.add_argument(
        "--tmp-dir", type=Path, default=None, help="where the data directory goes (a real disk)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    sizes = [args.batch, *args.batch_sizes]
    if min(args.entries, args.repeat, args.proofs, args.batch_entries, *sizes) < 1:
        parser.error(
            "--entries, --batch, --batch-sizes, --batch-entries, --proofs and --repeat must be "
            "positive"
        )
    if args.entries < 2:
        parser.error("--entries must be at least 2")
    given = sys.argv[1:] if argv is None else argv
    args.command = " ".join(["python", sys.argv[0] if argv is None else "bench/archive.py", *given])
    return args


class Workload:
    """Entries shaped like those ingest appends, reproducible from a seed."""

    KINDS = (
        ("message.inbound", {"type": "text", "direction": "inbound"}),
        ("message.outbound", {"type": "text", "direction": "outbound"}),
        ("status.delivered", {"type": "status", "direction": "outbound"}),
        ("status.read", {"type": "status", "direction": "outbound"}),
    )

    def __init__(self, seed: int, start: datetime) -> None:
        self.rng = random.Random(seed)
        self.subjects = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(SUBJECTS)
        ]
        self.start = start
        self.count = 0

    def drafts(self, n: int) -> list[EntryDraft]:
        rng, drafts = self.rng, []
        for _ in range(n):
            kind, attributes = self.KINDS[rng.getrandbits(2)]
            at = self.start + timedelta(milliseconds=50 * self.count)
            self.count += 1
            drafts.append(
                EntryDraft(
                    kind=kind,
                    at=at,
                    retention_class="business_letter",
                    start_year=at.year,
                    subject_id=self.subjects[rng.randrange(SUBJECTS)],
                    platform_id_hash=rng.randbytes(32).hex(),
                    content=rng.randbytes(rng.randint(*CONTENT_BYTES)),
                    attributes=attributes,
                )
            )
        return drafts


@dataclass
class Noise:
    """How disturbed a phase was: this process's CPU, everyone else's, stolen time, and the
    time of a fixed piece of Python work taken just before (lower is faster)."""

    label: str
    calibration_ms: float
    wall: float = 0.0
    cpu: float = 0.0
    other_cpu: float = 0.0
    steal: float = 0.0
    disturbed: bool = False


@contextmanager
def measured(label: str, phases: list[Noise]) -> Iterator[Noise]:
    noise = Noise(label, calibrate())
    busy_before, steal_before = system_cpu()
    cpu_before, start = time.process_time(), time.perf_counter()
    yield noise
    wall = max(time.perf_counter() - start, 1e-9)
    busy, steal = system_cpu()
    noise.wall = wall
    noise.cpu = (time.process_time() - cpu_before) / wall
    noise.other_cpu = max(0.0, (busy - busy_before) / wall - noise.cpu)
    noise.steal = (steal - steal_before) / wall
    # Shares of CPU over a few milliseconds say nothing: only longer phases are flagged.
    noise.disturbed = wall > MIN_FLAGGED_WALL and (
        noise.other_cpu > DISTURBED_CPU or noise.steal > 0.05
    )
    phases.append(noise)


class Bench:
    """A fresh data directory with its keys and its SQLite log, and the phases run on it."""

    def __init__(self, data_dir: Path, seed: int, progress: Progress | None) -> None:
        initialise(data_dir)
        settings = load_settings(data_dir, {})
        self.db_path = data_dir / "chatproof.sqlite3"
        self.components = build(settings)
        self.engine = self.components.engine
        self.key = load_signing_key(settings.signing_key_path)
        self.public_key = raw_public_key(self.key.public_key())
        self.now = datetime.now(UTC)
        self.workload = Workload(seed, self.now - timedelta(days=365))
        self.progress = progress
        self.phases: list[Noise] = []

    def writer(self) -> UnitOfWork:
        return self.components.uow(write=True)

    def reader(self) -> UnitOfWork:
        return self.components.uow(write=False)

    def close(self) -> None:
        self.components.close()

    @contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr; yields ``advance(n)``."""
        progress = self.progress
        if progress is None:
            yield lambda _n: None
            return
        task: TaskID = progress.add_task(label, total=total)
        try:
            yield lambda n: progress.advance(task, n)
        finally:
            progress.remove_task(task)

    # --- append ------------------------------------------------------------------------------

    def append(
        self, count: int, batch: int, advance: Callable[[int], None]
    ) -> list[tuple[int, float]]:
        """Append ``count`` entries in transactions of ``batch``: (entries, seconds) of each
        transaction, from opening it to its durable commit (generating entries is not timed)."""
        transactions: list[tuple[int, float]] = []
        done = 0
        while done < count:
            drafts = self.workload.drafts(min(batch, count - done))
            start = time.perf_counter()
            with self.writer() as uow:
                append(uow.log, drafts, self.now)
                uow.commit()
            transactions.append((len(drafts), time.perf_counter() - start))
            done += len(drafts)
            advance(len(drafts))
        return transactions

    def build(self, entries: int, batch: int) -> dict[str, Any]:
        with measured("build", self.phases), self.task("append", entries) as advance:
            transactions = self.append(entries, batch, advance)
        tenth = max(1, len(transactions) // 10)
        ordered = sorted(seconds for _, seconds in transactions)
        return {
            "entries": entries,
            "batch": batch,
            "seconds": sum(ordered),
            "entries_per_s": rate(transactions),
            "first_tenth_per_s": rate(transactions[:tenth]),
            "last_tenth_per_s": rate(transactions[-tenth:]),
            "transaction_ms": {
                "p50": percentile(ordered, 50) * 1000,
                "p99": percentile(ordered, 99) * 1000,
                "max": ordered[-1] * 1000,
            },
        }

    def stored(self) -> dict[str, int]:
        """Counted through a separate read-only connection."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT (SELECT count(*) FROM log_entries), (SELECT count(*) FROM merkle_nodes),"
                " (SELECT size FROM log_state)"
            ).fetchone()
        db.close()
        files = [self.db_path, self.db_path.with_name(self.db_path.name + "-wal")]
        size = sum(p.stat().st_size for p in files if p.exists())
        return {"entries": row[0], "nodes": row[1], "log_size": row[2], "bytes": size}

    def batch_sizes(self, sizes: Sequence[int], entries: int, repeat: int) -> list[dict]:
        rates: dict[int, list[float]] = {size: [] for size in sizes}
        with self.task("batch sizes", entries * len(sizes) * repeat) as advance:
            for run in range(repeat):
                for size in sizes:
                    with measured(f"batch {size}, run {run + 1}", self.phases):
                        rates[size].append(rate(self.append(entries, size, advance)))
        return [{"batch": size, "entries_per_s": spread(rates[size])} for size in sizes]

    # --- proofs ------------------------------------------------------------------------------

    def proofs(self, head: SignedTreeHead, samples: int, rng: random.Random) -> dict[str, Any]:
        size, root = head.head.tree_size, head.head.root_hash
        with measured("proofs", self.phases), self.task("proofs", 3 * samples) as advance:
            inclusion = self._timed(
                [rng.randrange(size) for _ in range(samples)],
                lambda uow, index: merkle.inclusion_proof(index, size, uow.log.node),
                advance,
            )
            consistency = self._timed(
                [rng.randrange(1, size) for _ in range(samples)],
                lambda uow, old: merkle.consistency_proof(old, size, uow.log.node),
                advance,
            )
            documents: list[tuple[float, dict[str, Any]]] = []
            for index in (rng.randrange(size) for _ in range(samples)):
                start = time.perf_counter()
                doc = inclusion_document(self.reader, index, self.key, self.now)
                documents.append((time.perf_counter() - start, doc))
                advance(1)
        # Checked outside the clock: a fast proof that does not verify is no proof.
        try:
            with self.reader() as uow:
                for (index, proof), _ in inclusion:
                    entry = uow.log.entry(index)
                    leaf = merkle.leaf_hash(entry.leaf if entry else b"")
                    merkle.verify_inclusion(index, size, leaf, proof, root)
                for (old, proof), _ in consistency:
                    old_root = merkle.root_hash(old, uow.log.node)
                    merkle.verify_consistency(old, size, old_root, root, proof)
            for _, doc in documents:
                check_document(doc, self.public_key)
        except (ArchiveError, ProofCheckError) as exc:
            raise RuntimeError(f"a proof does not verify: {exc}") from exc
        return {
            "inclusion": latency([s for _, s in inclusion]),
            "consistency": latency([s for _, s in consistency]),
            "document": latency([s for s, _ in documents]),
            "proof_hashes": proof_lengths([p for (_, p), _ in inclusion]),
            "verified": len(inclusion) + len(consistency) + len(documents),
        }

    def _timed(
        self,
        arguments: list[int],
        call: Callable[[UnitOfWork, int], list[bytes]],
        advance: Callable[[int], None],
    ) -> list[tuple[tuple[int, list[bytes]], float]]:
        """Each call in its own read transaction, as a request would make it."""
        results = []
        for argument in arguments:
            start = time.perf_counter()
            with self.reader() as uow:
                proof = call(uow, argument)
            results.append(((argument, proof), time.perf_counter() - start))
            advance(1)
        return results

    # --- verify ------------------------------------------------------------------------------

    def verify(self, size: int, root: bytes, repeat: int) -> dict[str, Any]:
        runs: list[dict[str, float]] = []
        for run in range(repeat):
            with (
                measured(f"verify {run + 1}", self.phases) as noise,
                self.task(f"verify {run + 1}", size) as advance,
            ):
                start = time.perf_counter()
                result = verify(self.reader, self.key, progress=counted(advance))
                seconds = time.perf_counter() - start
            if result.entries != size or result.heads != 1:
                raise RuntimeError(f"verify saw {result.entries} entries, {result.heads} heads")
            with (
                measured(f"raw sha256 {run + 1}", self.phases),
                self.task(f"raw sha256 {run + 1}", size) as advance,
            ):
                leaf_seconds, node_seconds, raw_root = raw_hashing(self.db_path, size, advance)
            if raw_root != root:
                raise RuntimeError("raw hashing gave another root than the signed head")
            runs.append(
                {
                    "seconds": seconds,
                    "entries_per_s": size / seconds,
                    "cpu": noise.cpu,
                    "raw_leaf_seconds": leaf_seconds,
                    "raw_tree_seconds": leaf_seconds + node_seconds,
                }
            )
        return {
            "runs": runs,
            "entries_per_s": spread([r["entries_per_s"] for r in runs]),
            "raw_leaf_per_s": spread([size / r["raw_leaf_seconds"] for r in runs]),
            "raw_tree_per_s": spread([size / r["raw_tree_seconds"] for r in runs]),
            "ratio_leaf": spread([r["seconds"] / r["raw_leaf_seconds"] for r in runs]),
            "ratio_tree": spread([r["seconds"] / r["raw_tree_seconds"] for r in runs]),
        }


def raw_hashing(
    db_path: Path, size: int, advance: Callable[[int], None]
) -> tuple[float, float, bytes]:
    """(seconds for the leaf hashes, seconds for the interior node hashes, root): plain
    ``hashlib.sha256`` over the leaves exactly as stored, RFC 6962 prefixes included. Leaves are
    read slice by slice through the sqlite3 module and only the hashing is timed."""
    sha256 = hashlib.sha256
    leaf_seconds = node_seconds = 0.0
    stack: list[tuple[int, bytes]] = []  # roots of complete subtrees, (level, hash)
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        cursor = db.execute("SELECT leaf FROM log_entries WHERE idx < ? ORDER BY idx", (size,))
        while rows := cursor.fetchmany(RAW_CHUNK):
            leaves = [row[0] for row in rows]
            start = time.perf_counter()
            level = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
            middle = time.perf_counter()
            if len(level) == RAW_CHUNK:
                while len(level) > 1:
                    pairs = iter(level)
                    level = [
                        sha256(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=True)
                    ]
                items = [(RAW_CHUNK.bit_length() - 1, level[0])]
            else:
                items = [(0, value) for value in level]
            for height, value in items:
                while stack and stack[-1][0] == height:
                    value = sha256(b"\x01" + stack.pop()[1] + value).digest()
                    height += 1
                stack.append((height, value))
            leaf_seconds += middle - start
            node_seconds += time.perf_counter() - middle
            advance(len(leaves))
    db.close()
    start = time.perf_counter()
    root = stack.pop()[1]
    while stack:
        root = sha256(b"\x01" + stack.pop()[1] + root).digest()
    return leaf_seconds, node_seconds + time.perf_counter() - start, root


def counted(advance: Callable[[int], None]) -> Callable[[int, int], None]:
    """A ``(done, total)`` progress callback that advances a bar by the difference."""
    seen = 0

    def report(done: int, _total: int) -> None:
        nonlocal seen
        advance(done - seen)
        seen = done

    return report


def rate(transactions: Sequence[tuple[int, float]]) -> float:
    """Entries per second over some transactions."""
    return sum(n for n, _ in transactions) / sum(s for _, s in transactions)


def latency(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "samples": len(ordered),
        "p50": percentile(ordered, 50) * 1000,
        "p99": percentile(ordered, 99) * 1000,
        "max": ordered[-1] * 1000,
        # Which sample was the slowest (0: the first, on a cold path).
        "max_at": seconds.index(ordered[-1]),
    }


def stored_nodes(entries: int) -> int:
    """The complete subtrees of ``entries`` leaves from ``STORED_FROM_LEVEL`` up."""
    return sum(entries >> level for level in range(STORED_FROM_LEVEL, entries.bit_length()))


def proof_lengths(proofs: list[list[bytes]]) -> dict[str, int]:
    lengths = [len(p) for p in proofs]
    return {"min": min(lengths), "max": max(lengths)}


def run_benchmark(args: argparse.Namespace, progress: Progress | None) -> dict[str, Any]:
    parent = Path(tempfile.mkdtemp(prefix="chatproof-archive-bench-", dir=args.tmp_dir))
    data_dir = parent / "data"
    fs = filesystem(parent)
    rng = random.Random(args.seed + 1)
    bench: Bench | None = None
    try:
        bench = Bench(data_dir, args.seed, progress)
        build = bench.build(args.entries, args.batch)
        stored = bench.stored()
        # The leaf hashes live in their entries; merkle_nodes holds the complete subtrees
        # from STORED_FROM_LEVEL up.
        expected_nodes = stored_nodes(args.entries)
        check = {
            **stored,
            "expected_nodes": expected_nodes,
            "ok": stored["entries"] == stored["log_size"] == args.entries
            and stored["nodes"] == expected_nodes,
        }
        if not check["ok"]:
            raise RuntimeError(f"the database does not hold the log that was appended: {check}")
        with measured("sign head", bench.phases) as noise:
            head = sign_head(bench.writer, bench.key, bench.now)
        if head is None:
            raise RuntimeError("no tree head was signed over the new log")
        head_ms = noise.wall * 1000
        proofs = bench.proofs(head, args.proofs, rng)
        verified = bench.verify(args.entries, head.head.root_hash, args.repeat)
        sizes = bench.batch_sizes(args.batch_sizes, args.batch_entries, args.repeat)
        phases = [asdict(p) for p in bench.phases]
    finally:
        if bench is not None:
            bench.close()
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
    summary = {
        "append_per_s": build["entries_per_s"],
        "verify_per_s": verified["entries_per_s"]["median"],
        "inclusion_p99_ms": proofs["inclusion"]["p99"],
    }
    return {
        "command": args.command,
        "machine": {**machine(), "filesystem": fs},
        "code": str(Path(chatproof.__file__).parent),
        "settings": {
            "entries": args.entries,
            "batch": args.batch,
            "batch_sizes": args.batch_sizes,
            "batch_entries": args.batch_entries,
            "proofs": args.proofs,
            "repeat": args.repeat,
            "seed": args.seed,
        },
        "data_dir": str(data_dir) if args.keep else None,
        "build": build,
        "check": check,
        "head_ms": head_ms,
        "proofs": proofs,
        "verify": verified,
        "batch_sizes": sizes,
        "phases": phases,
        "targets": {
            "append": {
                "target": TARGET_APPEND,
                "value": summary["append_per_s"],
                "met": summary["append_per_s"] >= TARGET_APPEND,
            },
            "verify": {
                "target": TARGET_VERIFY,
                "value": summary["verify_per_s"],
                "met": summary["verify_per_s"] >= TARGET_VERIFY,
            },
            "proof_p99": {
                "target_ms": TARGET_PROOF_P99_MS,
                "value_ms": summary["inclusion_p99_ms"],
                "met": summary["inclusion_p99_ms"] < TARGET_PROOF_P99_MS,
            },
        },
    }


def render(report: dict[str, Any], console: Console) -> None:
    m, s = report["machine"], report["settings"]
    console.print(
        f"[bold]chatproof archive benchmark[/]  {m['cpus']} CPUs ({m['usable_cpus']} usable, "
        f"{m['cpu_model']}), {m['memory']}, Python {m['python']}, SQLite {m['sqlite']}, "
        f"{m['os']}, data dir on {m['filesystem']}"
    )
    console.print(f"command: {report['command']}  (code measured: {report['code']})")
    b, c = report["build"], report["check"]
    console.print(
        f"log of {s['entries']:,} entries appended in transactions of {b['batch']:,}: "
        f"{b['seconds']:.1f} s, {c['bytes'] / 2**20:,.0f} MiB on disk "
        f"({c['bytes'] / s['entries']:.0f} bytes/entry), {c['nodes']:,} Merkle nodes; "
        f"signing the head took {report['head_ms']:.1f} ms"
    )

    table = Table(title="phases (noise)")
    for column in ("phase", "wall s", "CPU self/other", "steal", "calib ms"):
        table.add_column(column, justify="right")
    for p in report["phases"]:
        table.add_row(
            p["label"] + (" !" if p["disturbed"] else ""),
            f"{p['wall']:.1f}",
            f"{p['cpu']:.0%}/{p['other_cpu']:.0%}",
            f"{p['steal']:.0%}",
            f"{p['calibration_ms']:.0f}",
        )
    console.print(table)
    if any(p["disturbed"] for p in report["phases"]):
        console.print(
            "! disturbed: other processes used over a quarter of a CPU, or time was stolen; "
            "repeat the benchmark on a quiet machine"
        )

    def fmt(d: dict[str, float], unit: str, digits: int = 0) -> str:
        return (
            f"{d['median']:,.{digits}f} {unit} \\[{d['min']:,.{digits}f} – {d['max']:,.{digits}f}]"
        )

    result = Table(title="summary (median of runs \\[min – max] where repeated)")
    result.add_column("figure")
    result.add_column("value", justify="right")
    result.add_column("target", justify="right")
    result.add_column("met")
    targets = report["targets"]

    def met(key: str) -> str:
        return "yes" if targets[key]["met"] else "[red]NO[/]"

    tx = b["transaction_ms"]
    result.add_row(
        f"append, {b['batch']:,}/transaction, 0 → {s['entries']:,}",
        f"{b['entries_per_s']:,.0f} entries/s",
        f"≥ {TARGET_APPEND:,.0f}",
        met("append"),
    )
    result.add_row(
        "  first / last tenth of the build",
        f"{b['first_tenth_per_s']:,.0f} / {b['last_tenth_per_s']:,.0f} entries/s",
        "",
        "",
    )
    result.add_row(
        "  transaction p50 / p99 / max",
        f"{tx['p50']:.1f} / {tx['p99']:.1f} / {tx['max']:.1f} ms",
        "",
        "",
    )
    for row in report["batch_sizes"]:
        result.add_row(
            f"append, {row['batch']:,}/transaction, at {s['entries']:,}+",
            fmt(row["entries_per_s"], "entries/s"),
            "",
            "",
        )
    v = report["verify"]
    result.add_row(
        "verify (service, whole log)",
        fmt(v["entries_per_s"], "entries/s"),
        "≥ 300,000",
        met("verify"),
    )
    result.add_row("  raw sha256, leaves", fmt(v["raw_leaf_per_s"], "entries/s"), "", "")
    result.add_row("  raw sha256, leaves + nodes", fmt(v["raw_tree_per_s"], "entries/s"), "", "")
    result.add_row("  verify time / raw leaves", fmt(v["ratio_leaf"], "×", 1), "", "")
    result.add_row("  verify time / raw leaves + nodes", fmt(v["ratio_tree"], "×", 1), "", "")
    p = report["proofs"]
    for key, name in (
        ("inclusion", "inclusion proof"),
        ("consistency", "consistency proof"),
        ("document", "inclusion document"),
    ):
        d = p[key]
        is_target = key == "inclusion"
        result.add_row(
            f"{name} p50 / p99 / max",
            f"{d['p50']:.2f} / {d['p99']:.2f} / {d['max']:.2f} ms (slowest #{d['max_at']})",
            f"p99 < {TARGET_PROOF_P99_MS:.0f} ms" if is_target else "",
            met("proof_p99") if is_target else "",
        )
    result.add_row("proofs checked", f"{p['verified']:,} of {p['verified']:,} verify", "all", "yes")
    result.add_row(
        "stored = appended",
        f"{c['entries']:,} entries, {c['nodes']:,} nodes from level {STORED_FROM_LEVEL} up",
        "equal",
        "yes" if c["ok"] else "[red]NO — run void[/]",
    )
    console.print(result)


def main(argv: list[str] | None = None) -> int:
    return 0 if run_and_report(parse_args(argv), run_benchmark, render) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
