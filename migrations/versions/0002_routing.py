"""Routing: the directory (services, authorities, responsibilities, postcodes) and the
routing decision per application.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:54:44.546263
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_authorities",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("house_number", sa.String(length=20), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("ars", sa.String(length=12), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_authorities")),
    )
    op.create_table(
        "routing_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("leika_key", sa.String(length=14), nullable=True),
        sa.Column("ars", sa.String(length=12), nullable=True),
        sa.Column("authority_id", sa.String(length=100), nullable=True),
        sa.Column("authority_name", sa.String(length=500), nullable=True),
        sa.Column("matched_area_key", sa.String(length=12), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
        sa.UniqueConstraint("application_id", name=op.f("uq_routing_decisions_application_id")),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_decisions_authority_id"), ["authority_id"], unique=False
        )

    op.create_table(
        "routing_postcodes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("ars", sa.String(length=12), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_postcodes")),
        sa.UniqueConstraint("postcode", "ars", name=op.f("uq_routing_postcodes_postcode_ars")),
    )
    op.create_table(
        "routing_services",
        sa.Column("leika_key", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("xzufi_id", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("leika_key", name=op.f("pk_routing_services")),
    )
    with op.batch_alter_table("routing_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_services_xzufi_id"), ["xzufi_id"], unique=False
        )

    op.create_table(
        "routing_responsibilities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("authority_id", sa.String(length=100), nullable=False),
        sa.Column("leika_key", sa.String(length=14), nullable=False),
        sa.Column("area_key", sa.String(length=12), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["routing_authorities.id"],
            name=op.f("fk_routing_responsibilities_authority_id_routing_authorities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_responsibilities")),
        sa.UniqueConstraint(
            "leika_key",
            "area_key",
            "authority_id",
            name=op.f("uq_routing_responsibilities_leika_key_area_key_authority_id"),
        ),
    )
    with op.batch_alter_table("routing_responsibilities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_responsibilities_authority", ["authority_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_responsibilities", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_responsibilities_authority")

    op.drop_table("routing_responsibilities")
    with op.batch_alter_table("routing_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_services_xzufi_id"))

    op.drop_table("routing_services")
    op.drop_table("routing_postcodes")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_decisions_authority_id"))

    op.drop_table("routing_decisions")
    op.drop_table("routing_authorities")
