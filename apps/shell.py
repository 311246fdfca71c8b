"""The dashboard's shell: one Panel template, a page per screen, for the logged-in user.

Pages are listed in :data:`PAGES`; a later screen adds a :class:`PageSpec` there. Each page is
built on first visit and kept for the session. Who is logged in (``apps.login.acting_user``) is
the service's actor of the same username; a page needing a permission the person lacks shows a
clear "not permitted" page instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import panel as pn
import param

from apps.account_grid import AccountGrid
from apps.approvals import ApprovalsPage
from apps.batch_log import BatchLogPage
from apps.definitions import DefinitionsPage
from apps.display import esc, not_permitted
from apps.history import HistoryFollower
from apps.launch import LaunchForm
from apps.launch_state import AccountCriteria
from apps.monitor import Monitor
from apps.profile import ProfilePage
from apps.styles import FONT, OfflineFast
from apps.tasks import TasksPage
from jobs.errors import NotFound
from jobs.people import permissions
from jobs.people.permissions import Actor
from jobs.reports.queries import JobSummary
from jobs.service import JobService


@dataclass(frozen=True)
class PageSpec:
    """A page of the shell: its title, and how to build it for one session."""

    title: str
    build: Callable[[Shell], pn.viewable.Viewable]
    permission: str | None = permissions.BULK_UPDATE
    #: Its name in the address (``?page=batch-log``); by default the title in lower case,
    #: hyphens for spaces (``?page=all-system-tasks``).
    slug: str = ""

    @property
    def address(self) -> str:
        return self.slug or self.title.lower().replace(" ", "-")


def _monitor(shell: Shell) -> pn.viewable.Viewable:
    return Monitor(
        shell.service, shell.user, on_launch=lambda: shell.go("Launch"), on_view=shell.viewing
    )


def _launch(shell: Shell) -> pn.viewable.Viewable:
    return LaunchForm(shell.service, shell.user, on_submitted=shell.launched)


def _accounts(shell: Shell) -> pn.viewable.Viewable:
    return AccountGrid(shell.service, shell.user, on_submitted=shell.launched)


def _profile(shell: Shell) -> pn.viewable.Viewable:
    return ProfilePage(shell.service, shell.user)


def _approvals(shell: Shell) -> pn.viewable.Viewable:
    return ApprovalsPage(shell.service, shell.user)


def _tasks(shell: Shell) -> pn.viewable.Viewable:
    return TasksPage(shell.service, shell.user)


def _definitions(shell: Shell) -> pn.viewable.Viewable:
    return DefinitionsPage(shell.service, shell.user, on_open=shell.viewing_definition)


def _batch_log(shell: Shell) -> pn.viewable.Viewable:
    return BatchLogPage(shell.service, shell.user)


PAGES: list[PageSpec] = [
    PageSpec("Monitor", _monitor),
    PageSpec("Launch", _launch),
    PageSpec("Accounts", _accounts),
    PageSpec("Approvals", _approvals),
    PageSpec("All System Tasks", _tasks),
    # Every logged-in user reads definitions and their runs; only admins change them.
    PageSpec("Definitions", _definitions, permission=None),
    PageSpec("Batch audit log", _batch_log, permission=None, slug="batch-log"),
    # Everyone's own settings (job completion emails), with or without the bulk permission.
    PageSpec("Profile", _profile, permission=None),
]


class Address(param.Parameterized):
    """Where the person is: the page, and the job open in the Monitor. Served, it is kept in
    the address bar (``?page=monitor&job=12``), so a reload, the back button and a link sent
    to a colleague land on the same place."""

    page = param.String(default="monitor")
    job = param.String(default="")
    #: The definition open on the Definitions page; the run shown by the Batch audit log.
    definition = param.String(default="")
    run = param.String(default="")

    def search(self) -> str:
        """The address's query: ``?page=monitor&job=12`` (no empty parts)."""
        parts = {"page": self.page, "job": self.job, "definition": self.definition, "run": self.run}
        return "?" + urlencode({k: v for k, v in parts.items() if v})


class Shell:
    """The template and navigation for one session of ``user``."""

    def __init__(
        self,
        service: JobService,
        user: str | None,
        pages: list[PageSpec] | None = None,
        note: str = "",
    ) -> None:
        self.service = service
        self.user = user or ""
        #: Served without a login: "No login: everyone acts as …", in the header of every page.
        self.note = note
        self.pages = {p.title: p for p in (pages or PAGES)}
        self.built: dict[str, pn.viewable.Viewable] = {}
        self.actor: Actor | None = None
        try:
            self.actor = service.actor(self.user) if self.user else None
        except NotFound:
            self.actor = None
        self.content = pn.Column(sizing_mode="stretch_width", css_classes=["bd-page"])
        #: What a link that names no page says (shown until the person goes elsewhere). HTML
        #: with every part escaped, not an Alert: an Alert reads Markdown, so a link's
        #: ``?page=[Sign in](https://…)`` would show as a live link in the app's own box.
        self.notice = pn.pane.HTML(
            "",
            visible=False,
            css_classes=["bd-notice"],
            sizing_mode="stretch_width",
            styles={
                "background": "#fef3c7",
                "color": "#78350f",
                "border": "1px solid #fcd34d",
                "border-radius": "6px",
                "padding": "4px 14px",
            },
        )
        self.nav = pn.widgets.RadioButtonGroup(
            options=list(self.pages),
            # The first page this user may open (carol, without the bulk permission, landed
            # on "Not permitted" at every login).
            value=next(iter(self.open_pages()), next(iter(self.pages))),
            orientation="vertical",
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
            css_classes=["bd-nav"],
        )
        self.address = Address()
        #: The header's "where you are": the page's name.
        self.where = pn.pane.HTML("", css_classes=["bd-where"], align="center", width=220)
        self.nav.param.watch(lambda e: self._show(e.new), "value")
        self._show(self.nav.value)

    def may_open(self, spec: PageSpec) -> bool:
        """Whether the user may open a page (the pages' own services check again)."""
        return self.actor is not None and (
            spec.permission is None or self.actor.has(spec.permission)
        )

    def open_pages(self) -> list[str]:
        """The titles of the pages the user may open, in menu order."""
        return [title for title, spec in self.pages.items() if self.may_open(spec)]

    def viewing(self, job_id: int | None) -> None:
        """The Monitor opened (or closed) a job's status view: the address follows."""
        self.address.job = "" if job_id is None else str(job_id)

    def viewing_definition(self, definition_id: int | None) -> None:
        """The Definitions page opened (or closed) a definition: the address follows."""
        self.address.definition = "" if definition_id is None else str(definition_id)

    def open_link(
        self,
        page: str | None,
        job: str | None,
        definition: str | None = None,
        run: str | None = None,
    ) -> None:
        """Follow an address such as ``?page=monitor&job=12`` (the completion email's link):
        the page named (any case), and for a job the Monitor with its status view open;
        ``?page=definitions&definition=3`` opens that definition, ``?page=batch-log&run=12``
        that run's detail."""
        # The title in any case, hyphenated or not, or the page's own address
        titles = {t.lower(): t for t in self.pages}
        titles.update({t.lower().replace(" ", "-"): t for t in self.pages})
        titles.update({spec.address: t for t, spec in self.pages.items()})
        wanted = (page or "").strip()
        title = titles.get(wanted.lower())
        if run and "Batch audit log" in self.pages:
            self.go("Batch audit log")
            log = self.built.get("Batch audit log")
            number = run.strip().lstrip("#")
            if isinstance(log, BatchLogPage) and number.isdigit():
                log.open_run(int(number))
                self.address.run = number
        elif definition and "Definitions" in self.pages:
            self.go("Definitions")
            page_ = self.built.get("Definitions")
            if isinstance(page_, DefinitionsPage):
                page_.open_definition(definition.strip())
        elif job:
            self.go("Monitor")
            monitor = self.built.get("Monitor")
            if isinstance(monitor, Monitor) and monitor.state.permitted:
                number = job.strip().lstrip("#")
                if number.isdigit():
                    monitor.open_job(int(number))
                else:
                    monitor.state.message = f"{job!r} is not a job number"
        elif title:
            self.go(title)
        elif wanted:
            # An old or mistyped link: say so where the person lands, with the pages there are
            self.go(self.nav.value)
            names = ", ".join(f"“{esc(t)}”" for t in self.open_pages())
            self.notice.object = (
                f"<p>There is no page called “{esc(wanted)}”; you are on "
                f"{esc(self.nav.value)}."
                + (f" The pages you may open: {names}." if names else "")
                + "</p>"
            )
            self.notice.visible = True

    def open_account(self, file_number: str) -> None:
        """Follow a File Number link (``?page=accounts&account=F0000123``): the grid, filtered
        to that account."""
        self.go("Accounts")
        grid = self.built.get("Accounts")
        if isinstance(grid, AccountGrid) and hasattr(grid, "state"):
            grid.show_account(file_number)

    def go(self, title: str) -> None:
        if self.nav.value == title:
            self._show(title)
        self.nav.value = title

    def launched(self, job: JobSummary) -> None:
        """After a submit: the Monitor, with the new job at the top and selected."""
        self.go("Monitor")
        monitor = self.built.get("Monitor")
        if isinstance(monitor, Monitor) and monitor.state.permitted:
            monitor.show_job(job.id)

    def launch_with(self, criteria: AccountCriteria) -> None:
        """The launch form, prefilled from an account search."""
        self.built["Launch"] = LaunchForm(
            self.service, self.user, criteria=criteria, on_submitted=self.launched
        )
        self.go("Launch")

    def _show(self, title: str) -> None:
        spec = self.pages[title]
        self.notice.visible = False
        self.address.param.update(
            page=spec.address,
            **({} if title == "Monitor" else {"job": ""}),
            **({} if title == "Definitions" else {"definition": ""}),
            run="",
        )
        if self.actor is None:
            page: pn.viewable.Viewable = not_permitted(
                None,
                f"there is no Bulkdesk user called {esc(self.user or '(nobody)')}. "
                "Log in as one of the demo users.",
            )
        elif not self.may_open(spec):
            page = not_permitted(
                self.actor,
                page=title,
                open_pages=[(t, self.pages[t].address) for t in self.open_pages()],
            )
        else:
            if title not in self.built:
                self.built[title] = spec.build(self)
            page = self.built[title]
            if isinstance(page, BatchLogPage):
                page.close_run()  # the search; a run's own address opens it again
        self.content[:] = [page]
        self.where.object = (
            f'<div style="color:#fff;font-size:18px;font-weight:600">{esc(title)}</div>'
        )

    def template(self) -> pn.template.BaseTemplate:
        who = esc(self.actor.display_name if self.actor else self.user or "nobody")
        role = esc(self.actor.role if self.actor else "")
        if self.note:
            line = (
                f'<span class="bd-no-login">{esc(self.note)}</span> '
                f'(<b class="bd-user">{who}</b>, {role})'
            )
        else:
            line = (
                f'Signed in as <a href="?page=profile" title="Your profile and email settings" '
                f'style="color:#fff"><b class="bd-user">{who}</b></a> ({role}) · '
                f'<a href="/logout" style="color:#fff">Log out</a>'
            )
        header = pn.pane.HTML(
            f'<div style="color:#fff;font-size:14px;white-space:nowrap">{line}</div>',
            align="center",
            width=460 if self.note else 360,
        )
        return pn.template.FastListTemplate(
            title="Bulkdesk",
            design=OfflineFast,
            font=FONT,
            sidebar=[pn.pane.HTML("<b>Bulk updates</b>"), self.nav],
            main=[self.notice, self.content, HistoryFollower(width=0, height=0, margin=0)],
            header=[self.where, pn.HSpacer(), header],
            sidebar_width=190,
            accent="#1d4ed8",
            main_layout=None,
            theme_toggle=False,
            # Panel's busy spinner turns on for every callback, the live refreshes' included:
            # it flickered every second on every page, as if the page never finished loading.
            busy_indicator=None,
        )


def app(user: str | None, service: JobService | None = None, note: str = "") -> Any:
    """The served dashboard for ``user`` (the login's user; see ``apps.login``), opened at
    the page and job its address names (``?page=profile``, ``?page=monitor&job=12``).

    ``note``: on a server without a login, the line saying who everyone acts as.
    """
    shell = Shell(service or JobService(), user, note=note)
    args = pn.state.session_args or {}

    def arg(name: str) -> str | None:
        values = args.get(name) or []
        return values[0].decode(errors="replace") if values else None

    page, job = arg("page"), arg("job")
    definition, run = arg("definition"), arg("run")
    account = arg("account")

    def follow_and_keep_the_address() -> None:
        if page or job or definition or run:
            shell.open_link(page, job, definition, run)
        if account:
            shell.open_account(account)
        location = pn.state.location
        if location is None:
            return

        def write(*_: Any) -> None:
            # Only a change of place adds to the browser's history (a reload adds nothing).
            search = shell.address.search()
            if location.search != search:
                location.search = search

        shell.address.param.watch(write, ["page", "job", "definition", "run"])
        write()

    pn.state.onload(follow_and_keep_the_address)
    return shell.template()
