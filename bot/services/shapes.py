"""Statements built once per shape: a read binds its values and runs the statement it built
the first time (building a statement costs more than running it at volume)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import ColumnElement

#: The statements built so far, least recently used first.
BUILT: OrderedDict[Hashable, Any] = OrderedDict()
BUILT_MAX = 512
_LOCK = threading.Lock()


def built(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement of `key`, built by `build` the first time (least recently used out)."""
    with _LOCK:
        found = BUILT.get(key)
        if found is not None:
            BUILT.move_to_end(key)
            return found
    statement = build()
    with _LOCK:
        BUILT[key] = statement
        while len(BUILT) > BUILT_MAX:
            BUILT.popitem(last=False)
    return statement


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_hashable(v) for v in value)
    return value if isinstance(value, Hashable) else repr(value)


def shape(condition: ColumnElement[bool]) -> Hashable:
    """A condition's structure and bound values: equal shapes compile to the same SQL."""
    key = condition._generate_cache_key()  # noqa: SLF001 - SQLAlchemy's own cache key
    if key is None:  # not cacheable: its text, values inlined
        return str(condition.compile(compile_kwargs={"literal_binds": True}))
    return (key.key, tuple(_hashable(p.effective_value) for p in key.bindparams))
