"""The console channel's delivery, as the worker uses it (`bot.channels.console_log`)."""

from __future__ import annotations

from bot.channels.console_log import CHANNEL, ConsoleLogSender, read_log

__all__ = ["CHANNEL", "ConsoleLogSender", "read_log"]
