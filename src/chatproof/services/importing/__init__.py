"""Importing WhatsApp "Export chat" files into the archive."""

from chatproof.services.importing.errors import ImportFileError
from chatproof.services.importing.source import ExportFile
from chatproof.services.importing.use_case import (
    ImportOptions,
    ImportSummary,
    contact_of,
    detect_format,
    import_export,
    import_exports,
    preview,
)

__all__ = [
    "ExportFile",
    "ImportFileError",
    "ImportOptions",
    "ImportSummary",
    "contact_of",
    "detect_format",
    "import_export",
    "import_exports",
    "preview",
]
