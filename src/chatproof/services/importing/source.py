"""An export file as the app writes it: a ``.txt``, or a ``.zip`` with the chat's ``.txt``
and the media it mentions. The text is read lazily, in lines (to detect the format) or in
blocks (to parse it), so the import can report progress in bytes and memory stays flat however
long the chat is."""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from chatproof.services.importing.errors import ImportFileError

_CHAT_NAME = re.compile(r"^WhatsApp[ -]Chat(?: mit| with| -)?\s*(.+?)\s*$", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


class ExportFile:
    """Raises ImportFileError when the file is missing, unreadable, or a zip without a chat."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.position = 0
        self._zip: zipfile.ZipFile | None = None
        self._media: dict[str, zipfile.ZipInfo] = {}
        if not path.is_file():
            raise ImportFileError(self.name, "no such file")
        if zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ImportFileError(self.name, f"not a readable zip ({exc})") from None
            self._chat = self._chat_member(self._zip)
            self.size = self._chat.file_size
            self._media = {
                PurePosixPath(info.filename).name: info
                for info in self._zip.infolist()
                if not info.is_dir() and info is not self._chat
            }
        else:
            self.size = path.stat().st_size

    def _chat_member(self, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
        texts = [i for i in archive.infolist() if i.filename.lower().endswith(".txt")]
        for info in texts:
            if PurePosixPath(info.filename).name == "_chat.txt":
                return info
        if len(texts) == 1:
            return texts[0]
        chats = [i for i in texts if "whatsapp" in i.filename.lower()]
        if len(chats) == 1:
            return chats[0]
        raise ImportFileError(self.name, f"the zip holds {len(texts)} .txt files, not one chat")

    @property
    def is_zip(self) -> bool:
        return self._zip is not None

    @property
    def chat_name(self) -> str:
        """What the app named the chat after (a contact's name or number), or ''."""
        stem = Path(self.name).stem
        found = _CHAT_NAME.match(stem)
        return found.group(1) if found else ""

    def sha256(self) -> str:
        """Of the file as given (the zip itself for a zip)."""
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()

    def lines(self) -> Iterator[str]:
        """The chat's lines, decoded as UTF-8 (undecodable bytes become U+FFFD), newline
        kept; ``position`` follows the bytes read."""
        self.position = 0
        stream = self._zip.open(self._chat) if self._zip else self.path.open("rb")
        with stream:
            first = True
            for raw in stream:
                self.position += len(raw)
                if first:
                    first = False
                    if raw.startswith(_BOM):
                        raw = raw[3:]
                yield raw.decode("utf-8", "replace")

    def blocks(self, size: int = 1 << 20) -> Iterator[str]:
        """The chat's text in blocks of about ``size`` bytes, decoded as UTF-8 (undecodable
        bytes become U+FFFD); ``position`` follows the bytes read."""
        self.position = 0
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        stream = self._zip.open(self._chat) if self._zip else self.path.open("rb")
        with stream:
            first = True
            while raw := stream.read(size):
                self.position += len(raw)
                if first:
                    first = False
                    if raw.startswith(_BOM):
                        raw = raw[3:]
                yield decoder.decode(raw)
            if tail := decoder.decode(b"", final=True):
                yield tail

    def media(self, name: str) -> bytes | None:
        """The bytes of an attached file, or None when the export does not contain it.

        Raises:
            ImportFileError: the file is in the zip but damaged (CRC mismatch).
        """
        info = self._media.get(name)
        if info is None or self._zip is None:
            return None
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportFileError(self.name, f"attachment {name!r} is damaged ({exc})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
