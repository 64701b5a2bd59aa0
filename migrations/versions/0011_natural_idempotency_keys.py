"""The natural idempotency keys of an application: nachrichtenUUID and submissionId, per sender.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-04 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Applications received before keep NULL keys: NULLs never collide in a unique index, so
    # the repeats already stored stay as they are.
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sender", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("message_uuid", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("submission_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            "uq_applications_sender_message_uuid", ["sender", "message_uuid"], unique=True
        )
        batch_op.create_index(
            "uq_applications_sender_submission_id", ["sender", "submission_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("uq_applications_sender_submission_id")
        batch_op.drop_index("uq_applications_sender_message_uuid")
        batch_op.drop_column("submission_id")
        batch_op.drop_column("message_uuid")
        batch_op.drop_column("sender")
