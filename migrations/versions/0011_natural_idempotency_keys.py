"""The natural idempotency keys of an application: nachrichtenUUID and submissionId, per sender.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-04 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Applications received before keep NULL keys: NULLs never collide in a unique index, so
    # the repeats already stored stay as they are.
    # `sender` (0006) names the portal; "" is the one scope of unauthenticated intake, so that
    # the unique indexes below also hold there (NULLs never collide).
    op.execute("UPDATE applications SET sender = '' WHERE sender IS NULL")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column(
            "sender",
            existing_type=sa.String(length=64),
            type_=sa.String(length=100),
            server_default="",
            nullable=False,
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
        batch_op.alter_column(
            "sender",
            existing_type=sa.String(length=100),
            type_=sa.String(length=64),
            server_default=None,
            nullable=True,
        )
