"""Email and SMS templates in the database: the names a form offers, one template, a save."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from jobs import audit
from jobs.comms import templates
from jobs.errors import InvalidInput
from jobs.models import EmailTemplate, SmsTemplate, utcnow

EMAIL = "email"
SMS = "sms"
_MODELS = {EMAIL: EmailTemplate, SMS: SmsTemplate}


@dataclass(frozen=True)
class Template:
    """A template as the actions and screens use it."""

    id: int
    kind: str
    name: str
    subject: str
    body: str
    active: bool

    def frozen(self) -> dict[str, object]:
        """What a job keeps of it at submit, so that a later edit changes no approved job."""
        return {
            "template_id": self.id,
            "kind": self.kind,
            "name": self.name,
            "subject": self.subject,
            "body": self.body,
        }


def model(kind: str) -> type[EmailTemplate] | type[SmsTemplate]:
    try:
        return _MODELS[kind]
    except KeyError:
        raise InvalidInput(f"Unknown kind of template {kind!r}; expected email or sms") from None


def names(session: Session, kind: str) -> list[str]:
    """The active templates' names, in order (the choices of the action's template field)."""
    table = model(kind)
    return list(session.scalars(select(table.name).where(table.active).order_by(table.name)))


def email_names(session: Session) -> list[str]:
    return names(session, EMAIL)


def sms_names(session: Session) -> list[str]:
    return names(session, SMS)


def list_templates(session: Session, kind: str) -> list[Template]:
    table = model(kind)
    return [_template(kind, t) for t in session.scalars(select(table).order_by(table.name))]


def find(session: Session, kind: str, name: str) -> Template:
    """The active template called ``name``, its placeholders checked.

    Raises:
      InvalidInput: (field ``template``) no such active template, or it uses a placeholder
        that is not known (e.g. written into the database by hand).
    """
    table = model(kind)
    row = session.scalar(select(table).where(table.name == name, table.active))
    if row is None:
        raise InvalidInput(f"There is no {kind_words(kind)} template called {name!r}", "template")
    found = _template(kind, row)
    try:
        if kind == EMAIL:
            templates.parse(found.subject, f"the subject of the template “{found.name}”")
        templates.parse(found.body, f"the template “{found.name}”")
    except InvalidInput as error:
        raise InvalidInput(str(error), field="template") from None
    return found


def save(
    conn: Connection,
    kind: str,
    *,
    name: str,
    body: str,
    subject: str | None = None,
    active: bool = True,
    actor_id: int | None = None,
) -> int:
    """Create the template called ``name``, or replace its text; audited.

    Jobs already submitted keep the text they were submitted with.

    Returns:
      The template's id.

    Raises:
      InvalidInput: naming the field and what is wrong (unknown placeholder, empty, too long).
    """
    table = model(kind)
    cleaned = templates.check_template(name=name, body=body, subject=subject, sms=kind == SMS)
    values = {**cleaned, "active": active, "updated_at": utcnow()}
    existing = conn.scalar(select(table.id).where(table.name == cleaned["name"]))
    if existing is None:
        template_id = conn.execute(
            insert(table).values(**values, created_by_id=actor_id).returning(table.id)
        ).scalar_one()
        verb = "added"
    else:
        conn.execute(update(table).where(table.id == existing).values(**values))
        template_id, verb = existing, "changed"
    audit.record(
        conn,
        audit.TEMPLATE,
        job_id=None,
        actor_id=actor_id,
        summary=f"{kind_words(kind).capitalize()} template “{cleaned['name']}” {verb}",
        details={"kind": kind, "template_id": template_id, **cleaned, "active": active},
    )
    return template_id


def kind_words(kind: str) -> str:
    return {EMAIL: "email", SMS: "text message"}.get(kind, kind)


def _template(kind: str, row: EmailTemplate | SmsTemplate) -> Template:
    return Template(
        id=row.id,
        kind=kind,
        name=row.name,
        subject=getattr(row, "subject", "") or "",
        body=row.body,
        active=row.active,
    )
