"""A tenant's active contracts are read once per transaction, and again once one is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlmodel import Session

from bot.db.engine import transaction
from bot.services import tenants


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SELECTs on contracts run inside the block."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM contracts" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_asked_twice_in_one_transaction_it_is_read_once(engine: Engine) -> None:
    with transaction(engine) as session:
        tenant = tenants.add_tenant(session=session, slug="memo", name="Memo")
        tenants.add_contract(session=session, tenant=tenant, pack_id="alteo-hosting")
        assert tenant.id is not None
        tenant_id = tenant.id
    with transaction(engine) as session, counting(engine) as selects:
        first = tenants.active_contracts(session=session, tenant_id=tenant_id)
        again = tenants.active_contracts(session=session, tenant_id=tenant_id)
    assert [c.id for c in first] == [c.id for c in again]
    assert len(first) == 1
    assert len(selects) == 1


def test_a_contract_written_in_the_transaction_is_seen_at_once(engine: Engine) -> None:
    with transaction(engine) as session:
        tenant = tenants.add_tenant(session=session, slug="memo2", name="Memo 2")
        assert tenant.id is not None
        assert tenants.active_contracts(session=session, tenant_id=tenant.id) == []
        added = tenants.add_contract(session=session, tenant=tenant, pack_id="alteo-hosting")
        assert [c.id for c in tenants.active_contracts(session=session, tenant_id=tenant.id)] == [
            added.id
        ]
        added.active = False
        session.add(added)
        session.flush()
        assert tenants.active_contracts(session=session, tenant_id=tenant.id) == []


def test_a_contract_added_by_another_transaction_is_seen_by_the_next_one(engine: Engine) -> None:
    with transaction(engine) as session:
        tenant = tenants.add_tenant(session=session, slug="memo3", name="Memo 3")
        assert tenant.id is not None
        tenant_id = tenant.id
    with Session(engine) as long_lived:
        with long_lived.begin():
            assert tenants.active_contracts(session=long_lived, tenant_id=tenant_id) == []
        with transaction(engine) as other:
            owner = tenants.get_tenant(session=other, slug="memo3")
            tenants.add_contract(session=other, tenant=owner, pack_id="alteo-hosting")
        with long_lived.begin():
            assert len(tenants.active_contracts(session=long_lived, tenant_id=tenant_id)) == 1
