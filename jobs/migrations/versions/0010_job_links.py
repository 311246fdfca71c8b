"""Job links: retry and undo parents, overlap guard (issue 10)

Revision ID: 0010_job_links
Revises: 0009_communications
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0010_job_links"
down_revision = "0009_communications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
