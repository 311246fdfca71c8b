"""Saved export templates: a name, the columns in file order, the sensitive ones unmasked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.errors import InvalidInput, NotFound
from jobs.grid.columns import COLUMNS, SENSITIVE, column_keys
from jobs.models import ExportTemplate, utcnow

NAME_MAX = 80
#: What an export carries when nobody chose: the grid's core columns, nothing sensitive.
DEFAULT_COLUMNS = [
    "file_number",
    "client",
    "portfolio",
    "account_number",
    "debtor",
    "status",
    "current_balance",
    "assigned_to",
]


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    columns: list[str]
    unmasked: list[str]

    @property
    def labels(self) -> list[str]:
        return [COLUMNS[k].label for k in self.columns]


def export_columns(columns: list[str] | str | None, unmasked: list[str] | str | None):
    """Checked export columns and unmasked sensitive columns.

    Returns:
      (columns, unmasked): keys, in order; unmasked only among the chosen sensitive ones.

    Raises:
      InvalidInput: for no columns, an unknown column, or unmasking a column that is not
        sensitive or not exported.
    """
    keys = column_keys(columns, allowed=list(COLUMNS))
    if not keys:
        raise InvalidInput("Choose at least one column to export", field="columns")
    clear = column_keys(unmasked, allowed=list(COLUMNS))
    for key in clear:
        if key not in SENSITIVE:
            raise InvalidInput(
                f"{COLUMNS[key].label} is not sensitive data; only "
                + ", ".join(COLUMNS[k].label for k in SENSITIVE)
                + " are masked",
                field="unmasked",
            )
        if key not in keys:
            raise InvalidInput(
                f"{COLUMNS[key].label} is unmasked but not exported; add the column or keep "
                "it masked",
                field="unmasked",
            )
    return keys, clear


def list_templates(session: Session) -> list[TemplateView]:
    return [_view(t) for t in session.scalars(select(ExportTemplate).order_by(ExportTemplate.name))]


def find(session: Session, name: str) -> TemplateView:
    """Raises NotFound naming the templates there are."""
    found = session.scalar(select(ExportTemplate).where(ExportTemplate.name == name.strip()))
    if found is None:
        names = ", ".join(t.name for t in list_templates(session)) or "none yet"
        raise NotFound(f"There is no export template called {name!r} (templates: {names})")
    return _view(found)


def save(
    session: Session,
    name: str,
    columns: list[str] | str,
    unmasked: list[str] | str | None,
    user_id: int,
) -> TemplateView:
    """Create the template, or replace the columns of the one of that name.

    Raises:
      InvalidInput: for an empty or too long name, or bad columns (see export_columns).
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the template a name", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"The template name is {len(name)} characters long; the limit is {NAME_MAX}",
            field="name",
        )
    keys, clear = export_columns(columns, unmasked)
    found = session.scalar(select(ExportTemplate).where(ExportTemplate.name == name))
    if found is None:
        found = ExportTemplate(name=name, created_by_id=user_id)
        session.add(found)
    found.columns, found.unmasked, found.updated_at = keys, clear, utcnow()
    session.flush()
    return _view(found)


def delete(session: Session, name: str) -> None:
    found = session.scalar(select(ExportTemplate).where(ExportTemplate.name == name.strip()))
    if found is None:
        raise NotFound(f"There is no export template called {name!r}")
    session.delete(found)


def _view(t: ExportTemplate) -> TemplateView:
    return TemplateView(t.id, t.name, list(t.columns or []), list(t.unmasked or []))
