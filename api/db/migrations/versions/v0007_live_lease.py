"""Live plans on a worker fleet: a replan's lease and the last time its message was published.

`lease_owner` names the worker process replanning the live plan (one replan of a plan at a time,
in event order), `lease_expires_at` is when its claim runs out unless its heartbeat extends it
(then another worker may take the plan's waiting events), and `published_at` is when a
`portsync.replan` message for the plan went out and no worker has claimed it yet (cleared by the
claim; a message unclaimed for PORTSYNC_REPUBLISH_AFTER_S is sent again). All three stay NULL
with the embedded replanner.

Revision ID: 0007_live_lease
Revises: 0006_fleet
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_live_lease"
down_revision = "0006_fleet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN / DROP COLUMN on both backends (SQLite 3.35 or newer): no table is copied
    op.add_column("live_plans", sa.Column("lease_owner", sa.String(200), nullable=True))
    op.add_column("live_plans", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("live_plans", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("published_at", "lease_expires_at", "lease_owner"):
        op.drop_column("live_plans", column)
