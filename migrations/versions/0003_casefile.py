"""Casefile: the e-Akte (Akten, Vorgänge, Dokumente), file plans and file-reference counters,
the audit trail, clerk tokens and triage items.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 03:02:26.149194
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "casefile_akten",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("authority_name", sa.String(length=500), nullable=False),
        sa.Column("aktenzeichen", sa.String(length=80), nullable=False),
        sa.Column("kennzeichen", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("plan_title", sa.String(length=300), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("disposal", sa.String(length=1), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_akten")),
        sa.UniqueConstraint(
            "authority_id", "aktenzeichen", name=op.f("uq_casefile_akten_authority_id_aktenzeichen")
        ),
    )
    op.create_table(
        "casefile_file_counters",
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("kennzeichen", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "authority_id", "kennzeichen", "year", name=op.f("pk_casefile_file_counters")
        ),
    )
    op.create_table(
        "casefile_plan_units",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("kennzeichen", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("disposal", sa.String(length=1), nullable=False),
        sa.CheckConstraint(
            "disposal IN ('A', 'B', 'V')", name=op.f("ck_casefile_plan_units_disposal_code")
        ),
        sa.CheckConstraint(
            "retention_years IS NULL OR retention_years >= 0",
            name=op.f("ck_casefile_plan_units_retention_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_plan_units")),
        sa.UniqueConstraint(
            "authority_id",
            "kennzeichen",
            name=op.f("uq_casefile_plan_units_authority_id_kennzeichen"),
        ),
    )
    op.create_table(
        "casefile_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_casefile_tokens_token_hash")),
    )
    op.create_table(
        "casefile_triage",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "message",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_authority_id", sa.String(length=100), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_by", sa.String(length=200), nullable=True),
        sa.Column("vorgang_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_casefile_triage")),
    )
    with op.batch_alter_table("casefile_triage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_casefile_triage_open", ["assigned_at", "received_at"], unique=False
        )

    op.create_table(
        "casefile_plan_services",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("leika_key", sa.String(length=14), nullable=False),
        sa.Column("kennzeichen", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id", "kennzeichen"],
            ["casefile_plan_units.authority_id", "casefile_plan_units.kennzeichen"],
            name="fk_casefile_plan_services_unit",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_plan_services")),
        sa.UniqueConstraint(
            "authority_id",
            "leika_key",
            name=op.f("uq_casefile_plan_services_authority_id_leika_key"),
        ),
    )
    op.create_table(
        "casefile_vorgaenge",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("akte_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("leika_key", sa.String(length=14), nullable=False),
        sa.Column("leika_urn", sa.String(length=200), nullable=False),
        sa.Column("form_id", sa.String(length=50), nullable=True),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "routing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["akte_id"],
            ["casefile_akten.id"],
            name=op.f("fk_casefile_vorgaenge_akte_id_casefile_akten"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_vorgaenge")),
        sa.UniqueConstraint("application_id", name=op.f("uq_casefile_vorgaenge_application_id")),
    )
    with op.batch_alter_table("casefile_vorgaenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_casefile_vorgaenge_akte_id"), ["akte_id"], unique=False
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_inbox", ["authority_id", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_casefile_vorgaenge_status", ["authority_id", "status"], unique=False
        )

    op.create_table(
        "casefile_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("vorgang_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column(
            "old_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "new_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["vorgang_id"],
            ["casefile_vorgaenge.id"],
            name=op.f("fk_casefile_audit_vorgang_id_casefile_vorgaenge"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_audit")),
        sa.UniqueConstraint("vorgang_id", "seq", name=op.f("uq_casefile_audit_vorgang_id_seq")),
    )
    op.create_table(
        "casefile_dokumente",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vorgang_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("document_key", sa.String(length=150), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha512", sa.String(length=128), nullable=True),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("derived_from", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["vorgang_id"],
            ["casefile_vorgaenge.id"],
            name=op.f("fk_casefile_dokumente_vorgang_id_casefile_vorgaenge"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casefile_dokumente")),
        sa.UniqueConstraint(
            "vorgang_id",
            "document_key",
            "version",
            name=op.f("uq_casefile_dokumente_vorgang_id_document_key_version"),
        ),
    )
    with op.batch_alter_table("casefile_dokumente", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_casefile_dokumente_vorgang_id"), ["vorgang_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("casefile_dokumente", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_casefile_dokumente_vorgang_id"))

    op.drop_table("casefile_dokumente")
    op.drop_table("casefile_audit")
    with op.batch_alter_table("casefile_vorgaenge", schema=None) as batch_op:
        batch_op.drop_index("ix_casefile_vorgaenge_status")
        batch_op.drop_index("ix_casefile_vorgaenge_inbox")
        batch_op.drop_index(batch_op.f("ix_casefile_vorgaenge_akte_id"))

    op.drop_table("casefile_vorgaenge")
    op.drop_table("casefile_plan_services")
    with op.batch_alter_table("casefile_triage", schema=None) as batch_op:
        batch_op.drop_index("ix_casefile_triage_open")

    op.drop_table("casefile_triage")
    op.drop_table("casefile_tokens")
    op.drop_table("casefile_plan_units")
    op.drop_table("casefile_file_counters")
    op.drop_table("casefile_akten")
