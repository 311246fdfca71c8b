"""Job definitions: steps, dependencies, history, campaigns, runs, the scheduler lease (issue 12)

Revision ID: 0012_definitions
Revises: 0011_job_text_search
Create Date: 2026-12-04 13:50:17.973309
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_definitions"
down_revision = "0011_job_text_search"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("until", UTC_TS, nullable=False),
        sa.Column("acquired_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_campaigns_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_campaigns_ended_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "definition_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_definition_changes_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_changes")),
    )
    with op.batch_alter_table("definition_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_definition_changes_definition_at", ["definition_id", "at"], unique=False
        )

    op.create_table(
        "definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("schedule", sa.String(length=120), nullable=True),
        sa.Column("schedule_options", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("inbox", sa.String(length=500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_at", UTC_TS, nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("success_recipients", sa.Text(), nullable=False),
        sa.Column("failure_recipients", sa.Text(), nullable=False),
        sa.Column("suspended_at", UTC_TS, nullable=True),
        sa.Column("suspended_by_id", sa.Integer(), nullable=True),
        sa.Column("suspended_reason", sa.Text(), nullable=True),
        sa.Column("next_due_at", UTC_TS, nullable=True),
        sa.Column("last_due_at", UTC_TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_definitions_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["suspended_by_id"], ["users.id"], name=op.f("fk_definitions_suspended_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definitions")),
        sa.UniqueConstraint("name", name=op.f("uq_definitions_name")),
    )
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_definitions_next_due_at"), ["next_due_at"], unique=False
        )

    op.create_table(
        "definition_dependencies",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["definitions.id"],
            name=op.f("fk_definition_dependencies_definition_id_definitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["definitions.id"],
            name=op.f("fk_definition_dependencies_prerequisite_id_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "definition_id", "prerequisite_id", name=op.f("pk_definition_dependencies")
        ),
    )
    op.create_table(
        "definition_runs",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_TS, nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("fired_by", sa.String(length=16), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["definitions.id"],
            name=op.f("fk_definition_runs_definition_id_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_definition_runs_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_definition_runs")),
        sa.UniqueConstraint(
            "definition_id", "due_at", name=op.f("uq_definition_runs_definition_id")
        ),
    )
    with op.batch_alter_table("definition_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_definition_runs_day", ["definition_id", "business_day"], unique=False
        )
        batch_op.create_index("ix_definition_runs_due", ["due_at", "definition_id"], unique=False)

    op.create_table(
        "definition_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("next_success", sa.String(length=80), nullable=True),
        sa.Column("next_failure", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["definitions.id"],
            name=op.f("fk_definition_steps_definition_id_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_steps")),
        sa.UniqueConstraint(
            "definition_id", "name", name=op.f("uq_definition_steps_definition_id")
        ),
    )
    with op.batch_alter_table("definition_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_definition_steps_definition_id"), ["definition_id"], unique=False
        )

    op.create_table(
        "run_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("child_job_id", sa.Integer(), nullable=True),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_run_steps_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_steps")),
        sa.UniqueConstraint("job_id", "seq", name=op.f("uq_run_steps_job_id")),
    )


def downgrade() -> None:
    op.drop_table("run_steps")
    with op.batch_alter_table("definition_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_definition_steps_definition_id"))

    op.drop_table("definition_steps")
    with op.batch_alter_table("definition_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_definition_runs_due")
        batch_op.drop_index("ix_definition_runs_day")

    op.drop_table("definition_runs")
    op.drop_table("definition_dependencies")
    with op.batch_alter_table("definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_definitions_next_due_at"))

    op.drop_table("definitions")
    with op.batch_alter_table("definition_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_definition_changes_definition_at")

    op.drop_table("definition_changes")
    op.drop_table("campaigns")
    op.drop_table("scheduler_leases")
