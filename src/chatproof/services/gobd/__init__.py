"""The GoBD data handover (Z3): export, its tables, and the check of index.xml."""

from chatproof.services.gobd.export import (
    ExportContext,
    ExportRefused,
    ExportRequest,
    ExportSummary,
    export_gobd,
)
from chatproof.services.gobd.validate import IndexInvalid, official_dtd, validate_index

__all__ = [
    "ExportContext",
    "ExportRefused",
    "ExportRequest",
    "ExportSummary",
    "IndexInvalid",
    "export_gobd",
    "official_dtd",
    "validate_index",
]
