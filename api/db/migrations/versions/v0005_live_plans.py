"""Live plans: the plan (its facts after the current version), its events, its versions.

Revision ID: 0005_live_plans
Revises: 0004_webhooks
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_live_plans"
down_revision = "0004_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_plans",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_live_plans_owner_seq", "live_plans", ["owner", "seq"])
    op.create_table(
        "live_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("live_plan_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.ForeignKeyConstraint(["live_plan_id"], ["live_plans.id"]),
        sa.UniqueConstraint("live_plan_id", "event_id", name="uq_live_events_plan_event"),
    )
    op.create_index("ix_live_events_plan_version", "live_events", ["live_plan_id", "version"])
    op.create_table(
        "live_versions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("live_plan_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("now", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.ForeignKeyConstraint(["live_plan_id"], ["live_plans.id"]),
        sa.UniqueConstraint("live_plan_id", "number", name="uq_live_versions_plan_number"),
    )


def downgrade() -> None:
    op.drop_table("live_versions")
    op.drop_table("live_events")
    op.drop_index("ix_live_plans_owner_seq", table_name="live_plans")
    op.drop_table("live_plans")
