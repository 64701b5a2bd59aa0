"""Small documents kept in the database, beside the rows that refer to them (inline_blobs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inline_blobs",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inline_blobs")),
    )


def downgrade() -> None:
    # The rows are documents, not a cache: dropping them would lose applications' originals.
    kept = op.get_bind().scalar(sa.text("SELECT count(*) FROM inline_blobs"))
    if kept:
        raise RuntimeError(
            f"inline_blobs holds {kept} documents; they exist nowhere else, so the table is "
            "not dropped"
        )
    op.drop_table("inline_blobs")
