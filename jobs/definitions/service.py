"""The definitions' service API (``JobService(db).definitions``): what the Definitions screen,
the CLI and notebooks call.

Every method takes the acting user (an :class:`~jobs.people.permissions.Actor` or a
username) and checks permissions itself: any logged-in user reads definitions, campaigns and
histories; only administrators change them, import them, run them now and end campaigns
(:func:`jobs.people.permissions.check_define`). Errors are :mod:`jobs.errors` types whose
message is a sentence for the person who acted; nothing is written when one is raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from jobs import audit, clock
from jobs.definitions import batch_log, campaigns, queries, store, yaml_io
from jobs.definitions.campaigns import CampaignEnded, CampaignRow
from jobs.definitions.queries import DefinitionDetail, DefinitionHistory, DefinitionRow
from jobs.definitions.spec import DefinitionSpec
from jobs.definitions.yaml_io import ImportResult
from jobs.errors import ActionNotAllowed
from jobs.people import permissions
from jobs.people.permissions import Actor, ActorLike
from jobs.reports.queries import Page

if TYPE_CHECKING:
    from jobs.db import Database


class JobService(Protocol):
    """What this façade needs of ``jobs.service.JobService`` (which hands it out as
    ``.definitions``): the database and who is acting. A protocol, so that this module does
    not import the service back."""

    db: Database

    def actor(self, who: ActorLike) -> Actor: ...


#: The audit trail's word for a run started by a person ("Run now").
AUDIT_RUN_NOW = "run_now"
#: The audit trail's word for a campaign ended by a person (with the run it fired).
AUDIT_CAMPAIGN_END = "campaign_end"


class DefinitionService:
    """Job definitions and campaigns over one database.

    Parameters:
      service: the :class:`jobs.service.JobService` it belongs to (users, database).
    """

    def __init__(self, service: JobService) -> None:
        self._service = service
        self.db = service.db

    # -- who may do what -------------------------------------------------------------

    def define_refusal(self, actor: ActorLike) -> str | None:
        """Why ``actor`` may not change definitions (the sentence beside the absent
        buttons), or None when they may."""
        return permissions.define_refusal(self._service.actor(actor))

    def can_define(self, actor: ActorLike) -> bool:
        return self.define_refusal(actor) is None

    def _definer(self, actor: ActorLike) -> Actor:
        who = self._service.actor(actor)
        permissions.check_define(who)
        return who

    # -- reading -----------------------------------------------------------------------

    def list_definitions(
        self,
        actor: ActorLike,
        text: str = "",
        show_disabled: bool = False,
        page: int = 1,
        page_size: int = 25,
        sort: str = "name",
        descending: bool = False,
    ) -> Page[DefinitionRow]:
        """One page of definitions whose name or description contains ``text``; disabled
        ones only with ``show_disabled``. Sort keys: :data:`queries.SORTS`.

        Raises:
          InvalidInput: an unknown sort key or page size out of range.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return queries.list_page(
                session,
                text=text,
                show_disabled=show_disabled,
                page=page,
                page_size=page_size,
                sort=sort,
                descending=descending,
            )

    def definition_detail(self, actor: ActorLike, definition: int | str) -> DefinitionDetail:
        """A definition's fields, steps, dependencies, schedule and state, with whether the
        actor may edit it.

        Raises:
          NotFound: no definition of that id or name.
        """
        who = self._service.actor(actor)
        with self.db.read() as session:
            found = store.find(session, definition)
            return queries.detail(session, found, read_only_reason=permissions.define_refusal(who))

    def definition_history(
        self, actor: ActorLike, definition: int | str, limit: int = queries.HISTORY_LIMIT
    ) -> DefinitionHistory:
        """Its changes, newest first, and the last execution of each of its steps.

        Raises:
          NotFound: no definition of that id or name.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return queries.history(session, store.find(session, definition), limit=limit)

    def batch_log(self, actor: ActorLike, **search: Any) -> batch_log.BatchLogPage:
        """The batch audit log: a page of runs due in a date range (at most 7 days), of some
        statuses and process names (:func:`jobs.definitions.batch_log.search`); any
        logged-in user reads it.

        Raises:
          InvalidInput: a range over 7 days or reversed (field ``until``), an unknown status.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return batch_log.search(session, **search)

    def run_detail(self, actor: ActorLike, job_id: int) -> batch_log.RunDetail:
        """A run: its definition, trigger, due time, status and step history.

        Raises:
          NotFound: no definition run of that number.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return batch_log.run_detail(session, int(job_id))

    def export_yaml(self, actor: ActorLike, names: list[str] | None = None) -> str:
        """The named definitions (default: all) as YAML, ready to import again.

        Raises:
          NotFound: a name that is no definition.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return yaml_io.export(session, names)

    # -- changing (administrators) -------------------------------------------------------

    def create(self, actor: ActorLike, spec: DefinitionSpec) -> DefinitionDetail:
        """Save a new definition (its owner by default the actor).

        Raises:
          PermissionDenied: not an administrator.
          InvalidDefinition: every rule broken, by field path (``.errors``).
        """
        who = self._definer(actor)
        with self.db.write() as session:
            definition = store.create(session, spec, actor_id=who.id, default_owner=who.username)
            definition_id = definition.id
        return self.definition_detail(who, definition_id)

    def update(
        self, actor: ActorLike, definition: int | str, spec: DefinitionSpec, version: int
    ) -> DefinitionDetail:
        """Save an edited definition; ``version`` is the one the edit started from.

        Raises:
          PermissionDenied: not an administrator. NotFound: no such definition.
          ActionNotAllowed: it changed since ``version`` (who and when).
          InvalidDefinition: every rule broken, by field path.
        """
        who = self._definer(actor)
        with self.db.write() as session:
            found = store.find(session, definition, lock=True)
            store.update(session, found, spec, actor_id=who.id, version=version)
            definition_id = found.id
        return self.definition_detail(who, definition_id)

    def enable(
        self, actor: ActorLike, definition: int | str, version: int | None = None
    ) -> DefinitionDetail:
        """Enable it: a scheduled one is due from now on (``enabled_at``, ``next_due_at``)."""
        return self._set_enabled(actor, definition, True, version)

    def disable(
        self, actor: ActorLike, definition: int | str, version: int | None = None
    ) -> DefinitionDetail:
        """Disable it: nothing fires it until it is enabled again."""
        return self._set_enabled(actor, definition, False, version)

    def _set_enabled(
        self, actor: ActorLike, definition: int | str, enabled: bool, version: int | None
    ) -> DefinitionDetail:
        who = self._definer(actor)
        with self.db.write() as session:
            found = store.find(session, definition, lock=True)
            store.set_enabled(session, found, enabled, actor_id=who.id, version=version)
            definition_id = found.id
        return self.definition_detail(who, definition_id)

    def suspend(self, actor: ActorLike, definition: int | str, reason: str) -> DefinitionDetail:
        """Suspend it: its due runs are recorded Suspended and do not run, until resumed.

        Raises:
          InvalidInput: (field ``reason``) no reason. ActionNotAllowed: already suspended.
        """
        who = self._definer(actor)
        with self.db.write() as session:
            found = store.find(session, definition, lock=True)
            store.suspend(session, found, reason, actor_id=who.id)
            definition_id = found.id
        return self.definition_detail(who, definition_id)

    def resume(self, actor: ActorLike, definition: int | str, reason: str = "") -> DefinitionDetail:
        """Resume a suspended definition (its next due run runs).

        Raises:
          ActionNotAllowed: it is not suspended.
        """
        who = self._definer(actor)
        with self.db.write() as session:
            found = store.find(session, definition, lock=True)
            store.resume(session, found, reason, actor_id=who.id)
            definition_id = found.id
        return self.definition_detail(who, definition_id)

    def import_yaml(self, actor: ActorLike, text: str, dry_run: bool = False) -> ImportResult:
        """Import definitions from YAML: new names are created, known names updated (their
        history says "imported"). ``dry_run``: only say what would happen.

        Raises:
          PermissionDenied: not an administrator.
          InvalidDefinitionFile: every problem (``.problems``), with definition, field and
            line; nothing written.
        """
        who = self._definer(actor)
        if dry_run:
            with self.db.read() as session:
                return yaml_io.import_file(
                    session, text, actor_id=who.id, default_owner=who.username, dry_run=True
                )
        with self.db.write() as session:
            return yaml_io.import_file(
                session, text, actor_id=who.id, default_owner=who.username, dry_run=False
            )

    def run_now(self, actor: ActorLike, definition: int | str) -> int | None:
        """Start a run now (``fired_by="manual"``), whatever its trigger, enabled or not.

        Returns:
          The run's job id (None: a run of this very instant exists already).

        Raises:
          PermissionDenied: not an administrator.
          ActionNotAllowed: it is suspended (resume it first).
        """
        from jobs.scheduler import triggers

        who = self._definer(actor)
        with self.db.read() as session:
            found = store.find(session, definition)
            definition_id, name = found.id, found.name
            if found.suspended_at is not None:
                raise ActionNotAllowed(
                    f"Definition {name!r} is suspended ({found.suspended_reason}); "
                    "resume it before running it"
                )
        job_id = triggers.fire(self.db, definition_id, due_at=clock.now(), fired_by="manual")
        with self.db.write() as session:
            summary = f"Run now: job {job_id}" if job_id else "Run now: already running"
            store.record(session, definition_id, who.id, store.RUN_NOW, summary, {})
            audit.record(
                session.connection(),
                AUDIT_RUN_NOW,
                job_id=job_id,
                actor_id=who.id,
                summary=f"Ran definition {name!r} now",
                details={"definition_id": definition_id},
            )
        return job_id

    # -- campaigns -----------------------------------------------------------------------

    def campaigns(self, actor: ActorLike, show_ended: bool = True) -> list[CampaignRow]:
        """Every campaign, running ones first (``show_ended`` False: running ones only)."""
        self._service.actor(actor)
        with self.db.read() as session:
            return campaigns.rows(session, show_ended=show_ended)

    def campaign_page(
        self,
        actor: ActorLike,
        *,
        page: int = 1,
        page_size: int = 10,
        sort: str = "",
        descending: bool = False,
    ) -> Page[CampaignRow]:
        """One page of the campaigns, sorted in SQL (:data:`campaigns.SORTS`; "": running ones
        first, then newest first).

        Raises:
          InvalidInput: an unknown sort key or a page size out of range.
        """
        self._service.actor(actor)
        with self.db.read() as session:
            return campaigns.page(
                session, page=page, page_size=page_size, sort=sort, descending=descending
            )

    def create_campaign(
        self, actor: ActorLike, name: str, client: str | None = None
    ) -> CampaignRow:
        """Start a campaign (optionally for one client, by code).

        Raises:
          PermissionDenied: not an administrator. InvalidInput: field ``name``/``client``.
        """
        self._definer(actor)
        with self.db.write() as session:
            campaign_id = campaigns.create(session, name, client).id
        with self.db.read() as session:
            return campaigns.rows(session, ids=[campaign_id])[0]

    def end_campaign(self, actor: ActorLike, campaign: int | str) -> CampaignEnded:
        """End a campaign: the end-of-campaign event fires the campaign definition's run.

        Raises:
          PermissionDenied: not an administrator. NotFound: no such campaign.
          ActionNotAllowed: it has ended already.
        """
        from jobs.scheduler import triggers

        who = self._definer(actor)
        with self.db.write() as session:
            found = campaigns.find(session, campaign)
            campaigns.end(session, found, who.id)
            campaign_id, name = found.id, found.name
        job_id = triggers.campaign_ended(self.db, campaign_id, who.id)
        with self.db.write_conn() as conn:
            audit.record(
                conn,
                AUDIT_CAMPAIGN_END,
                job_id=job_id,
                actor_id=who.id,
                summary=f"Ended campaign {name!r}",
                details={"campaign_id": campaign_id},
            )
        with self.db.read() as session:
            row = campaigns.rows(session, ids=[campaign_id])[0]
        return CampaignEnded(campaign=row, job_id=job_id)
