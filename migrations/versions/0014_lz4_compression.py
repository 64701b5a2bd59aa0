"""The large values of every application (original, record, messages, rendering) compressed with
lz4 instead of pglz on PostgreSQL.

A value over ~2 KB is compressed before it is stored; with pglz that cost about 30 µs per 4 KB
value of the database server's CPU, several times per application (the outbox's messages are
written once, read once and deleted). lz4 compresses about as well for JSON and XML at a
fraction of the cost. Only values written from now on are affected; reading either kind works.
PostgreSQL 14 or later built with lz4 (Debian's and the official images are); otherwise, and on
SQLite, nothing changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("outbox", "body"),
    ("queue_messages", "body"),
    ("inline_blobs", "data"),
    ("applications", "record"),
    ("casefile_vorgaenge", "record"),
)


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    offered = bind.scalar(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    )
    return bool(offered) and "lz4" in offered


def upgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')


def downgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION DEFAULT')
