"""Updates stored by the webhook are handled from their parsed form, once; the oldest are
dropped beyond the bound (the drainer then parses the stored row)."""

from __future__ import annotations

from telegram import Update

from bot.channels.telegram import channel
from bot.channels.telegram.channel import ParsedUpdates


def test_a_kept_update_is_taken_once() -> None:
    parsed = ParsedUpdates()
    update = Update(update_id=7)
    parsed.keep(7, update)
    assert parsed.take("7") is update
    assert parsed.take("7") is None


def test_the_oldest_go_beyond_the_bound() -> None:
    parsed = ParsedUpdates()
    for update_id in range(channel.PARSED_KEPT + 2):
        parsed.keep(update_id, Update(update_id=update_id))
    assert parsed.take("0") is None
    assert parsed.take("1") is None
    assert parsed.take("2") is not None
    assert parsed.take(str(channel.PARSED_KEPT + 1)) is not None
