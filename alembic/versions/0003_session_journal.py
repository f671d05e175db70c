"""Sessions that survive a kill: the audit journal's high-water mark, a heartbeat and an
owner, replies' merged comment ids, and an index to find a reply's comment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stream_sessions") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("merged", sa.JSON(), server_default="[]", nullable=False))
    op.create_index(
        op.f("ix_comments_session_id_message_id"),
        "comments",
        ["session_id", "message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_comments_session_id_message_id"), table_name="comments")
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("merged")
    with op.batch_alter_table("stream_sessions") as batch:
        batch.drop_column("owner")
        batch.drop_column("heartbeat_at")
        batch.drop_column("audit_seq")
