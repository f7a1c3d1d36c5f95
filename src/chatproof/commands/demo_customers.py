"""Simulated customers who keep writing while ``chatproof demo`` runs, so the inbox shows
messages arriving live."""

from __future__ import annotations

import httpx

from chatproof.emulator.demo import DEMO_CUSTOMERS

LINES = (
    "Kurze Frage: Haben Sie samstags geöffnet?",
    "Danke, das Paket ist angekommen!",
    "Can I change the delivery address?",
    "Ich hätte gern eine Rechnung für Bestellung 4711.",
    "Is the blue one back in stock?",
    "Können Sie mich morgen zurückrufen?",
)


def a_customer_writes(emulator_base: str, turn: int) -> bool:
    """The ``turn``-th live message, from the customers in turn; False if the emulator did
    not take it (the demo carries on)."""
    customer = DEMO_CUSTOMERS[turn % len(DEMO_CUSTOMERS)]["wa_id"]
    body = {"type": "text", "text": {"body": LINES[turn % len(LINES)]}}
    try:
        response = httpx.post(
            f"{emulator_base}/_emulator/customers/{customer}/messages", json=body, timeout=5
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 201
