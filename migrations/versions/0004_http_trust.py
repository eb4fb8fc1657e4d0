"""http trust: at most one pending invitation per address per document

Revision ID: 0004_http_trust
Revises: 0003
Create Date: 2026-11-30 00:30:00

Concurrent invitations to one address each saw none pending and each inserted one. A partial
unique index makes the database refuse the second (the API answers 409). Pending duplicates
made before it existed are resolved first: the earliest stays, later ones are withdrawn, and
each withdrawal is appended to the sharing log without an actor (the system did it).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_http_trust"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")

invitations = sa.table(
    "invitations",
    sa.column("id", sa.String), sa.column("document_id", sa.String),
    sa.column("email", sa.String), sa.column("role", sa.String),
    sa.column("sections", sa.JSON), sa.column("reason", sa.String),
    sa.column("status", sa.String), sa.column("created_at", sa.DateTime),
    sa.column("responded_at", sa.DateTime),
)
sharing_events = sa.table(
    "sharing_events",
    sa.column("document_id", sa.String), sa.column("at", sa.DateTime),
    sa.column("kind", sa.String), sa.column("actor_id", sa.String),
    sa.column("subject_email", sa.String), sa.column("role", sa.String),
    sa.column("sections", sa.JSON), sa.column("reason", sa.String),
    sa.column("invitation_id", sa.String),
)


def _withdraw_pending_duplicates() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(invitations).where(invitations.c.status == "pending")
        .order_by(invitations.c.created_at, invitations.c.id)
    ).all()
    seen: set[tuple[str, str]] = set()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every time
    for row in rows:
        key = (row.document_id, row.email)
        if key not in seen:
            seen.add(key)
            continue
        connection.execute(
            invitations.update().where(invitations.c.id == row.id)
            .values(status="withdrawn", responded_at=now)
        )
        connection.execute(sharing_events.insert().values(
            document_id=row.document_id, at=now, kind="withdrawn", actor_id=None,
            subject_email=row.email, role=row.role, sections=row.sections, reason=row.reason,
            invitation_id=row.id,
        ))


def upgrade() -> None:
    _withdraw_pending_duplicates()
    op.create_index(
        "uq_invitations_one_pending_per_address",
        "invitations",
        ["document_id", "email"],
        unique=True,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("uq_invitations_one_pending_per_address", table_name="invitations")
