"""Archive: Aussonderung processes (xdomea ProzessID) and the state of each case in them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_processes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("variant", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("xdomea_version", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appraised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("package_name", sa.String(length=200), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_processes")),
    )
    op.create_index(
        "ix_archive_processes_authority_status",
        "archive_processes",
        ["authority_id", "status"],
        unique=False,
    )
    op.create_table(
        "archive_process_objects",
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("aktenzeichen", sa.String(length=80), nullable=False),
        sa.Column("proposed", sa.String(length=1), nullable=False),
        sa.Column("appraisal", sa.String(length=1), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("archive_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["archive_processes.id"],
            name=op.f("fk_archive_process_objects_process_id_archive_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("process_id", "case_id", name=op.f("pk_archive_process_objects")),
    )
    op.create_index(
        "ix_archive_process_objects_case",
        "archive_process_objects",
        ["case_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_archive_process_objects_case", table_name="archive_process_objects")
    op.drop_table("archive_process_objects")
    op.drop_index("ix_archive_processes_authority_status", table_name="archive_processes")
    op.drop_table("archive_processes")
