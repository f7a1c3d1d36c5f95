"""An append-only file of JSON lines, durable before anyone is told (DESIGN invariants 1 and 3).

Shared by the file witness and the countersigning witness server. Lines are only ever appended
(O_APPEND), under an exclusive lock so a check of the last line and the append that follows
are one step, and fsync'd (the directory too when the file is new) before `append` returns.
Nothing here repairs a file: a torn or altered line is evidence, and is reported by number.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from chatproof.archive.errors import WitnessError, WitnessStorageError

_TAIL_CHUNK = 4096


def dump_line(doc: dict[str, object]) -> bytes:
    """The canonical one-line JSON form of `doc` (sorted keys, no spaces), without newline."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _parse(name: str, line: int | None, raw: bytes) -> dict[str, object]:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise WitnessStorageError(name, line, "is not valid JSON") from None
    if not isinstance(doc, dict):
        raise WitnessStorageError(name, line, "is not a JSON object")
    return doc


def read_lines(path: Path, name: str) -> list[tuple[int, dict[str, object]]]:
    """Every line of the file as (line number from 1, document); [] when there is no file.

    Raises:
        WitnessStorageError: a line is not a JSON object, or the last one is incomplete.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise WitnessError(name, f"cannot read {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    if lines[-1]:
        raise WitnessStorageError(name, len(lines), "is incomplete (no newline at its end)")
    return [(number, _parse(name, number, raw)) for number, raw in enumerate(lines[:-1], 1)]


class AppendOnlyFile:
    """An exclusive, appending handle on a JSON-lines file: `with AppendOnlyFile(...) as f:`.

    The directory must already exist: a witness file lives on another mount, and creating the
    directory on the local disk when that mount is missing would defeat it.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._fd = -1

    def __enter__(self) -> AppendOnlyFile:
        if not self.path.parent.is_dir():
            raise WitnessError(
                self.name, f"directory {self.path.parent} does not exist (is the mount there?)"
            )
        created = not self.path.exists()
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            if created:
                self._fsync_directory()
        except OSError as exc:
            self._close()
            raise WitnessError(self.name, f"cannot open {self.path}: {exc.strerror}") from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def _fsync_directory(self) -> None:
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def last(self) -> dict[str, object] | None:
        """The last line's document, read from the end of the file; None when it is empty.

        Raises:
            WitnessStorageError: the last line is incomplete or not a JSON object.
        """
        end = os.fstat(self._fd).st_size
        if end == 0:
            return None
        if os.pread(self._fd, 1, end - 1) != b"\n":
            raise WitnessStorageError(self.name, None, "the last line is incomplete")
        tail = b""
        position = end - 1
        while position > 0 and b"\n" not in tail:
            start = max(0, position - _TAIL_CHUNK)
            tail = os.pread(self._fd, position - start, start) + tail
            position = start
        return _parse(self.name, None, tail.rsplit(b"\n", 1)[-1])

    def append(self, doc: dict[str, object]) -> bytes:
        """Append `doc` as one line and fsync; returns the line written (without newline)."""
        line = dump_line(doc)
        try:
            written = os.write(self._fd, line + b"\n")
            os.fsync(self._fd)
        except OSError as exc:
            raise WitnessError(self.name, f"cannot append to {self.path}: {exc.strerror}") from None
        if written != len(line) + 1:
            raise WitnessError(self.name, f"short write to {self.path}: the disk may be full")
        return line
