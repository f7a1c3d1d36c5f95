"""Sealing with every master key version on disk: the key stores of all transactions wrap new
bucket keys under the current version and still open those wrapped under an older one, so the
archive opens before, during and after a master key rotation (DESIGN invariant 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chatproof.archive.keystore import KeyRepository, KeyStore
from chatproof.store.personal import SealingPolicy


@dataclass(frozen=True)
class VersionedSealingPolicy(SealingPolicy):
    master_version: int = 1
    older_master_keys: Mapping[int, bytes] = field(default_factory=dict, repr=False)

    def keystore(self, repository: KeyRepository) -> KeyStore:
        return KeyStore(
            repository,
            self.master_key,
            master_version=self.master_version,
            older_master_keys=self.older_master_keys,
            cache=self.cache,
        )
