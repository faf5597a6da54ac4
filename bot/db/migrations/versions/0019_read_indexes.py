"""reads at volume: per-day ticket tallies kept by triggers (with their unfolded deltas on
PostgreSQL), and the covering indexes of their edges

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _cover(target: str, other: str) -> tuple[str, ...]:
    instants = ("outcome", "risk_at", "due")
    return (
        *(f"{target}_{i}" for i in instants),
        *(f"{other}_{i}" for i in instants),
        "logged_at",
        "contract_id",
        "tenant_id",
        "priority",
        "status",
    )


KEY = ("contract_id", "tenant_id", "priority", "status", "response_outcome", "resolution_outcome")
#: The columns of a ticket whose change moves it to another tally row.
WATCHED = (*KEY, "logged_at")
INDEXES = (
    (
        "ix_tickets_logged_at_tally",  # covering: the edges of cut days read no table row
        [
            "logged_at",
            "contract_id",
            "tenant_id",
            "priority",
            "status",
            "response_outcome",
            "resolution_outcome",
        ],
    ),
    # covering: the targets still open past their risk or due instant read no table row
    ("ix_tickets_response_outcome_cover", [*_cover("response", "resolution")]),
    ("ix_tickets_resolution_outcome_cover", [*_cover("resolution", "response")]),
)


def _values(row: str, day: str, status: str) -> str:
    """A ticket row's tally key as SQL values (`row` is NEW or OLD)."""
    return (
        f"{row}.contract_id, {row}.tenant_id, {row}.priority, {status}, "
        f"coalesce({row}.response_outcome, ''), coalesce({row}.resolution_outcome, ''), {day}"
    )


def _match(row: str, day: str, status: str) -> str:
    """SQL matching the tally row of a ticket row."""
    return (
        f"contract_id = {row}.contract_id AND tenant_id = {row}.tenant_id "
        f"AND priority = {row}.priority AND status = {status} "
        f"AND response_outcome = coalesce({row}.response_outcome, '') "
        f"AND resolution_outcome = coalesce({row}.resolution_outcome, '') AND day = {day}"
    )


COLUMNS = ", ".join((*KEY, "day"))


def _add(row: str, day: str, status: str) -> str:
    return (
        f"INSERT INTO ticket_tallies ({COLUMNS}, n) VALUES ({_values(row, day, status)}, 1) "
        f"ON CONFLICT ({COLUMNS}) DO UPDATE SET n = ticket_tallies.n + 1"
    )


def _remove(row: str, day: str, status: str) -> str:
    return f"UPDATE ticket_tallies SET n = n - 1 WHERE {_match(row, day, status)}"


def _sqlite_triggers() -> list[str]:
    new, old = "date(NEW.logged_at)", "date(OLD.logged_at)"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    return [
        "CREATE TRIGGER tickets_tally_insert AFTER INSERT ON tickets BEGIN "
        f"{_add('NEW', new, 'NEW.status')}; END",
        f"CREATE TRIGGER tickets_tally_delete AFTER DELETE ON tickets BEGIN "
        f"{_remove('OLD', old, 'OLD.status')}; END",
        f"CREATE TRIGGER tickets_tally_update AFTER UPDATE OF {', '.join(WATCHED)} ON tickets "
        f"WHEN {changed} BEGIN {_remove('OLD', old, 'OLD.status')}; "
        f"{_add('NEW', new, 'NEW.status')}; END",
    ]


def _delta(row: str, day: str, status: str, n: int) -> str:
    return (
        f"INSERT INTO ticket_tally_deltas ({COLUMNS}, n) VALUES ({_values(row, day, status)}, {n})"
    )


def _postgresql_triggers() -> list[str]:
    new, old = (
        "(NEW.logged_at AT TIME ZONE 'UTC')::date",
        "(OLD.logged_at AT TIME ZONE 'UTC')::date",
    )
    add = _delta("NEW", new, "NEW.status::text", 1)
    remove = _delta("OLD", old, "OLD.status::text", -1)
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    # Appended deltas, not updates of shared counter rows: concurrent transactions moving
    # tickets never wait on each other (moves in any order cannot deadlock); `tallies.fold`
    # adds them into `ticket_tallies`.
    return [
        "CREATE FUNCTION tickets_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {remove}; END IF; "
        f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {add}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER tickets_tally_insert_delete AFTER INSERT OR DELETE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION tickets_tally()",
        f"CREATE TRIGGER tickets_tally_update AFTER UPDATE OF {', '.join(WATCHED)} ON tickets "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION tickets_tally()",
    ]


def upgrade() -> None:
    # SQLite drops a table's triggers when a later batch migration rebuilds it: such a
    # migration must create them again (tests/volume/test_tallies.py checks they exist).
    op.create_table(
        "ticket_tallies",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_outcome", sa.String(length=12), nullable=False),
        sa.Column("resolution_outcome", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_ticket_tallies_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_tallies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(*KEY, "day", name=op.f("pk_ticket_tallies")),
    )
    op.create_table(
        "ticket_tally_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_outcome", sa.String(length=12), nullable=False),
        sa.Column("resolution_outcome", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_tally_deltas")),
    )
    op.create_index("ix_ticket_tallies_status_day", "ticket_tallies", ["status", "day"])
    op.create_index("ix_ticket_tallies_day", "ticket_tallies", ["day"])
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    day = "(logged_at AT TIME ZONE 'UTC')::date" if postgres else "date(logged_at)"
    status = "status::text" if postgres else "status"
    bind.execute(
        sa.text(
            f"INSERT INTO ticket_tallies ({COLUMNS}, n) "  # noqa: S608 - fixed column names
            f"SELECT contract_id, tenant_id, priority, {status}, coalesce(response_outcome, ''), "
            f"coalesce(resolution_outcome, ''), {day}, count(*) FROM tickets "
            f"GROUP BY contract_id, tenant_id, priority, {status}, "
            f"coalesce(response_outcome, ''), coalesce(resolution_outcome, ''), {day}"
        )
    )
    for statement in _postgresql_triggers() if postgres else _sqlite_triggers():
        bind.execute(sa.text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("DROP TRIGGER tickets_tally_update ON tickets"))
        bind.execute(sa.text("DROP TRIGGER tickets_tally_insert_delete ON tickets"))
        bind.execute(sa.text("DROP FUNCTION tickets_tally()"))
    else:
        for name in ("update", "delete", "insert"):
            bind.execute(sa.text(f"DROP TRIGGER tickets_tally_{name}"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, _columns in reversed(INDEXES):
            batch_op.drop_index(name)
    op.drop_index("ix_ticket_tallies_day", table_name="ticket_tallies")
    op.drop_index("ix_ticket_tallies_status_day", table_name="ticket_tallies")
    op.drop_table("ticket_tally_deltas")
    op.drop_table("ticket_tallies")
