"""The clerk's Posteingang: applicant and assignee columns on the Vorgang, and its indexes.

The applicant's name, identity key and search key are copied from each existing record (the
same function filing uses); on PostgreSQL the list index carries the filtered columns (for
index-only scans) and the search key gets a trigram index (pg_trgm, a trusted extension: the
database owner may create it).

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-04 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from casefile.applicant import case_columns
from eantrag.db import JSONType

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
_APPLICANT_COLUMNS = ("applicant_name", "applicant_key", "search_key")


def _backfill() -> None:
    vorgaenge = sa.table(
        "casefile_vorgaenge",
        sa.column("id"),
        sa.column("akte_id"),
        sa.column("record", JSONType),
        *(sa.column(name) for name in _APPLICANT_COLUMNS),
    )
    akten = sa.table("casefile_akten", sa.column("id"), sa.column("aktenzeichen"))
    bind = op.get_bind()
    last = None
    while True:
        query = (
            sa.select(vorgaenge.c.id, vorgaenge.c.record, akten.c.aktenzeichen)
            .join(akten, akten.c.id == vorgaenge.c.akte_id)
            .order_by(vorgaenge.c.id)
            .limit(BATCH)
        )
        if last is not None:
            query = query.where(vorgaenge.c.id > last)
        rows = bind.execute(query).all()
        if not rows:
            return
        for case_id, record, aktenzeichen in rows:
            bind.execute(
                vorgaenge.update()
                .where(vorgaenge.c.id == case_id)
                .values(**case_columns(record or {}, aktenzeichen))
            )
        last = rows[-1][0]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("casefile_vorgaenge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_name", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("applicant_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("search_key", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("assignee_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    _backfill()
    with op.batch_alter_table("casefile_vorgaenge", schema=None) as batch_op:
        batch_op.drop_index("ix_casefile_vorgaenge_inbox")
        batch_op.create_index(
            "ix_casefile_vorgaenge_inbox",
            ["authority_id", "received_at", "id"],
            unique=False,
            postgresql_include=["status", "leika_key", "assignee_id", "search_key"],
        )
        batch_op.drop_index("ix_casefile_vorgaenge_status")
        batch_op.create_index(
            "ix_casefile_vorgaenge_status",
            ["authority_id", "status", "received_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_service",
            ["authority_id", "leika_key", "received_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_assignee",
            ["authority_id", "assignee_id", "received_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_applicant",
            ["authority_id", "applicant_key", "leika_key", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_search",
            ["search_key"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_key": "gin_trgm_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("casefile_vorgaenge", schema=None) as batch_op:
        batch_op.drop_index("ix_casefile_vorgaenge_search")
        batch_op.drop_index("ix_casefile_vorgaenge_applicant")
        batch_op.drop_index("ix_casefile_vorgaenge_assignee")
        batch_op.drop_index("ix_casefile_vorgaenge_service")
        batch_op.drop_index("ix_casefile_vorgaenge_status")
        batch_op.create_index(
            "ix_casefile_vorgaenge_status", ["authority_id", "status"], unique=False
        )
        batch_op.drop_index("ix_casefile_vorgaenge_inbox")
        batch_op.create_index(
            "ix_casefile_vorgaenge_inbox", ["authority_id", "received_at", "id"], unique=False
        )
        for name in ("assigned_at", "assignee_name", "assignee_id", *_APPLICANT_COLUMNS):
            batch_op.drop_column(name)
