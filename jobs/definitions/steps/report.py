"""The report step: write one of the standard reports as a CSV file in the run's folder.

Settings:

- ``report``: ``inbound``, ``call``, ``campaign``, ``agent`` or ``billing`` (what each
  column means: :mod:`jobs.reports.definition_reports`);
- ``scope``: ``call_centre`` (every client, the default), ``client`` (one client, named
  by ``client``: its name or code), or ``campaign_client`` (in a run fired by the end of a
  campaign: that campaign's client);
- ``period``: the days covered, counted from the run's business day (the due time's date in
  the definition's time zone): ``business_day`` (the default), ``previous_day``,
  ``last_7_days`` and ``last_30_days`` (ending with the business day), ``month_to_date``,
  ``previous_month``, or ``campaign`` (in a campaign run: from the campaign's first day to
  its last).

The file is ``<run folder>/<definition>-<report>-<business day>.csv`` (the definition's name
made safe for a file name), written whole or not at all (a temporary file, renamed); it is
the step's output, which a following email or copy step delivers.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jobs.definitions.steps.base import DeclaredStep, StepContext, StepOutcome, param
from jobs.errors import InvalidInput
from jobs.models import Campaign, Client, DefinitionRun
from jobs.reports import definition_reports as reports
from jobs.reports.definition_reports import Period

SCOPES = {
    "call_centre": "Call centre (all clients)",
    "client": "One client",
    "campaign_client": "The client of the campaign that ended (campaign runs)",
}
PERIODS = {
    "business_day": "the business day",
    "previous_day": "the day before",
    "last_7_days": "the last 7 days",
    "last_30_days": "the last 30 days",
    "month_to_date": "the month to date",
    "previous_month": "the previous month",
    "campaign": "the campaign",
}


@dataclass(frozen=True)
class ReportSettings:
    report: str | None = param(label="Report", choices=tuple(reports.REPORTS))
    scope: str | None = param(label="Scope", choices=tuple(SCOPES), default="call_centre")
    client: str | None = param(
        label="Client",
        required=False,
        default="",
        max_length=128,
        help="The client's name or code (scope client)",
        suggestions=lambda session: list(
            session.scalars(select(Client.name).order_by(Client.name))
        ),
    )
    period: str | None = param(label="Period", choices=tuple(PERIODS), default="business_day")


class ReportStep(DeclaredStep):
    """Write a standard report as CSV (see the module's docstring)."""

    kind = "report"
    label = "Report"
    Settings = ReportSettings

    def validate(self, values: dict[str, Any], session: Session | None) -> dict[str, Any]:
        if values["scope"] == "client":
            if not values["client"]:
                raise InvalidInput("Client is needed for a report of one client", field="client")
            values = {**values, "client": _client(values["client"], session)[1]}
        elif values["client"]:
            raise InvalidInput(
                "A call-centre report covers every client; choose scope client to name one",
                field="client",
            )
        return values

    def describe(self, settings: dict[str, Any]) -> str:
        report = reports.LABELS.get(settings.get("report", ""), "Report")
        who = {
            "client": f"client {settings.get('client')}",
            "campaign_client": "the campaign's client",
        }.get(settings.get("scope", ""), "all clients")
        return f"{report}, {who}, {PERIODS.get(settings.get('period', ''), 'the business day')}"

    def run(self, ctx: StepContext) -> StepOutcome:
        try:
            with ctx.db.read() as session:
                settings = self.check(ctx.settings, session)
                scope, period_name = settings["scope"], settings["period"]
                campaign = (
                    _campaign(session, ctx.job_id) if "campaign" in (scope, period_name) else None
                )
                client_id, who = None, "all clients"
                if scope == "client":
                    client_id, name = _client(settings["client"], session)
                    who = f"client {name}"
                elif scope == "campaign_client":
                    client_id, who = campaign.client_id, f"the client of {campaign.name}"
                    if client_id is None:
                        who = f"all clients ({campaign.name} names none)"
                if period_name == "campaign":
                    period = _campaign_period(campaign, ctx.business_day, ctx.timezone)
                else:
                    period = period_of(period_name, ctx.business_day, ctx.timezone)
                table = reports.build(session.connection(), settings["report"], period, client_id)
        except InvalidInput as bad:
            return StepOutcome.failed(str(bad))
        path = Path(ctx.run_dir) / file_name(
            ctx.definition_name, settings["report"], ctx.business_day
        )
        write_csv(path, table)
        label = reports.LABELS[settings["report"]]
        rows = len(table.rows)
        return StepOutcome(
            ok=True,
            message=f"{label} ({who}, {period.text()}): {rows:,} row{'s' if rows != 1 else ''} "
            f"written to {path}",
            output=str(path),
        )


def _campaign(session: Session, job_id: int) -> Campaign:
    """The campaign whose end fired this run.

    Raises:
      InvalidInput: the run was not fired by the end of a campaign.
    """
    detail = session.scalar(select(DefinitionRun.detail).where(DefinitionRun.job_id == job_id))
    campaign_id = (detail or {}).get("campaign_id")
    campaign = session.get(Campaign, campaign_id) if isinstance(campaign_id, int) else None
    if campaign is None:
        raise InvalidInput(
            "This run was not fired by the end of a campaign, so there is no campaign to "
            "report on (scope campaign_client and period campaign are for campaign runs)"
        )
    return campaign


def _campaign_period(campaign: Campaign, business_day: dt.date, timezone: str) -> Period:
    """From the campaign's first day to its last (the business day while it runs)."""
    zone = ZoneInfo(timezone)
    first = campaign.started_at.astimezone(zone).date()
    last = campaign.ended_at.astimezone(zone).date() if campaign.ended_at else business_day
    return Period(min(first, last), last, timezone)


def period_of(period: str, business_day: dt.date, timezone: str = "UTC") -> Period:
    """The days a report covers, from the run's business day."""
    day = business_day
    if period == "previous_day":
        first = last = day - dt.timedelta(days=1)
    elif period == "last_7_days":
        first, last = day - dt.timedelta(days=6), day
    elif period == "last_30_days":
        first, last = day - dt.timedelta(days=29), day
    elif period == "month_to_date":
        first, last = day.replace(day=1), day
    elif period == "previous_month":
        last = day.replace(day=1) - dt.timedelta(days=1)
        first = last.replace(day=1)
    else:
        first = last = day
    return Period(first, last, timezone)


def file_name(definition: str, report: str, day: dt.date) -> str:
    """``<definition>-<report>-<day>.csv`` with the name made safe for any file system."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", definition).strip("-.") or "definition"
    return f"{safe[:80]}-{report}-{day.isoformat()}.csv"


def write_csv(path: Path, table: reports.Table) -> None:
    """Write the report whole or not at all (a temporary file in the folder, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(table.columns)
            writer.writerows(table.rows)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _client(name: str, session: Session | None) -> tuple[int, str]:
    """The client called (or coded) ``name``: its id and name."""
    if session is None:
        from jobs import runtime

        with runtime.database().read() as own:
            return _client(name, own)
    wanted = name.strip().lower()
    found = session.execute(
        select(Client.id, Client.name).where(
            or_(func.lower(Client.name) == wanted, func.lower(Client.code) == wanted)
        )
    ).first()
    if found is None:
        known = list(session.scalars(select(Client.name).order_by(Client.name).limit(8)))
        raise InvalidInput(
            f"There is no client called {name!r}"
            + (f"; clients are, for example: {', '.join(known)}" if known else ""),
            field="client",
        )
    return found.id, found.name
