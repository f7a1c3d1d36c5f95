"""Errors of importing chat exports.

ServiceError
└── ImportFileError          the file cannot be imported at all (nothing was stored)
"""

from __future__ import annotations

from chatproof.services.errors import ServiceError


class ImportFileError(ServiceError):
    def __init__(self, file_name: str, problem: str) -> None:
        self.file_name = file_name
        self.problem = problem
        super().__init__(f"{file_name}: {problem}")
