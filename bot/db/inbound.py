"""Storing a platform event in the inbox: the webhooks' one hot insert, written once as SQL.

Every event a platform posts is stored (deduplicated on its channel and key) before it is
acknowledged. The webhooks store the events that arrive together in one transaction
(`store_together`, driven by `bot.channels.group_commit`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, text

from bot.db.engine import urgent
from bot.db.types import UTCDateTime

log = logging.getLogger(__name__)

KEY_CHARS = 120
CHAT_KEY_CHARS = 160

_COLUMNS = "channel, external_key, payload, received_at, chat_key, seq, attempts, failures"
_VALUES = ":channel, :key, :payload, :now, :chat_key, :seq"
_STORE = text(
    f"INSERT INTO inbound_updates ({_COLUMNS}) VALUES ({_VALUES}, 0, 0) "
    "ON CONFLICT DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime()))
# Stored already claimed, to be handled inline (a Slack modal submission).
_STORE_CLAIMED = text(
    f"INSERT INTO inbound_updates ({_COLUMNS}, claim_token, lease_until) "
    f"VALUES ({_VALUES}, 1, 0, :token, :lease_until) ON CONFLICT DO NOTHING RETURNING id"
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("lease_until", type_=UTCDateTime()))


@dataclass(frozen=True)
class Inbound:
    """One platform event to store: its channel, key (deduplicating retries), raw payload,
    arrival, chat and order within the chat."""

    channel: str
    key: str
    payload: str
    now: datetime
    chat_key: str
    seq: int
    #: (claim token, lease end): stored already claimed, for handling inline.
    claim: tuple[str, datetime] | None = None


def store_on(connection: Connection, event: Inbound) -> int | None:
    """Store `event` in `connection`'s transaction; its row id, or None when it was stored
    already (a retry)."""
    values = {
        "channel": event.channel,
        "key": event.key[:KEY_CHARS],
        "payload": event.payload,
        "now": event.now,
        "chat_key": event.chat_key[:CHAT_KEY_CHARS],
        "seq": event.seq,
    }
    statement = _STORE
    if event.claim is not None:
        statement = _STORE_CLAIMED
        values.update(token=event.claim[0], lease_until=event.claim[1])
    found = connection.execute(statement, values).first()
    return None if found is None else int(found[0])


def store_together(*, engine: Engine, events: Sequence[Inbound]) -> list[int | None | Exception]:
    """Store `events` in one transaction (ahead of the process's other writers); should it
    fail, each in a transaction of its own. Each event's row id (None: stored already), or
    the exception storing it alone raised."""
    try:
        with urgent(engine).begin() as connection:
            return [store_on(connection, event) for event in events]
    except Exception as exc:
        if len(events) == 1:
            return [exc]
        log.warning("inbox: %d events failed to store together: stored one by one", len(events))
    results: list[int | None | Exception] = []
    for event in events:
        try:
            with urgent(engine).begin() as connection:
                results.append(store_on(connection, event))
        except Exception as exc:
            results.append(exc)
    return results
