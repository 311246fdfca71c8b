"""``bulkdesk export``: download an export job's file, and manage export templates.

An export itself is a bulk job: ``bulkdesk submit export-accounts --as U --state TX
--columns file_number,debtor,ssn [--unmask ssn] --description … --wait``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from jobs.cli.common import fail, service
from jobs.errors import BulkdeskError
from jobs.grid.columns import COLUMNS, SENSITIVE


@click.group("export")
def export() -> None:
    """Export files of accounts: download them; saved export templates."""


@export.command("download")
@click.argument("job")
@click.option("--as", "username", required=True, help="Act as this user.")
@click.option(
    "--out",
    type=click.Path(dir_okay=True, path_type=Path),
    default=None,
    help="Where to write the file (a folder or a file name); default the current folder.",
)
def download(job: str, username: str, out: Path | None) -> None:
    """Copy a finished export job's CSV file (the download is audited)."""
    try:
        source = service().export_file(username, job)
    except BulkdeskError as error:
        fail(error)
        return
    target = out or Path.cwd()
    if target.is_dir():
        target = target / source.name
    shutil.copyfile(source, target)
    click.echo(f"Wrote {target} ({target.stat().st_size:,} bytes)")


@export.command("templates")
@click.option("--as", "username", required=True, help="Act as this user.")
def list_templates(username: str) -> None:
    """The saved export templates."""
    try:
        found = service().export_templates(username)
    except BulkdeskError as error:
        fail(error)
        return
    if not found:
        click.echo("No export templates yet (`bulkdesk export save-template`).")
    for t in found:
        unmasked = ", ".join(COLUMNS[k].label for k in t.unmasked) or "none"
        click.echo(f"{t.name}: {', '.join(t.labels)} (unmasked: {unmasked})")


@export.command("save-template")
@click.argument("name")
@click.option("--as", "username", required=True, help="Act as this user.")
@click.option(
    "--columns",
    required=True,
    help="Comma-separated column keys or titles: " + ", ".join(COLUMNS),
)
@click.option(
    "--unmask",
    default="",
    help="Sensitive columns written in clear (" + ", ".join(SENSITIVE) + "); needs the "
    "unmask permission.",
)
def save_template(name: str, username: str, columns: str, unmask: str) -> None:
    """Save (or replace) an export template."""
    try:
        saved = service().save_export_template(username, name, columns, unmask)
    except BulkdeskError as error:
        fail(error)
        return
    click.echo(f"Saved the export template “{saved.name}”: {', '.join(saved.labels)}")
