"""Reports tests reuse the transcript harness (clock, demo data, chats)."""

from tests.handlers.conftest import chat, clock, seeded, settings

__all__ = ["chat", "clock", "seeded", "settings"]
