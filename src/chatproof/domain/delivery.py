"""The delivery state of an outbound message only ever moves forward.

Status webhooks arrive at least once and in any order (reference §1.5); applying them through
``advance`` makes the outcome independent of arrival order: sent < delivered < read < played,
and failed is final.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


_RANK = {
    DeliveryState.ACCEPTED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.DELIVERED: 2,
    DeliveryState.READ: 3,
    DeliveryState.PLAYED: 4,
}


def parse_state(value: str) -> DeliveryState | None:
    """The state for a platform status string, or None for one chatproof does not track."""
    try:
        return DeliveryState(value.lower())
    except ValueError:
        return None


def advance(current: DeliveryState | None, reported: DeliveryState) -> DeliveryState | None:
    """The state after ``reported`` arrives, or None when it changes nothing."""
    if current is DeliveryState.FAILED or reported == current:
        return None
    if current is None or reported is DeliveryState.FAILED:
        return reported
    return reported if _RANK[reported] > _RANK[current] else None
