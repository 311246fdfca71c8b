"""The service API: what the apps, the notebooks and the CLI call.

Every method takes the acting user and checks their permissions itself; the screens only
reflect what these methods allow. Errors are :class:`jobs.errors.BulkdeskError` subclasses
whose message is a sentence for the person who acted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from jobs import audit, runtime
from jobs.actions import ACTIONS, BulkAction, DryRun, get_action
from jobs.actions.params import Field, dump
from jobs.actions.undo import REVERSIBLE
from jobs.comms import action as comms
from jobs.comms import approvals
from jobs.comms import store as comms_store
from jobs.db import Database
from jobs.engine import ending, overlap
from jobs.errors import ActionNotAllowed, InvalidInput, NotFound, PermissionDenied
from jobs.exports import templates as export_templates
from jobs.exports.templates import TemplateView
from jobs.grid import preferences as grid_preferences
from jobs.grid import query as grid
from jobs.grid.preferences import GridPreferences
from jobs.grid.query import GridPage
from jobs.models import (
    Account,
    AccountStatus,
    Group,
    GroupMember,
    Interaction,
    ItemOutcome,
    Job,
    User,
    utcnow,
)
from jobs.people import permissions
from jobs.people.permissions import Actor, ActorLike
from jobs.reports import queries
from jobs.reports.queries import ItemRow, JobDetail, JobFilter, JobSummary, Page
from jobs.sources import AccountFilter, AccountSelection, JobItemsSource, Source
from jobs.status import JobStatus
from jobs.worker import broker as worker_broker
from jobs.worker import registry
from jobs.worker.reaper import Reaper

if TYPE_CHECKING:
    from jobs.definitions.service import DefinitionService
    from jobs.people.profile import Profile
    from jobs.reports.audit_report import AuditReport

log = logging.getLogger(__name__)

DESCRIPTION_MAX = 200


class JobService:
    """Bulkdesk's one service API over one database.

    Parameters:
      db: the database; by default the process's configured one.
    """

    def __init__(self, db: Database | None = None) -> None:
        self.db = db or runtime.database()

    @property
    def definitions(self) -> DefinitionService:
        """Job definitions and campaigns (:class:`jobs.definitions.service.DefinitionService`)."""
        from jobs.definitions.service import DefinitionService

        return DefinitionService(self)

    # -- people ------------------------------------------------------------------------

    def actor(self, who: ActorLike) -> Actor:
        """The user called ``who`` (or ``who`` itself), as the service sees them.

        Raises:
          NotFound: when there is no active user of that name.
        """
        if isinstance(who, Actor):
            return who
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.username == who.strip()))
            if user is None or not user.active:
                raise NotFound(f"There is no user called {who!r}")
            return _actor(user)

    def users(self) -> list[Actor]:
        with self.db.read() as session:
            return [_actor(u) for u in session.scalars(select(User).order_by(User.username))]

    # -- what to act on ----------------------------------------------------------------

    def groups(self, actor: ActorLike) -> list[dict[str, Any]]:
        """Every group with its kind; static groups with their member counts."""
        self.actor(actor)
        with self.db.read() as session:
            sizes = dict(
                session.execute(
                    select(GroupMember.group_id, func.count()).group_by(GroupMember.group_id)
                ).all()
            )
            return [
                {
                    "id": g.id,
                    "name": g.name,
                    "kind": g.kind,
                    "description": g.description,
                    "members": sizes.get(g.id, 0) if g.kind == "static" else None,
                }
                for g in session.scalars(select(Group).order_by(Group.name))
            ]

    def group_id(self, name_or_id: int | str) -> int:
        """Resolve a group given by id or name.

        Raises:
          NotFound: naming the group that does not exist.
        """
        with self.db.read() as session:
            if isinstance(name_or_id, int) or str(name_or_id).isdigit():
                number = int(name_or_id)
                group = session.get(Group, number) if 1 <= number <= MAX_ID else None
            else:
                group = session.scalar(select(Group).where(Group.name == name_or_id))
            if group is None:
                raise NotFound(f"Group {name_or_id!r} does not exist")
            return group.id

    def count_targets(self, actor: ActorLike, source: Source) -> int:
        """How many items ``source`` yields now (the launch form's live count).

        Raises:
          InvalidInput, NotFound: for a source that submit would refuse (no criteria, or a
            value that names nothing), naming what is wrong.
        """
        self.actor(actor)
        with self.db.read() as session:
            source.check(session)
            return source.count(session)

    def account_selection(
        self,
        *,
        group: int | str | None = None,
        account_filter: AccountFilter | dict[str, Any] | None = None,
        account_ids: list[int] | None = None,
        excluded_ids: list[int] | None = None,
    ) -> AccountSelection:
        """An account selection from a group (name or id), a filter, picked and excluded ids.

        Raises:
          NotFound: for an unknown group. InvalidInput: for a filter value of the wrong kind.
        """
        flt = (
            account_filter
            if isinstance(account_filter, AccountFilter)
            else AccountFilter.from_dict(account_filter)
        )
        return AccountSelection(
            group_id=self.group_id(group) if group not in (None, "") else None,
            filter=flt,
            account_ids=tuple(account_ids or ()),
            excluded_ids=tuple(excluded_ids or ()),
        )

    def account_statuses(self, actor: ActorLike) -> list[str]:
        """Every configured account status (active or not), for filters, in their order."""
        self.actor(actor)
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(AccountStatus.name).order_by(AccountStatus.position, AccountStatus.name)
                )
            )

    def describe_source(self, source: Source) -> str:
        """What a source targets, in words ("group “Dispute review”; status = Open")."""
        with self.db.read() as session:
            return source.describe(session)

    # -- bulk actions ----------------------------------------------------------------------

    def actions(self, actor: ActorLike) -> list[BulkAction]:
        """The bulk actions ``actor`` may launch, in the order the launch page offers them."""
        who = self.actor(actor)
        return [
            a for a in ACTIONS.values() if who.has(a.permission) and getattr(a, "on_accounts", True)
        ]

    def action_fields(self, actor: ActorLike, action: str) -> list[FieldView]:
        """An action's parameters as a form shows them, with their current choices."""
        self.actor(actor)
        bulk_action = get_action(action)
        with self.db.read() as session:
            return [
                FieldView.of(f, f.options(session) or f.suggested(session))
                for f in bulk_action.fields()
            ]

    def dry_run(
        self, actor: ActorLike, action: str, source: Source, parameters: dict[str, Any]
    ) -> DryRun:
        """What ``action`` would do to ``source`` now: how many items it would change, the
        exceptions and why, and examples of before → after. Writes nothing.

        Raises:
          PermissionDenied, InvalidInput, NotFound: as :meth:`submit` would.
        """
        who = self.actor(actor)
        bulk_action = get_action(action)
        permissions.require(who, bulk_action.permission)
        with self.db.read() as session:
            params = bulk_action.validate(parameters, session)
            _require_what_params_need(who, bulk_action, params)
            source.check(session)
            return bulk_action.dry_run(session, source, params)

    def search_accounts(
        self,
        actor: ActorLike,
        flt: AccountFilter,
        *,
        group_id: int | None = None,
        page: int = 1,
        page_size: int = 50,
        sort: str = "file_number",
        descending: bool = False,
    ) -> Page[dict[str, Any]]:
        """One page of accounts matching a filter (and group), sorted on the server over all
        of them (by file number unless ``sort`` names one of :data:`ACCOUNT_SORTS`).

        Raises:
          InvalidInput: for an unknown sort key or a filter value that names nothing.
        """
        self.actor(actor)
        if sort not in ACCOUNT_SORTS:
            raise InvalidInput(
                f"Accounts cannot be sorted by {sort!r}; by one of: {', '.join(ACCOUNT_SORTS)}",
                field="sort",
            )
        column = ACCOUNT_SORTS[sort]
        order = [column.desc() if descending else column.asc(), Account.id.asc()]
        page = max(page, 1)
        page_size = min(max(page_size, 1), queries.MAX_PAGE_SIZE)
        selection = AccountSelection(group_id=group_id, filter=flt)
        with self.db.read() as session:
            flt.check(session)
            ids = selection.account_ids_select(session).subquery()
            total = session.scalar(select(func.count()).select_from(ids)) or 0
            newest_interaction = (
                select(func.max(Interaction.interaction_date))
                .where(Interaction.account_id == Account.id)
                .scalar_subquery()
            )
            rows = session.execute(
                select(Account, newest_interaction)
                .where(Account.id.in_(select(ids.c.id)))
                .order_by(*order)
                .limit(page_size)
                .offset((page - 1) * page_size)
            ).all()
            return Page([_account_row(a, newest) for a, newest in rows], total, page, page_size)

    # -- the account grid (jobs.grid) -----------------------------------------------------

    def account_grid(
        self,
        actor: ActorLike,
        flt: AccountFilter,
        *,
        page: int = 1,
        page_size: int = 25,
        sort: str = "file_number",
        descending: bool = False,
    ) -> GridPage:
        """One page of the account grid: accounts matching ``flt``, sorted on the server over
        all of them by a column of ``jobs.grid.columns`` (the id breaking ties).

        Raises:
          InvalidInput: for a column that cannot be sorted by, or a filter naming nothing.
        """
        self.actor(actor)
        with self.db.read() as session:
            flt.check(session)
            return grid.grid_page(
                session,
                flt.clause(),
                sort=sort,
                descending=descending,
                page=page,
                page_size=page_size,
            )

    def grid_choices(self, actor: ActorLike) -> grid.GridChoices:
        """The clients, portfolios, collectors and statuses the grid's filters offer."""
        self.actor(actor)
        with self.db.read() as session:
            return grid.choices(session)

    def grid_preferences(self, actor: ActorLike) -> GridPreferences:
        """The acting user's remembered grid columns and page size."""
        who = self.actor(actor)
        with self.db.read() as session:
            return grid_preferences.read(session.connection(), who.id)

    def save_grid_preferences(
        self, actor: ActorLike, columns: list[str] | str, page_size: int | None = None
    ) -> GridPreferences:
        """Remember the acting user's optional grid columns (and page size).

        Raises:
          InvalidInput: for a column that is not an optional one.
        """
        who = self.actor(actor)
        with self.db.write_conn() as conn:
            return grid_preferences.save(conn, who.id, columns, page_size)

    # -- exports (jobs.exports) -----------------------------------------------------------

    def export_templates(self, actor: ActorLike) -> list[TemplateView]:
        """The saved export templates, by name."""
        self.actor(actor)
        with self.db.read() as session:
            return export_templates.list_templates(session)

    def save_export_template(
        self,
        actor: ActorLike,
        name: str,
        columns: list[str] | str,
        unmasked: list[str] | str | None = None,
    ) -> TemplateView:
        """Save (or replace) an export template; a template that unmasks needs the unmask
        permission, like an export that does.

        Raises:
          PermissionDenied, InvalidInput: naming what is wrong.
        """
        who = self.actor(actor)
        permissions.require(who, permissions.BULK_UPDATE)
        with self.db.write() as session:
            saved = export_templates.save(session, name, columns, unmasked, who.id)
            if saved.unmasked:
                permissions.require(who, permissions.UNMASK_SENSITIVE)
            audit.record(
                session.connection(),
                "template",
                job_id=None,
                actor_id=who.id,
                summary=f"{who.display_name} saved the export template “{saved.name}”",
                details={"columns": saved.columns, "unmasked": saved.unmasked},
            )
            return saved

    def export_file(self, actor: ActorLike, job_id: int | str) -> Path:
        """The file of a finished export job the actor may see; the download is audited.

        Raises:
          NotFound: for a job that is not an export, not the actor's, or has no file (yet).
        """
        from jobs.actions.export_accounts import EXPORT, export_path

        who = self.actor(actor)
        detail = self.job(who, job_id)
        job_number = detail.summary.id
        with self.db.read() as session:
            job = session.get(Job, job_number)
            action, plan = job.action, job.plan
        path = export_path(plan) if action == "export_accounts" else None
        if path is None or not detail.summary.status.is_final or not path.exists():
            raise NotFound(f"Job {job_number} has no export file to download")
        with self.db.write_conn() as conn:
            audit.record(
                conn,
                EXPORT + "_download",
                job_id=job_number,
                actor_id=who.id,
                summary=f"{who.display_name} downloaded {path.name}",
                details={"file": path.name},
            )
        return path

    # -- jobs ----------------------------------------------------------------------------

    def submit(
        self,
        actor: ActorLike,
        action: str,
        source: Source,
        parameters: dict[str, Any],
        description: str,
        *,
        parent: tuple[int, str] | None = None,
    ) -> JobSummary:
        """Queue a bulk job; it is visible at once and starts when a worker takes it.

        ``parent``: (job id, ``retry`` or ``undo``) for a job made from an earlier one.

        Raises:
          PermissionDenied: when the actor may not run this action.
          InvalidInput: for a bad parameter, description, a source value that names nothing,
            or a source that yields nothing.
          NotFound: for an unknown group.
        """
        who = self.actor(actor)
        bulk_action = get_action(action)
        permissions.require(who, bulk_action.permission)
        description = _clean_description(description)
        heard = _workers_will_hear()
        # A communication by someone without the send permission waits for approval.
        waits = comms.needs_approval(bulk_action, who)
        with self.db.write() as session:
            params = bulk_action.validate(parameters, session)
            _require_what_params_need(who, bulk_action, params)
            source.check(session)
            count = source.count(session)
            if count == 0:
                raise InvalidInput(
                    "The selection matches no accounts; nothing was queued", field="selection"
                )
            bulk_action.check_targets(params, session, source, count)
            clash = overlap.first_overlap(session, source, bulk_action)
            if clash is not None:
                raise InvalidInput(clash.sentence(), field="selection")
            stored = dump(params)
            shown = {**source.as_dict(), "text": source.describe(session), "count_at_submit": count}
            extra = comms.submission_of(bulk_action, params, session)
            job = Job(
                action=bulk_action.name,
                description=description,
                parameters=stored,
                selection=shown,
                owner_id=who.id,
                status=int(JobStatus.AWAITING_APPROVAL if waits else JobStatus.QUEUED),
                submitted_at=(now := utcnow()),
                last_progress_at=now if heard and not waits else None,
                plan=extra.plan,
                not_before=extra.not_before,
                parent_job_id=parent[0] if parent else None,
                link=parent[1] if parent else None,
            )
            session.add(job)
            session.flush()
            audit.record(
                session.connection(),
                audit.SUBMIT,
                job_id=job.id,
                actor_id=who.id,
                summary=f"{who.display_name} submitted job {job.id}: {description}"
                + (" (sent for approval)" if waits else ""),
                details={"action": bulk_action.name, "parameters": stored, "targets": count}
                | ({"awaiting_approval": True} if waits else {}),
            )
            job_id = job.id
        if not waits:
            self._wake(job_id, heard)
        return self.job(who, job_id).summary

    def submit_to_accounts(
        self,
        actor: ActorLike,
        action: str,
        *,
        description: str,
        group: int | str | None = None,
        account_filter: AccountFilter | dict[str, Any] | None = None,
        account_ids: list[int] | None = None,
        excluded_ids: list[int] | None = None,
        **parameters: Any,
    ) -> JobSummary:
        """Queue ``action`` on an account selection (see :meth:`account_selection`), with the
        action's declared parameters as keywords (see :meth:`submit`)."""
        selection = self.account_selection(
            group=group,
            account_filter=account_filter,
            account_ids=account_ids,
            excluded_ids=excluded_ids,
        )
        return self.submit(actor, action, selection, parameters, description)

    def submit_bulk_interaction(self, actor: ActorLike, **kwargs: Any) -> JobSummary:
        """Queue "Add Interaction" (see :meth:`submit_to_accounts`)."""
        return self.submit_to_accounts(actor, "add_interaction", **kwargs)

    def list_jobs(
        self,
        actor: ActorLike,
        flt: JobFilter | None = None,
        *,
        page: int = 1,
        page_size: int = 25,
        sort: str = "submitted",
        descending: bool = True,
        oldest_first: bool = False,
        anchor: queries.JobListPosition | None = None,
    ) -> Page[JobSummary]:
        """One page of the jobs the actor may see (admins all, users their own, never deleted
        ones), the whole filtered list sorted on the server by ``sort`` (newest first by
        default), the job number breaking ties.

        Parameters:
          sort: one of ``jobs.reports.queries.JOB_SORTS``: id, description, submitted,
            started, ended, status, action, owner (the owner's display name).
          oldest_first: the same as ``sort="submitted", descending=False``.
          anchor: the ``anchor`` of the last page read of this list (the Monitor's live
            refresh and pager): the read starts from the nearest place it knows instead of
            skipping every job above the page (see ``queries.list_jobs``).

        Returns:
          The page; ``total`` is exact when ``exact`` is true, else the list has more than
          ``total`` jobs ("more than 10,000"): counting stops a little past the page shown.
          ``anchor`` says where it was read, for the next read.

        Raises:
          InvalidInput: for an unknown sort key (the message names the keys).
        """
        who = self.actor(actor)
        with self.db.read() as session:
            return queries.list_jobs(
                session,
                who,
                flt or JobFilter(),
                page=page,
                page_size=page_size,
                sort=sort,
                descending=descending,
                oldest_first=oldest_first,
                anchor=anchor,
            )

    def export_jobs_csv(
        self,
        actor: ActorLike,
        flt: JobFilter | None = None,
        *,
        sort: str = "submitted",
        descending: bool = True,
    ) -> Iterator[str]:
        """The jobs the filters select, every page, as CSV text in pieces, in the list's order."""
        who = self.actor(actor)

        def lines() -> Iterator[str]:
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(
                [
                    "job",
                    "description",
                    "action",
                    "owner",
                    "status",
                    "submitted",
                    "started",
                    "ended",
                    "total",
                    "ok",
                    "exceptions",
                    "not_processed",
                ]
            )
            with self.db.read() as session:
                jobs = queries.iter_jobs(
                    session, who, flt or JobFilter(), sort=sort, descending=descending
                )
                for n, j in enumerate(jobs, 1):
                    writer.writerow(
                        [
                            j.id,
                            j.description,
                            j.action_label,
                            j.owner,
                            j.status.label,
                            _iso(j.submitted_at),
                            _iso(j.started_at),
                            _iso(j.ended_at),
                            j.total,
                            j.ok,
                            j.exceptions,
                            j.not_processed,
                        ]
                    )
                    if n % 1000 == 0:
                        yield buf.getvalue()
                        buf.seek(0)
                        buf.truncate()
            yield buf.getvalue()

        return lines()

    def job(self, actor: ActorLike, job_id: int) -> JobDetail:
        """A job's detail.

        Raises:
          NotFound: for an unknown or deleted job, or another user's job for a non-admin.
        """
        who = self.actor(actor)
        with self.db.read() as session:
            found = queries.find_job(session, who, _job_id(job_id))
            if found is None:
                raise NotFound(_not_found(job_id))
            job, owner = found
            action = get_action(job.action)
            return JobDetail(
                summary=queries.summarize(who, job, owner),
                parameters=job.parameters,
                parameters_text=action.describe(action.load(job.parameters)),
                selection=job.selection,
                selection_text=job.selection.get("text", ""),
                error=job.error,
                events=queries.job_events(session, job.id),
                parent=(job.parent_job_id, job.link) if job.parent_job_id else None,
                children=queries.job_children(session, who, job.id),
            )

    def job_items(
        self,
        actor: ActorLike,
        job_id: int,
        *,
        outcome: str | int | None = None,
        page: int = 1,
        page_size: int = 50,
        sort: str = "seq",
        descending: bool = False,
    ) -> Page[ItemRow]:
        """One page of a job's per-item outcomes, optionally of one outcome, sorted on the
        server over all of them (``jobs.reports.queries.ITEM_SORTS``)."""
        self.job(actor, job_id)
        with self.db.read() as session:
            return queries.item_page(
                session,
                _job_id(job_id),
                outcome=_outcome(outcome),
                page=page,
                page_size=page_size,
                sort=sort,
                descending=descending,
            )

    def export_items_csv(
        self, actor: ActorLike, job_id: int, outcome: str | int | None = None
    ) -> Iterator[str]:
        """A job's outcomes as CSV text, streamed in pieces (no whole-table load)."""
        self.job(actor, job_id)
        code = _outcome(outcome)

        def lines() -> Iterator[str]:
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(
                [
                    "seq",
                    "account_id",
                    "file_number",
                    "debtor",
                    "outcome",
                    "message",
                    "before",
                    "after",
                ]
            )
            with self.db.read() as session:
                result = session.execute(
                    queries.item_rows_select(_job_id(job_id), code),
                    execution_options={"yield_per": 5000},
                )
                for n, r in enumerate(result, 1):
                    writer.writerow(
                        [
                            r.seq,
                            r.account_id,
                            r.file_number,
                            r.debtor_name,
                            ItemOutcome.LABELS[r.outcome],
                            r.message or "",
                            (r.payload or {}).get("before", ""),
                            (r.payload or {}).get("after", ""),
                        ]
                    )
                    if n % 5000 == 0:
                        yield buf.getvalue()
                        buf.seek(0)
                        buf.truncate()
            yield buf.getvalue()

        return lines()

    def items_frame(self, actor: ActorLike, job_id: int, outcome: str | int | None = None):  # type: ignore[no-untyped-def]
        """A job's outcomes as a pandas DataFrame, for analysis in a notebook."""
        import pandas as pd

        self.job(actor, job_id)
        with self.db.read() as session:
            query = queries.item_rows_select(_job_id(job_id), _outcome(outcome))
            frame = pd.read_sql(query, session.connection())
        frame["outcome"] = frame["outcome"].map(ItemOutcome.LABELS)
        return frame

    def retry_exceptions(self, actor: ActorLike, job_id: int | str) -> JobSummary:
        """Queue a new job, with the same action and parameters, over exactly the items that
        ended as exceptions in a finished job; the new job names it as its parent.

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed: with the reason in words.
        """
        who = self.actor(actor)
        parent, stored = self._retryable(who, job_id)
        return self.submit(
            who,
            parent.action,
            JobItemsSource(parent.id, "exceptions"),
            stored,
            _clip(f"Retry of job {parent.id}: {parent.description}"),
            parent=(parent.id, "retry"),
        )

    def preview_retry(self, actor: ActorLike, job_id: int | str) -> DryRun:
        """The dry run of :meth:`retry_exceptions` (what it would do now), writing nothing."""
        who = self.actor(actor)
        parent, stored = self._retryable(who, job_id)
        return self.dry_run(who, parent.action, JobItemsSource(parent.id, "exceptions"), stored)

    def _retryable(self, who: Actor, job_id: int | str) -> tuple[JobSummary, dict[str, Any]]:
        parent = self._target(who, job_id)
        if not parent.status.is_final:
            raise ActionNotAllowed(
                f"Job {parent.id} is {parent.status.label}; its exceptions can be retried "
                "when it has ended"
            )
        if parent.exceptions == 0:
            raise ActionNotAllowed(f"Job {parent.id} has no exceptions to retry")
        with self.db.read() as session:
            stored = session.scalar(select(Job.parameters).where(Job.id == parent.id)) or {}
        return parent, dict(stored)

    def undo(self, actor: ActorLike, job_id: int | str) -> JobSummary:
        """Queue a job that puts back what a finished Change Status or Assign job changed,
        where the accounts still have the value it gave (see ``jobs.actions.undo``).

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed, InvalidInput: with the reason.
        """
        who = self.actor(actor)
        parent = self._undoable(who, job_id)
        return self.submit(
            who,
            "undo",
            JobItemsSource(parent.id, "changed"),
            {"of_job": parent.id},
            _clip(f"Undo of job {parent.id}: {parent.description}"),
            parent=(parent.id, "undo"),
        )

    def preview_undo(self, actor: ActorLike, job_id: int | str) -> DryRun:
        """The dry run of :meth:`undo` (what it would put back now), writing nothing."""
        who = self.actor(actor)
        parent = self._undoable(who, job_id)
        source = JobItemsSource(parent.id, "changed")
        return self.dry_run(who, "undo", source, {"of_job": parent.id})

    def _undoable(self, who: Actor, job_id: int | str) -> JobSummary:
        parent = self._target(who, job_id)
        if parent.action not in REVERSIBLE:
            raise ActionNotAllowed(
                f"Job {parent.id} cannot be undone: only Change Status and Assign jobs can"
            )
        if not parent.status.is_final:
            raise ActionNotAllowed(
                f"Job {parent.id} is {parent.status.label}; it can be undone when it has ended"
            )
        if parent.ok == 0:
            raise ActionNotAllowed(f"Job {parent.id} changed no account; there is nothing to undo")
        with self.db.read() as session:
            earlier = session.scalar(
                select(Job.id).where(
                    Job.parent_job_id == parent.id,
                    Job.link == "undo",
                    Job.deleted_at.is_(None),
                    Job.status.not_in([int(JobStatus.FAILED), int(JobStatus.STOPPED)]),
                )
            )
        if earlier is not None:
            raise ActionNotAllowed(f"Job {parent.id} is already undone by job {earlier}")
        return parent

    def stop(self, actor: ActorLike, job_id: int) -> JobSummary:
        """Stop an In progress job; its unprocessed items stay untouched.

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed: with the reason in words.
        """
        who = self.actor(actor)
        summary = self._target(who, job_id)
        permissions.check_stop(who, summary.owner_id, summary.status)
        ended = ending.halt(self.db, summary.id, JobStatus.STOPPED, actor_id=who.id)
        if ended is None:
            now = self.job(who, job_id).summary.status
            raise ActionNotAllowed(
                f"Only jobs that are In progress can be stopped; this job is now {now.label}"
            )
        _send_deliveries(ended.deliveries)
        return self.job(who, job_id).summary

    def delete(self, actor: ActorLike, job_id: int) -> None:
        """Remove a job from the lists; the audit trail keeps it. A deleted Queued job never runs.

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed: with the reason in words.
        """
        who = self.actor(actor)
        summary = self._target(who, job_id)
        permissions.check_delete(who, summary.owner_id, summary.status)
        now = utcnow()
        deletable = [int(s) for s in permissions.DELETABLE]
        with self.db.write() as session:
            conn = session.connection()
            result = conn.execute(
                update(Job)
                .where(Job.id == summary.id, Job.deleted_at.is_(None), Job.status.in_(deletable))
                .values(deleted_at=now, deleted_by_id=who.id)
            )
            if result.rowcount != 1:
                raise ActionNotAllowed(
                    "The job changed status meanwhile and can no longer be "
                    "deleted; refresh and try again"
                )
            audit.record(
                conn,
                audit.DELETE,
                job_id=summary.id,
                actor_id=who.id,
                at=now,
                summary=f"{who.display_name} deleted job {summary.id}: {summary.description}",
                details={
                    "description": summary.description,
                    "action": summary.action,
                    "status": summary.status.label,
                    "owner": summary.owner,
                    "total": summary.total,
                    "ok": summary.ok,
                    "exceptions": summary.exceptions,
                    "not_processed": summary.not_processed,
                },
            )

    def audit_scope(self, actor: ActorLike, user: str | None = None) -> str:
        """Whose jobs an audit by ``actor`` covers: a user's own, or (admins) everyone's
        (empty) or one named user's.

        Raises:
          PermissionDenied: for a user without the bulk-update permission, or a user asking
            for someone else's audit.
          NotFound: for an admin naming a user that does not exist.
        """
        who = self.actor(actor)
        permissions.require(who, permissions.BULK_UPDATE)
        user = (user or "").strip()
        if who.is_admin:
            return self.actor(user).username if user else ""
        if user and user != who.username:
            raise PermissionDenied("You can only audit your own jobs")
        return who.username

    def audit_report(
        self,
        actor: ActorLike,
        *,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        user: str | None = None,
    ) -> AuditReport:
        """The audit of a period, over the jobs :meth:`audit_scope` gives ``actor``."""
        from jobs.reports import audit_report  # pandas: loaded only by those who report

        scope = self.audit_scope(actor, user)
        return audit_report.build_report(self.db, date_from=date_from, date_to=date_to, user=scope)

    def _target(self, who: Actor, job_id: int | str) -> JobSummary:
        """The job a stop or delete is aimed at. A job the actor may not see is "not found",
        in the same words as one that does not exist, so that nobody learns of others' jobs."""
        with self.db.read() as session:
            found = queries.find_job(session, who, _job_id(job_id))
            if found is None:
                raise NotFound(_not_found(job_id))
            return queries.summarize(who, *found)

    def _wake(self, job_id: int, heard: bool) -> None:
        """Send the start message. A job whose message no worker will hear (the broker is
        down, or it is this process's in-process broker and no worker runs here) keeps an
        empty ``last_progress_at``: a worker's reaper then starts it about a second later."""
        try:
            registry.wake(worker_broker.current(), "job", [job_id])
        except Exception:
            log.warning(
                "could not send job %s to the broker; it stays Queued", job_id, exc_info=True
            )
            if heard:
                with self.db.write_conn() as conn:
                    conn.execute(update(Job).where(Job.id == job_id).values(last_progress_at=None))

    # -- communications: templates and approvals (jobs.comms) -------------------------

    def templates(self, actor: ActorLike, kind: str) -> list[comms_store.Template]:
        """Every email (``kind="email"``) or text message (``"sms"``) template."""
        self.actor(actor)
        with self.db.read() as session:
            return comms_store.list_templates(session, kind)

    def save_template(
        self,
        actor: ActorLike,
        kind: str,
        *,
        name: str,
        body: str,
        subject: str | None = None,
        active: bool = True,
    ) -> int:
        """Create or replace a template (admins and supervisors); audited. Jobs already
        submitted keep the text they were submitted with.

        Raises:
          PermissionDenied: without the approve permission. InvalidInput: naming the field
            (an unknown placeholder, an empty message, a subject too long).
        """
        who = self.actor(actor)
        permissions.require(who, permissions.APPROVE_COMMUNICATIONS)
        with self.db.write_conn() as conn:
            return comms_store.save(
                conn, kind, name=name, body=body, subject=subject, active=active, actor_id=who.id
            )

    def needs_approval(self, actor: ActorLike, action: str) -> bool:
        """Whether ``actor``'s job of ``action`` would wait for approval (the launch form
        then offers "Send for Approval")."""
        return comms.needs_approval(get_action(action), self.actor(actor))

    def approvals(
        self,
        actor: ActorLike,
        *,
        page: int = 1,
        page_size: int = 25,
        sort: str = "submitted",
        descending: bool = False,
    ) -> Page[approvals.ApprovalRow]:
        """The communications waiting for approval: all for an approver, else one's own."""
        who = self.actor(actor)
        with self.db.read() as session:
            return approvals.waiting_page(
                session, who, page=page, page_size=page_size, sort=sort, descending=descending
            )

    def approval(self, actor: ActorLike, job_id: int | str) -> approvals.ApprovalDetail:
        """A communication's message and a sample of it, for an approver to read.

        Raises:
          NotFound: a job the actor may not look at, in the words of one that does not exist.
        """
        who = self.actor(actor)
        with self.db.read() as session:
            found = approvals.find(session, who, _job_id(job_id))
            if found is None:
                raise NotFound(_not_found(job_id))
            return approvals.detail(session, who, *found)

    def approve(self, actor: ActorLike, job_id: int | str) -> JobStatus:
        """Approve a communication Awaiting approval: it is queued for its send date.

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed: with the reason in words.
        """
        who, job = self._deciding(actor, job_id)
        heard = _workers_will_hear()
        with self.db.write_conn() as conn:
            if not approvals.approve(conn, job.id, who, heard=heard):
                raise ActionNotAllowed(_decided_meanwhile(job.id))
        self._wake(job.id, heard)
        return JobStatus.QUEUED

    def reject(self, actor: ActorLike, job_id: int | str, reason: str) -> JobStatus:
        """Reject a communication Awaiting approval with a reason: it ends Stopped, nothing
        is sent, and its submitter is told (the job's error, and the completion email).

        Raises:
          InvalidInput: (field ``reason``) no reason. NotFound, PermissionDenied,
            ActionNotAllowed: with the reason in words.
        """
        text = approvals.clean_reason(reason)
        who, job = self._deciding(actor, job_id)
        with self.db.write_conn() as conn:
            ended = approvals.reject(conn, job.id, who, text)
            if ended is None:
                raise ActionNotAllowed(_decided_meanwhile(job.id))
        _send_deliveries(ended.deliveries)
        return JobStatus.STOPPED

    def withdraw(self, actor: ActorLike, job_id: int | str) -> JobStatus:
        """Withdraw a communication still Awaiting approval (its submitter, or an admin):
        it ends Stopped and nothing is sent.

        Raises:
          NotFound, PermissionDenied, ActionNotAllowed: with the reason in words.
        """
        who = self.actor(actor)
        with self.db.read() as session:
            found = approvals.find(session, who, _job_id(job_id))
            if found is None:
                raise NotFound(_not_found(job_id))
            job = found[0]
            owner_id, status = job.owner_id, JobStatus(job.status)
        refusal = approvals.withdraw_refusal(who, owner_id, status)
        if refusal is not None:
            if who.id != owner_id and not who.is_admin:
                raise PermissionDenied(refusal)
            raise ActionNotAllowed(refusal)
        with self.db.write_conn() as conn:
            ended = approvals.withdraw(conn, job.id, who)
            if ended is None:
                raise ActionNotAllowed(_decided_meanwhile(job.id))
        _send_deliveries(ended.deliveries)
        return JobStatus.STOPPED

    def _deciding(self, actor: ActorLike, job_id: int | str) -> tuple[Actor, Job]:
        who = self.actor(actor)
        with self.db.read() as session:
            found = approvals.find(session, who, _job_id(job_id))
            if found is None:
                raise NotFound(_not_found(job_id))
            job = found[0]
            session.expunge(job)
        refusal = approvals.decide_refusal(who, job.owner_id, JobStatus(job.status))
        if refusal is None:
            return who, job
        if not approvals.is_approver(who) or who.id == job.owner_id:
            raise PermissionDenied(refusal)
        raise ActionNotAllowed(refusal)

    # -- import tasks (jobs.imports.tasks; permissions checked as for every job) ----------

    def submit_import(self, actor: ActorLike, kind: str, path: str, **options: Any) -> JobSummary:
        """Queue an import of a CSV file as a job (``jobs.imports.tasks.submit``)."""
        from jobs.imports import tasks

        return tasks.submit(self, actor, kind, path, **options)

    def import_tasks(self, actor: ActorLike, **options: Any) -> Page[Any]:
        """One page of the All System Tasks grid (``jobs.imports.tasks.list_tasks``)."""
        from jobs.imports import tasks

        return tasks.list_tasks(self, actor, **options)

    def import_task(self, actor: ActorLike, job_id: int | str) -> Any:
        """An import task's data (``jobs.imports.tasks.task``)."""
        from jobs.imports import tasks

        return tasks.task(self, actor, job_id)

    def import_statuses(self, actor: ActorLike, job_id: int | str) -> list[str]:
        """The row statuses an import produced (``jobs.imports.tasks.statuses_present``)."""
        from jobs.imports import tasks

        return tasks.statuses_present(self, actor, job_id)

    def import_messages(self, actor: ActorLike, job_id: int | str, **options: Any) -> Any:
        """One page of an import's Task Messages (``jobs.imports.tasks.messages``)."""
        from jobs.imports import tasks

        return tasks.messages(self, actor, job_id, **options)

    def export_import_messages_csv(
        self, actor: ActorLike, job_id: int | str, status: str | None = None
    ) -> Iterator[str]:
        """An import's Task Messages as CSV, ready to fix and import again."""
        from jobs.imports import tasks

        return tasks.export_messages_csv(self, actor, job_id, status)

    def task_views(self, actor: ActorLike) -> dict[str, list[str]]:
        """The actor's saved views of the All System Tasks grid, the default first."""
        from jobs.imports import tasks

        return tasks.views(self, actor)

    def save_task_view(self, actor: ActorLike, name: str, columns: list[str]) -> None:
        """Save one of the actor's views of the All System Tasks grid."""
        from jobs.imports import tasks

        tasks.save_view(self, actor, name, columns)

    # -- the acting user's own profile ---------------------------------------------------

    def profile(self, actor: ActorLike) -> Profile:
        """The acting user's name, email address and job completion email choice.

        Returns:
          A :class:`jobs.people.profile.Profile`.
        """
        from jobs.people import profile

        who = self.actor(actor)
        with self.db.read() as session:
            return profile.read(session.connection(), who.id)

    def set_profile(
        self, actor: ActorLike, *, notify: str | None = None, email: str | None = None
    ) -> Profile:
        """Change the acting user's own job completion email choice and/or email address;
        the change goes to the audit trail. Nobody changes someone else's profile here.

        Parameters:
          notify: ``all``, ``failures`` or ``none``; None leaves it.
          email: the new address; empty text removes it; None leaves it.

        Returns:
          The :class:`jobs.people.profile.Profile` after the change.

        Raises:
          InvalidInput: field ``notify`` or ``email``, naming what is accepted; nothing
            is changed.
          NotFound: no active user of that name.
        """
        from jobs.people import profile

        who = self.actor(actor)
        with self.db.write_conn() as conn:
            return profile.change(conn, who.id, notify=notify, email=email)


@dataclass(frozen=True)
class FieldView:
    """A declared parameter as a form or a CLI shows it, with its choices now."""

    name: str
    label: str
    kind: str
    help: str
    options: list[str]
    initial: Any
    max_length: int | None
    multiline: bool
    required: bool
    flag: str

    @classmethod
    def of(cls, f: Field, options: list[str]) -> FieldView:
        kind = f.widget or {dt.date: "date", int: "int"}.get(
            f.type, "choice" if options else "text"
        )
        return cls(
            name=f.name,
            label=f.label,
            kind=kind,
            help=f.help,
            options=options,
            initial=f.initial(),
            max_length=f.max_length,
            multiline=f.multiline,
            required=f.required,
            flag=f.flag,
        )


def _require_what_params_need(who: Actor, action: BulkAction, params: Any) -> None:
    """Permissions an action's parameters need beyond the action's own (an export that
    unmasks sensitive columns); the action says which (``needs``)."""
    for permission in getattr(action, "needs", lambda _params: [])(params):
        permissions.require(who, permission)


def _send_deliveries(delivery_ids: list[int]) -> None:
    """Wake the ``deliver`` actor for deliveries just committed; a reaper sends any this
    misses (the broker is down) a few seconds later."""
    if not delivery_ids:
        return
    try:
        registry.wake(worker_broker.current(), "delivery", delivery_ids)
    except Exception:
        log.warning("could not send deliveries %s; a worker sends them", delivery_ids)


def _workers_will_hear() -> bool:
    """Whether a start message sent from this process reaches workers: always on Redis or
    RabbitMQ; on the in-process broker only when this process runs worker threads."""
    return not runtime.settings().embedded_broker or Reaper.has_worker(worker_broker.current())


def _actor(user: User) -> Actor:
    return Actor(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        permissions=frozenset(user.permissions or ()),
        email=user.email,
        notify=user.notify,
    )


#: Sort keys of the account search, and the columns they sort by (the id breaks ties).
ACCOUNT_SORTS = {
    "file_number": Account.file_number,
    "debtor": Account.debtor_name,
    "account_number": Account.account_number,
    "status": Account.status,
    "state": Account.state,
    "balance": Account.current_balance,
}

#: Ids are 32-bit integers in the database; a larger number names no record.
MAX_ID = 2**31 - 1


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _not_found(job_id: int | str) -> str:
    return f"Job {job_id} was not found; it may have been deleted"


def _decided_meanwhile(job_id: int) -> str:
    return f"Job {job_id} was approved or rejected meanwhile; refresh to see its status"


def _job_id(value: int | str) -> int:
    try:
        number = int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        raise NotFound(f"{value!r} is not a job number") from None
    if not 1 <= number <= MAX_ID:
        raise NotFound(_not_found(value))
    return number


def _outcome(value: str | int | None) -> int | None:
    if value in (None, "", "All"):
        return None
    if isinstance(value, int):
        return value
    for code, label in ItemOutcome.LABELS.items():
        if label.lower() == str(value).strip().lower():
            return code
    raise InvalidInput(
        f"Unknown outcome {value!r}; expected one of: " + ", ".join(ItemOutcome.LABELS.values()),
        field="outcome",
    )


def _clip(text: str) -> str:
    """A description made from another one, kept within the limit."""
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def _clean_description(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(
            "Give the job a description, so people can tell it apart", field="description"
        )
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"The description is {len(text)} characters long; the limit is {DESCRIPTION_MAX}",
            field="description",
        )
    return text


def _account_row(a: Account, newest_interaction: dt.date | None = None) -> dict[str, Any]:
    """An account as the screens show it; Last Worked counts its newest interaction."""
    worked = max((d for d in (a.last_worked, newest_interaction) if d), default=None)
    return {
        "id": a.id,
        "file_number": a.file_number,
        "client_id": a.client_id,
        "portfolio_id": a.portfolio_id,
        "account_number": a.account_number,
        "debtor_name": a.debtor_name,
        "status": a.status,
        "locked": a.locked,
        "current_balance": a.current_balance,
        "collector_id": a.collector_id,
        "state": a.state,
        "creditor": a.creditor,
        "last_worked": worked,
        "last_payment_amount": a.last_payment_amount,
        "last_payment_date": a.last_payment_date,
        "declined_transactions": a.declined_transactions,
    }
