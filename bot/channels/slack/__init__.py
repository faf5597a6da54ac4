"""The Slack channel: slack-bolt's `AsyncApp` in the FastAPI app (or Socket Mode), Block Kit
rendering of the core's replies, App Home, and the outbox sender.

The adapter only translates: Slack payloads become `InboundEvent`s for `handlers.core`, and
the core's replies become messages, modals and Home tabs. `plugin.ENTRY` is the channel's
registry entry.
"""

from bot.channels.slack.adapter import SlackAdapter
from bot.channels.slack.plugin import ENTRY, slack_plugin
from bot.channels.slack.sender import SlackSender
from bot.channels.slack.store import CHANNEL

__all__ = ["CHANNEL", "ENTRY", "SlackAdapter", "SlackSender", "slack_plugin"]
