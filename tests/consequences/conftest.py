"""Transcript fixtures shared with the handler tests (a seeded demo database, a clock, chats)."""

from tests.handlers.conftest import chat, clock, seeded, settings

__all__ = ["chat", "clock", "seeded", "settings"]
