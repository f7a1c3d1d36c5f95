"""Imported chats through the read API: the conversation and its messages are there, marked
as imported, with no customer-service window."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.services.importing import ExportFile, ImportOptions, import_export
from chatproof.store.imports import SqlAlchemyImportUnitOfWork

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "chat_export" / "ios-en-12h.txt"


async def test_imported_messages_are_served_marked_as_imported(
    client: httpx.AsyncClient, components: Components, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "WhatsApp Chat with +1 650-555-1234.txt"
    path.write_bytes(SAMPLE.read_bytes())
    export = ExportFile(path)
    import_export(
        partial(
            SqlAlchemyImportUnitOfWork,
            components.engine,
            components.sealing,
            components.pseudonyms,
        ),
        components.blobs,
        export,
        ImportOptions("Bike Shop"),
        tz=components.timezone,
        actor="test",
        now=datetime.now(UTC),
    )
    export.close()
    headers = {"Authorization": f"Bearer {settings.server.api_token}"}

    (conversation,) = (await client.get("/api/conversations", headers=headers)).json()["items"]
    assert conversation["phone_masked"] == "+1 650 ••• 1234"
    assert conversation["service_window_ends"] is None
    url = f"/api/conversations/{conversation['id']}/messages"
    items = (await client.get(url, headers=headers)).json()["items"]
    shown = [(m["direction"], m["type"], m["text"]) for m in reversed(items)]
    assert shown[1:3] == [
        ("inbound", "import.message", "Do you repair e-bikes?"),
        ("outbound", "import.message", "We do."),
    ]
    assert all(m["raw"]["source"] == "import" for m in items)
