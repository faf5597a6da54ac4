"""A minimal in-memory channel: one registry entry, and nothing else anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.channels.registry import BuiltChannel, ChannelEntry, ChannelRuntime, PlatformLimits
from bot.channels.sending import OutboxMessage, RateLimit, SendResult
from bot.settings import Settings

NAME = "memory"


def room_of(provider_code: str) -> str:
    """The agents' room of a provider on this channel."""
    return f"room-{provider_code}"


@dataclass
class MemorySender:
    """Keeps what it is given."""

    channel: str = NAME
    sent: list[OutboxMessage] = field(default_factory=list)

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Deliver to the list."""
        self.sent.append(notification)
        return SendResult.delivered(external_id=str(len(self.sent)))


def memory_entry(sender: MemorySender) -> ChannelEntry:
    """The channel's one registry entry, delivering to `sender`."""

    def build(_runtime: ChannelRuntime) -> BuiltChannel:
        return BuiltChannel(name=NAME, sender=sender)

    def always(_settings: Settings) -> bool:
        return True

    def agent_room(_settings: Settings, provider_code: str) -> str | None:
        return room_of(provider_code)

    return ChannelEntry(
        name=NAME,
        settings_section=NAME,
        enabled=always,
        limits=PlatformLimits(
            max_text=1000,
            max_buttons=3,
            rate=RateLimit(per_second=100, per_chat_per_second=100, burst=100),
        ),
        agent_room=agent_room,
        build=build,
    )
