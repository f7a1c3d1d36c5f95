"""The GoBD data handover (Z3): export, its tables, and the check of index.xml."""

from chatproof.services.gobd.export import (
    ExportContext,
    ExportRefused,
    ExportRequest,
    export_gobd,
)
from chatproof.services.gobd.summary import ExportSummary
from chatproof.services.gobd.table_writer import WorkerSetup
from chatproof.services.gobd.validate import IndexInvalid, official_dtd, validate_index

__all__ = [
    "ExportContext",
    "ExportRefused",
    "ExportRequest",
    "ExportSummary",
    "IndexInvalid",
    "WorkerSetup",
    "export_gobd",
    "official_dtd",
    "validate_index",
]
