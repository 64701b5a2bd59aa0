"""The FIT-Connect destination's received submissions (fitconnect_submissions).

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fitconnect_submissions",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("destination_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("event_jti", sa.String(length=36), nullable=True),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_fitconnect_submissions")),
        sa.UniqueConstraint(
            "application_id", name=op.f("uq_fitconnect_submissions_application_id")
        ),
    )
    op.create_index(
        op.f("ix_fitconnect_submissions_case_id"), "fitconnect_submissions", ["case_id"]
    )
    op.create_index(op.f("ix_fitconnect_submissions_state"), "fitconnect_submissions", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fitconnect_submissions_state"), table_name="fitconnect_submissions")
    op.drop_index(op.f("ix_fitconnect_submissions_case_id"), table_name="fitconnect_submissions")
    op.drop_table("fitconnect_submissions")
