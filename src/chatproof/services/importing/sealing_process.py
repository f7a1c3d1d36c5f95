"""Running an import's sealing side in a process of its own, so that reading, sealing and
encoding the next chunks (one CPU) overlap with writing the previous ones (the other).

The two processes talk over a pair of pipes, in pickled messages: the importing process sends
a ``Plan`` per ``Proposal``; the sealing process sends each ``SealedChunk`` together with the
proposal of the chunk ``LOOKAHEAD`` ahead, and the ``Tally`` (or a ``Failure``) at the end. A
thread of the importing process takes sealed chunks in as they come (``BUFFERED`` of them), and
the importing process answers each proposal before it writes the chunk that came with it, so
the sealing process finds the plan for its next chunk waiting and never waits for the
database. Plans are small (known positions, a log index, an import id), so the importing
process never waits to send one. Data keys cross only this private pipe, and the process exits
with the import; if either side stops, the other sees the pipe close.

Messages are pickled straight into a buffered pipe and unpickled straight from one. A sealed
chunk is a few megabytes: pickled whole into one string first and read back whole into another
(as ``multiprocessing.Connection`` sends and receives), it cost the sealing process 1.7 times
and the importing process 1.5 times the CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from chatproof.archive.blobs import BlobStore
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.run import ImportRun
from chatproof.services.importing.sealing import (
    ChunkSealer,
    Proposal,
    SealedChunk,
    SealingTask,
    Tally,
)
from chatproof.services.importing.source import ExportFile

LOOKAHEAD = 4
"""Chunks proposed before the first plan comes back: the sealing process can run that far
ahead of the database."""

BUFFERED = 3
"""Sealed chunks the importing process takes in while it writes another."""

PIPE_BYTES = 1 << 20

BUFFER_BYTES = 1 << 18
"""Each side's buffer on the pipe: pickle writes and reads it in frames of 64 KiB."""


@dataclass(frozen=True)
class Step:
    sealed: SealedChunk | None
    proposal: Proposal | None


@dataclass(frozen=True)
class Failure:
    problem: str


class SealingProcess:
    """The sealing process of one export: a fork of the importing process, which has
    everything imported already. The child only computes; it opens the export anew (sharing the
    parent's file position would mix their reads), never touches the
    parent's database connection, and leaves with ``os._exit``, running none of the parent's
    exit handlers."""

    def __init__(self, task: SealingTask, blobs: BlobStore) -> None:
        self.task = task
        plans_read, plans_write = os.pipe()
        results_read, results_write = os.pipe()
        _widen(results_write)
        self._pid = os.fork()
        if self._pid == 0:
            code = 1
            try:
                os.close(plans_write)
                os.close(results_read)
                code = _child(
                    task,
                    blobs,
                    os.fdopen(plans_read, "rb", BUFFER_BYTES),
                    os.fdopen(results_write, "wb", BUFFER_BYTES),
                )
            finally:
                os._exit(code)
        os.close(plans_read)
        os.close(results_write)
        self._plans = os.fdopen(plans_write, "wb", BUFFER_BYTES)
        self._results = os.fdopen(results_read, "rb", BUFFER_BYTES)
        self._closed = threading.Event()

    def run(self, run: ImportRun, progress: Callable[[int], None] | None) -> Tally:
        """Raises:
        ImportFileError: the sealing side could not read or store something, or stopped.
        """
        name = self.task.path.name
        received: queue.Queue[Step | Tally | Failure | None] = queue.Queue(maxsize=BUFFERED)
        reader = threading.Thread(target=self._receive, args=(received,), daemon=True)
        reader.start()
        while True:
            message = received.get()
            if message is None:
                raise ImportFileError(name, "the import's sealing process stopped unexpectedly")
            if isinstance(message, Step):
                if message.proposal is not None:
                    _send(self._plans, run.plan(message.proposal))
                if message.sealed is not None:
                    run.write(message.sealed)
                    if progress is not None:
                        progress(message.sealed.position)
            elif isinstance(message, Tally):
                return message
            else:
                assert isinstance(message, Failure)
                raise ImportFileError(name, message.problem)

    def _receive(self, received: queue.Queue[Step | Tally | Failure | None]) -> None:
        """Take the sealing process's messages as they come, so that it never waits for the
        database to finish a chunk before it sends the next (up to ``BUFFERED`` of them)."""
        message: Step | Tally | Failure | None = None
        while not self._closed.is_set():
            try:
                message = pickle.load(self._results)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                message = None
            while not self._closed.is_set():
                try:
                    received.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not isinstance(message, Step):
                return  # the tally, a failure, or the pipe closed: nothing follows

    def close(self) -> None:
        """Stop the process (it has finished, or the import failed) and reap it. The pipe it
        writes to is closed last: the reader thread may be inside a read of it until the
        process has gone."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._plans.close()
        self._reap()
        self._results.close()

    def _reap(self) -> None:
        for _ in range(50):
            if os.waitpid(self._pid, os.WNOHANG)[0]:
                return
            time.sleep(0.01)
        os.kill(self._pid, signal.SIGKILL)
        os.waitpid(self._pid, 0)


def _child(task: SealingTask, blobs: BlobStore, plans: IO[bytes], results: IO[bytes]) -> int:
    # The process only computes, builds no cycles, and ends with the import.
    gc.disable()
    try:
        serve(task, blobs, plans, results)
    except (EOFError, BrokenPipeError):
        return 1  # the importing process has gone; its transaction is rolled back
    except ImportFileError as exc:
        _send(results, Failure(exc.problem))
        return 1
    except Exception as exc:
        _send(results, Failure(f"{type(exc).__name__}: {exc}"))
        return 1
    return 0


def serve(task: SealingTask, blobs: BlobStore, plans: IO[bytes], results: IO[bytes]) -> None:
    """The sealing process's side of the conversation."""
    export = ExportFile(task.path)
    try:
        sealer = ChunkSealer(task, export, blobs)
        outstanding = 0
        for _ in range(LOOKAHEAD):
            proposal = sealer.propose()
            if proposal is None:
                break
            _send(results, Step(None, proposal))
            outstanding += 1
        while outstanding:
            sealed = sealer.seal(pickle.load(plans))
            proposal = sealer.propose()
            _send(results, Step(sealed, proposal))
            outstanding += (proposal is not None) - 1
        _send(results, sealer.tally)
    finally:
        export.close()


def _send(pipe: IO[bytes], message: Any) -> None:
    pickle.dump(message, pipe, pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def _widen(fd: int) -> None:
    """A sealed chunk is a few megabytes: a pipe of 1 MiB instead of 64 KiB takes it in a
    few reads. Best effort (Linux only, and capped by ``fs.pipe-max-size``)."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
