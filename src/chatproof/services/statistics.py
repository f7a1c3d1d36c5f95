"""Team statistics per day or week and per agent: messages received, sent, delivered, read and
failed; first-response and resolution times (median, p90); conversations opened and closed;
opt-ins and opt-outs; sends the policy gate refused, by rule. Counts only: no personal
content is read, so viewing statistics is not a read of the archive."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatproof.domain.accounts import Permission, Principal
from chatproof.domain.statistics import (
    COUNTERS,
    Bucket,
    Period,
    bucket_start,
    buckets_between,
    check_range,
    first_responses,
)
from chatproof.services.inbox import NotAllowed
from chatproof.store import UnitOfWork


@dataclass(frozen=True)
class AgentRow:
    actor: str
    sent: int
    refused: int


@dataclass(frozen=True)
class Report:
    period: Period
    first: date
    last: date
    buckets: list[Bucket]
    agents: list[AgentRow]
    refused_by_rule: dict[str, int]


def report(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    first: date,
    last: date,
    period: Period,
    tz: ZoneInfo,
) -> Report:
    """Raises StatisticsInputError for a bad range, NotAllowed without the permission."""
    if not principal.may(Permission.STATISTICS):
        raise NotAllowed(f"{principal.actor} may not see statistics")
    check_range(first, last)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    with uow_factory() as uow:
        stats = uow.statistics
        messages = stats.messages(start, end)
        opened = stats.opened(start, end)
        closed = stats.closed(start, end)
        consents = stats.consents(start, end)
        sends = stats.sends(start, end)
    buckets = buckets_between(first, last, period)
    by_start = {b.start: b for b in buckets}

    def into(moment: datetime) -> Bucket | None:
        return by_start.get(bucket_start(moment, period, tz))

    for _, direction, at, state in messages:
        bucket = into(at)
        if bucket is None:
            continue
        if direction == "inbound":
            bucket.counts["received"] += 1
            continue
        bucket.counts["sent"] += 1
        if state in ("delivered", "read"):
            bucket.counts["delivered"] += 1
        if state == "read":
            bucket.counts["read"] += 1
        if state == "failed":
            bucket.counts["failed"] += 1
    for asked, seconds in first_responses((c, d, at) for c, d, at, _ in messages):
        if (bucket := into(asked)) is not None:
            bucket.first_response.append(seconds)
    for at in opened:
        if (bucket := into(at)) is not None:
            bucket.counts["opened"] += 1
    for at, seconds in closed:
        if (bucket := into(at)) is not None:
            bucket.counts["closed"] += 1
            if seconds is not None:
                bucket.resolution.append(seconds)
    for at, action in consents:
        if (bucket := into(at)) is not None:
            bucket.counts["opt_ins" if action == "granted" else "opt_outs"] += 1
    refused_by_rule: Counter[str] = Counter()
    sent_by: Counter[str] = Counter()
    refused_by: Counter[str] = Counter()
    for at, actor, state, rule in sends:
        if state == "refused":
            refused_by_rule[rule or "?"] += 1
            refused_by[actor] += 1
            if (bucket := into(at)) is not None:
                bucket.counts["refused"] += 1
        else:
            sent_by[actor] += 1
    agents = [
        AgentRow(actor, sent_by[actor], refused_by[actor])
        for actor in sorted(set(sent_by) | set(refused_by))
    ]
    return Report(period, first, last, buckets, agents, dict(refused_by_rule.most_common()))


def csv_rows(found: Report) -> list[list[str]]:
    """The report as rows for a CSV file, first row the header."""
    header = [
        "period_start",
        *COUNTERS,
        "first_response_median_s",
        "first_response_p90_s",
        "resolution_median_s",
        "resolution_p90_s",
    ]
    rows = [header]
    for bucket in found.buckets:
        timings = (
            bucket.first_response_median,
            bucket.first_response_p90,
            bucket.resolution_median,
            bucket.resolution_p90,
        )
        rows.append(
            [
                bucket.start.isoformat(),
                *(str(v) for v in bucket.counts.values()),
                *("" if v is None else f"{v:.0f}" for v in timings),
            ]
        )
    return rows
