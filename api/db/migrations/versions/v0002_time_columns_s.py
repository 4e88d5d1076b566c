"""Durations end in _s: jobs.solver_seconds -> solver_s, plan_improvements.seconds -> solver_s.

Both hold the solver's own time at a plan (optimizer.plan.SolverFacts.seconds); jobs.spent_s
already followed the convention. A plain RENAME COLUMN on both backends (SQLite 3.25 or newer):
no table is copied.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("jobs", "solver_seconds", new_column_name="solver_s")
    op.alter_column("plan_improvements", "seconds", new_column_name="solver_s")


def downgrade() -> None:
    op.alter_column("plan_improvements", "solver_s", new_column_name="seconds")
    op.alter_column("jobs", "solver_s", new_column_name="solver_seconds")
