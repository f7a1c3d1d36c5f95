"""The webhook bodies published with the platform's OpenAPI description and a client
library's fixtures, read from the shared reference folder next to the repository."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(
    os.environ.get(
        "CHATPROOF_REFERENCE_DIR",
        Path(__file__).resolve().parents[3] / "shared" / "reference",
    )
)
SAMPLES_DIR = REFERENCE / "whatsapp-webhook-samples"
OPENAPI_DIR = REFERENCE / "whatsapp-openapi"


@cache
def webhook_samples() -> dict[str, dict[str, Any]]:
    """``{"file/example": body}`` for all 74 fixture bodies and the 16 OpenAPI examples."""
    if not SAMPLES_DIR.is_dir():
        raise RuntimeError(f"reference samples not found at {SAMPLES_DIR}")
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(SAMPLES_DIR.glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            found[f"{path.stem}/{name}"] = body
    examples = json.loads((OPENAPI_DIR / "webhook_examples_extracted.json").read_text())
    for name, body in examples.items():
        found[f"openapi/{name}"] = body
    return found


def sample_body(name: str) -> bytes:
    return json.dumps(webhook_samples()[name], ensure_ascii=False).encode()
