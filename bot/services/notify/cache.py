"""A per-session memo for what one batch of notifications looks up again and again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session

from bot.db.models import Contract

_T = TypeVar("_T")
_CACHE_KEY = "supportbot.notify.cache"


def cache_destinations(session: Session) -> None:
    """Remember destinations and packs for the rest of this session (a dispatcher batch)."""
    session.info[_CACHE_KEY] = {}


def cached(session: Session, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    """`compute()`, once per session that asked for caching (else every time)."""
    cache: dict[tuple[object, ...], Any] | None = session.info.get(_CACHE_KEY)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    value: _T = cache[key]
    return value


def remember(session: Session, key: tuple[object, ...], value: object) -> bool:
    """Store what `cached` would compute for `key`; False when the session does not cache."""
    cache: dict[tuple[object, ...], Any] | None = session.info.get(_CACHE_KEY)
    if cache is None:
        return False
    cache[key] = value
    return True


def contract_of(session: Session, contract_id: int) -> Contract:
    """The ticket's contract (cached with the batch)."""

    def load() -> Contract:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return contract

    return cached(session, ("contract", contract_id), load)


def remember_contract(session: Session, contract: Contract) -> None:
    """Keep a contract loaded ahead (a dispatcher batch's) for `contract_of`."""
    assert contract.id is not None
    remember(session, ("contract", contract.id), contract)
