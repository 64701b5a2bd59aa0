"""The conformance level of a document (PDF/A-2b for the system's renderings and Bescheide).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-04 16:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "casefile_dokumente", sa.Column("conformance", sa.String(length=20), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("casefile_dokumente", "conformance")
