"""Batches: many solves from one request (POST /v1/batches), gathered by GET /v1/batches/{id}.

A batch is its jobs: `jobs.batch_id` names the batch a job was submitted in (NULL for a job
submitted alone); each job runs as any other, on the embedded runner or on the fleet.

Revision ID: 0008_batches
Revises: 0007_live_lease
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_batches"
down_revision = "0007_live_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("batch_id", sa.String(36), nullable=True))
    op.create_index("ix_jobs_batch_seq", "jobs", ["batch_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_jobs_batch_seq", table_name="jobs")
    op.drop_column("jobs", "batch_id")
