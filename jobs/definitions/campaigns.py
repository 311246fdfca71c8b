"""Campaigns: a small table whose rows end once; the end of a campaign is the event the
campaign definition runs on (``jobs.scheduler.triggers.campaign_ended``, called by the
service after the end is committed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from jobs.errors import ActionNotAllowed, InvalidInput, NotFound
from jobs.models import Campaign, Client, User, utcnow
from jobs.reports.queries import Page, check_page_request

NAME_MAX = 120
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    client: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    ended_by: str | None


@dataclass(frozen=True)
class CampaignEnded:
    """A campaign just ended, and the campaign definition's run it fired (None: none)."""

    campaign: CampaignRow
    job_id: int | None


#: The orders a list of campaigns is read in; "" is running ones first, then newest first.
SORTS: dict[str, Any] = {
    "": None,
    "id": Campaign.id,
    "name": func.lower(Campaign.name),
    "client": Client.code,
    "started": Campaign.started_at,
    "ended": Campaign.ended_at,
}
#: The most campaigns one page holds.
PAGE_SIZE_LIMIT = 500


def _where(show_ended: bool, ids: list[int] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not show_ended:
        conditions.append(Campaign.ended_at.is_(None))
    if ids is not None:
        conditions.append(Campaign.id.in_(ids))
    return conditions


def _rows(session: Session, query: Select[Any]) -> list[CampaignRow]:
    return [
        CampaignRow(
            id=c.id,
            name=c.name,
            client=code,
            started_at=c.started_at,
            ended_at=c.ended_at,
            ended_by=who,
        )
        for c, code, who in session.execute(query)
    ]


def _select(sort: str = "", descending: bool = False) -> Select[Any]:
    ender = aliased(User)
    key = SORTS[sort]
    if key is None:
        order = [Campaign.ended_at.is_not(None), Campaign.started_at.desc(), Campaign.id.desc()]
    else:
        order = [
            key.desc().nulls_last() if descending else key.asc().nulls_first(),
            Campaign.id.desc() if descending else Campaign.id,
        ]
    return (
        select(Campaign, Client.code, ender.display_name)
        .outerjoin(Client, Client.id == Campaign.client_id)
        .outerjoin(ender, ender.id == Campaign.ended_by_id)
        .order_by(*order)
    )


def rows(
    session: Session, *, show_ended: bool = True, ids: list[int] | None = None
) -> list[CampaignRow]:
    """Campaigns, running ones first, then newest first (every one: for the CLI's list and
    for reading back a few by id; the dashboard reads pages, :func:`page`)."""
    return _rows(session, _select().where(*_where(show_ended, ids)))


def page(
    session: Session,
    *,
    page: int = 1,
    page_size: int = 10,
    sort: str = "",
    descending: bool = False,
) -> Page[CampaignRow]:
    """One page of campaigns sorted in SQL by ``sort`` (:data:`SORTS`; "": running ones
    first, then newest first), and how many there are.

    Raises:
      InvalidInput: an unknown sort key (field ``sort``) or a page size out of range.
    """
    check_page_request("campaigns", sort, list(SORTS), page_size, PAGE_SIZE_LIMIT)
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(Campaign)) or 0
    query = _select(sort, descending).limit(page_size).offset((page - 1) * page_size)
    return Page(_rows(session, query), int(total), page, page_size)


def find(session: Session, id_or_name: int | str) -> Campaign:
    """The campaign with this id or name.

    Raises:
      NotFound: naming what was asked for.
    """
    text = " ".join(str(id_or_name).split())
    found = None
    if text.isdigit() and 1 <= int(text) <= _MAX_ID:
        found = session.get(Campaign, int(text))
    if found is None:
        found = session.scalar(select(Campaign).where(Campaign.name == text))
    if found is None:
        raise NotFound(f"There is no campaign called {text!r}")
    return found


def create(session: Session, name: str, client: str | None = None) -> Campaign:
    """A new, running campaign.

    Raises:
      InvalidInput: field ``name`` (empty, too long, taken) or ``client`` (unknown code).
    """
    clean = " ".join((name or "").split())
    if not clean:
        raise InvalidInput("Give the campaign a name", field="name")
    if len(clean) > NAME_MAX:
        raise InvalidInput(
            f"The name is {len(clean)} characters long; the limit is {NAME_MAX}", field="name"
        )
    if clean.isdigit():
        raise InvalidInput("A campaign's name cannot be only a number (ids are)", field="name")
    if session.scalar(select(Campaign.id).where(Campaign.name == clean)) is not None:
        raise InvalidInput(f"There is already a campaign called {clean!r}", field="name")
    client_id = None
    code = (client or "").strip()
    if code:
        client_id = session.scalar(
            select(Client.id).where((Client.code == code.upper()) | (Client.name == code))
        )
        if client_id is None:
            known = ", ".join(session.scalars(select(Client.code).order_by(Client.code)))
            raise InvalidInput(f"Unknown client {code!r}; expected one of: {known}", field="client")
    campaign = Campaign(name=clean, client_id=client_id, started_at=utcnow())
    session.add(campaign)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidInput(f"There is already a campaign called {clean!r}", field="name") from None
    return campaign


def end(session: Session, campaign: Campaign, actor_id: int) -> None:
    """Mark the campaign ended, by whom, now (once: of two people ending it at the same
    moment, one is told it has ended already).

    Raises:
      ActionNotAllowed: it has ended already (saying when and by whom).
    """
    at = utcnow()
    done = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.ended_at.is_(None))
        .values(ended_at=at, ended_by_id=actor_id)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.refresh(campaign)
        who = session.scalar(select(User.display_name).where(User.id == campaign.ended_by_id))
        when = f" on {campaign.ended_at:%Y-%m-%d %H:%M} UTC" if campaign.ended_at else ""
        raise ActionNotAllowed(
            f"Campaign {campaign.name!r} has already ended{when}" + (f" ({who})" if who else "")
        )
    campaign.ended_at = at
    campaign.ended_by_id = actor_id
