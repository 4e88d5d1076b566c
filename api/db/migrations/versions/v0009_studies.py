"""Capacity studies: a study row (what it lives) and its months as jobs of kind study-month.

`jobs.kind` says what a job does ('solve' for every job before this revision); a study month's
job keeps its MonthResult in `jobs.result` and its study's id in `jobs.batch_id`, so the months
run, lease, stop and recover as any job does, on the embedded runner or on the fleet.

Revision ID: 0009_studies
Revises: 0008_batches
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_studies"
down_revision = "0008_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("kind", sa.String(16), nullable=False, server_default="solve"))
    op.add_column("jobs", sa.Column("result", sa.Text(), nullable=True))
    op.create_table(
        "studies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False, server_default=""),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_studies_owner_created", "studies", ["owner", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_studies_owner_created", table_name="studies")
    op.drop_table("studies")
    op.drop_column("jobs", "result")
    op.drop_column("jobs", "kind")
