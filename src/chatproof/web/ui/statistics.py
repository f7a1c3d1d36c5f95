"""The statistics page: per day or week and per agent, charts drawn on the server, and the
same figures as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatproof.domain.accounts import Permission
from chatproof.domain.errors import DomainError
from chatproof.domain.statistics import Period
from chatproof.services import statistics
from chatproof.web.auth import Browser
from chatproof.web.ui.charts import bar_chart
from chatproof.web.ui.i18n import translate
from chatproof.web.ui.pages import language_of, page_for, render

router = APIRouter()
Lead = Annotated[Browser, Depends(page_for(Permission.STATISTICS))]
DEFAULT_DAYS = 14


def _report(
    request: Request, browser: Browser, start: date | None, end: date | None, period: str
) -> statistics.Report:
    components = request.app.state.components
    today = datetime.now(UTC).astimezone(components.timezone).date()
    last = end or today
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return statistics.report(
            components.reader, browser.principal, first, last, Period(period), components.timezone
        )
    except (DomainError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None


Start = Annotated[date | None, Query(alias="from")]
End = Annotated[date | None, Query(alias="to")]
PeriodParam = Annotated[str, Query(pattern="^(day|week)$")]


@router.get("/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    browser: Lead,
    start: Start = None,
    end: End = None,
    period: PeriodParam = "day",
) -> Response:
    found = _report(request, browser, start, end, period)
    language = language_of(request, browser)

    def t(key: str) -> str:
        return translate(language, key)

    labels = [b.start.strftime("%d.%m." if language == "de" else "%m-%d") for b in found.buckets]

    def series(*names: str) -> dict[str, list[float]]:
        return {t(f"stats.{n}"): [b.counts[n] for b in found.buckets] for n in names}

    minutes = {
        t("stats.first_response_median"): [
            (b.first_response_median or 0) / 60 for b in found.buckets
        ],
        t("stats.first_response_p90"): [(b.first_response_p90 or 0) / 60 for b in found.buckets],
    }
    charts = [
        bar_chart(t("stats.messages"), labels, series("received", "sent")),
        bar_chart(t("stats.delivery"), labels, series("delivered", "read", "failed")),
        bar_chart(t("stats.times"), labels, minutes, " min"),
        bar_chart(t("stats.conversations"), labels, series("opened", "closed")),
        bar_chart(t("stats.consent"), labels, series("opt_ins", "opt_outs", "refused")),
    ]
    context = {"report": found, "charts": charts, "labels": labels, "period": period}
    return render(request, "statistics.html", context, browser=browser)


@router.get("/statistics.csv")
def statistics_csv(
    request: Request,
    browser: Lead,
    start: Start = None,
    end: End = None,
    period: PeriodParam = "day",
) -> Response:
    found = _report(request, browser, start, end, period)
    out = io.StringIO()
    csv.writer(out).writerows(statistics.csv_rows(found))
    name = f"chatproof-statistics-{found.first}-{found.last}-{period}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
