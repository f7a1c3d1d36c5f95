"""The database side of one export's import: it answers the sealing side's proposals (which
messages are stored already, which log indexes to use) and writes what comes back sealed — log
entries and message rows — with the data keys wrapped under the contact's bucket keys and the
Merkle subtrees the entries complete, in the caller's transaction (DESIGN invariants 2, 3, 4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatproof.archive.merkle import Frontier
from chatproof.services.importing.entries import message_entries
from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.sealing import Plan, Proposal, SealedChunk
from chatproof.store.imports import ImportedContact, ImportUnitOfWork


class ImportRun:
    def __init__(
        self,
        uow: ImportUnitOfWork,
        file_name: str,
        contact: ImportedContact,
        start: Callable[[], int],
        now: datetime,
    ) -> None:
        self.uow = uow
        self.file_name = file_name
        self.contact = contact
        self._start = start
        self.now = now
        self.import_id: int | None = None
        """Set when the first new message is planned: an import that adds nothing writes
        nothing."""
        self._next_index: int | None = None
        self._frontier: Frontier | None = None
        # A conversation without messages holds no fingerprint to look up.
        self._check_known = uow.imports.has_messages(contact.conversation_id)
        self.earlier_fingerprints = self._check_known and uow.imports.has_unordered_fingerprints(
            contact.conversation_id
        )

    def plan(self, proposal: Proposal) -> Plan:
        fingerprints = proposal.fingerprints
        known: frozenset[int] = frozenset()
        if self._check_known:
            found = self.uow.imports.known(fingerprints)
            known = frozenset(i for i, f in enumerate(fingerprints) if f in found)
            if proposal.earlier_fingerprints is not None:
                earlier = self.uow.imports.known(proposal.earlier_fingerprints)
                known |= {i for i, f in enumerate(proposal.earlier_fingerprints) if f in earlier}
        fresh = len(fingerprints) - len(known)
        if not fresh:
            return Plan(known, 0, self.import_id or 0)
        if self.import_id is None:
            self.import_id = self._start()
        if self._next_index is None:
            # The log stays locked to this transaction from here on, so the indexes planned
            # now are the ones the entries get.
            size = self.uow.log.lock_size()
            self._frontier = Frontier.read(size, self.uow.log.node)
            self._next_index = size
        first = self._next_index
        self._next_index += fresh
        return Plan(known, first, self.import_id)

    def write(self, chunk: SealedChunk) -> None:
        """Raises ImportFileError if a row turns out to be stored already (an import of the
        same chat committed meanwhile): the whole import is undone."""
        if not chunk.times:
            return
        uow = self.uow
        assert self.import_id is not None
        sealer, subject = uow.personal.sealer, self.contact.subject_id
        for start_year, keys in chunk.data_keys:
            sealer.wrap_data_keys(subject, start_year, keys)
        entries = message_entries(
            chunk.messages, chunk.times, self.import_id, subject, sealer.retention_class
        )
        uow.log.add_entries(entries, self.now)
        assert self._frontier is not None
        uow.log.add_nodes(self._frontier.append([entry[5] for entry in entries]))
        ids = uow.imports.add_messages(self.import_id, chunk.messages)
        if len(ids) != len(entries):
            raise ImportFileError(
                self.file_name, "the same chat was imported meanwhile; run the import again"
            )
        # Data keys are written as the import goes, not all at the commit: memory stays
        # flat however long the chat is.
        uow.personal.sealer.flush()

    def close(self) -> None:
        """Record the log's new size once every planned entry is written."""
        if self._next_index is not None:
            self.uow.log.set_size(self._next_index)
