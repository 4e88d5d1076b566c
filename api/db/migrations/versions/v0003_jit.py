"""DCSA JIT 2.0 records (api/jit): port calls, terminal calls, port call services, timestamps and
vessel statuses, each its body JSON plus the ids and filters it is read by.

Revision ID: 0003_jit
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_jit"
down_revision = "0002"
branch_labels = None
depends_on = None


def _binding() -> list[sa.Column[str | None]]:
    return [sa.Column("live_plan_id", sa.String(64), nullable=True),
            sa.Column("call_id", sa.String(128), nullable=True)]


def _times() -> list[sa.Column[object]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "jit_port_calls",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("port_call_id", sa.String(36), nullable=False),
        sa.Column("un_location_code", sa.String(5), nullable=False),
        sa.Column("vessel_imo", sa.String(8), nullable=True),
        sa.Column("vessel_mmsi", sa.String(9), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        *_binding(),
        sa.Column("omitted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("port_call_id"),
    )
    op.create_index("ix_jit_port_calls_un_location_code", "jit_port_calls", ["un_location_code"])
    op.create_index("ix_jit_port_calls_plan_call", "jit_port_calls", ["live_plan_id", "call_id"])
    op.create_table(
        "jit_terminal_calls",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("terminal_call_id", sa.String(36), nullable=False),
        sa.Column("port_call_id", sa.String(36), nullable=False),
        sa.Column("terminal_call_reference", sa.String(100), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        *_binding(),
        sa.Column("omitted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("terminal_call_id"),
    )
    op.create_index("ix_jit_terminal_calls_port_call_id", "jit_terminal_calls", ["port_call_id"])
    op.create_index("ix_jit_terminal_calls_terminal_call_reference", "jit_terminal_calls",
                    ["terminal_call_reference"])
    op.create_index("ix_jit_terminal_calls_plan_call", "jit_terminal_calls", ["live_plan_id", "call_id"])
    op.create_table(
        "jit_port_call_services",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("port_call_service_id", sa.String(36), nullable=False),
        sa.Column("terminal_call_id", sa.String(36), nullable=False),
        sa.Column("service_type_code", sa.String(50), nullable=False),
        sa.Column("event_type_code", sa.String(4), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        *_binding(),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("port_call_service_id"),
    )
    op.create_index("ix_jit_port_call_services_terminal_call_id", "jit_port_call_services",
                    ["terminal_call_id"])
    op.create_index("ix_jit_port_call_services_plan_call", "jit_port_call_services",
                    ["live_plan_id", "call_id"])
    op.create_table(
        "jit_timestamps",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("timestamp_id", sa.String(36), nullable=False),
        sa.Column("port_call_service_id", sa.String(36), nullable=False),
        sa.Column("classifier_code", sa.String(3), nullable=False),
        sa.Column("reply_to_timestamp_id", sa.String(36), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        *_binding(),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("timestamp_id"),
    )
    op.create_index("ix_jit_timestamps_service_seq", "jit_timestamps", ["port_call_service_id", "seq"])
    op.create_table(
        "jit_vessel_statuses",
        sa.Column("port_call_service_id", sa.String(36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("port_call_service_id"),
    )


def downgrade() -> None:
    op.drop_table("jit_vessel_statuses")
    op.drop_table("jit_timestamps")
    op.drop_table("jit_port_call_services")
    op.drop_table("jit_terminal_calls")
    op.drop_table("jit_port_calls")
