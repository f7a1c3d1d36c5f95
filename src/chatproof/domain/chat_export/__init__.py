"""Reading WhatsApp "Export chat" files (DESIGN: a company still on phones imports its chats
into the same archive): line grammar, format detection and the messages of a chat."""

from chatproof.domain.chat_export.detect import SAMPLE_LINES, detect
from chatproof.domain.chat_export.errors import UnrecognisedExport
from chatproof.domain.chat_export.model import (
    BadLine,
    ChatMessage,
    DateOrder,
    Detection,
    ExportFormat,
    Kind,
    Platform,
)
from chatproof.domain.chat_export.naming import InvalidPhoneNumber, number_in_file_name, wa_id_of
from chatproof.domain.chat_export.parse import parse, parse_batches

__all__ = [
    "SAMPLE_LINES",
    "BadLine",
    "ChatMessage",
    "DateOrder",
    "Detection",
    "ExportFormat",
    "InvalidPhoneNumber",
    "Kind",
    "Platform",
    "UnrecognisedExport",
    "detect",
    "number_in_file_name",
    "parse",
    "parse_batches",
    "wa_id_of",
]
