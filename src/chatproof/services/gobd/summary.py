"""What an export wrote, counted; printed by the command and kept as ``summary.json``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportSummary:
    folder: str
    zip: str | None
    start: str
    end: str
    messages: int = 0
    contacts: int = 0
    statuses: int = 0
    consent_events: int = 0
    media_files: int = 0
    media_missing: int = 0
    erased: int = 0
    not_tax_relevant: int = 0
    first_entry: int | None = None
    end_entry: int | None = None
    tree_size: int = 0
    procedure_versions: int = 0
    tax_relevant_classes: list[str] = field(default_factory=list)
