"""Jobs on a worker fleet: a claim's lease and the last time the job's message was published.

`lease_owner` names the worker process holding the job (for GET /v1/workers), `lease_expires_at`
is when its claim runs out unless its heartbeat extends it (the reconciler queues a job whose
lease has run out again, with a new attempt, so the old holder's writes are refused), and
`published_at` is when the job's message last went to the broker (a queued job whose message is
older than PORTSYNC_REPUBLISH_AFTER_S is published again). All three stay NULL with the embedded
runner.

Revision ID: 0006_fleet
Revises: 0005_live_plans
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_fleet"
down_revision = "0005_live_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN / DROP COLUMN on both backends (SQLite 3.35 or newer): no table is copied
    op.add_column("jobs", sa.Column("lease_owner", sa.String(200), nullable=True))
    op.add_column("jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_lease", table_name="jobs")
    for column in ("published_at", "lease_expires_at", "lease_owner"):
        op.drop_column("jobs", column)
