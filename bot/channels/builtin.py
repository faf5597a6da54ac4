"""The channels the bot ships, written once: the registry the composition roots install."""

from __future__ import annotations

from bot.channels import console_log, registry
from bot.channels.slack.plugin import ENTRY as SLACK
from bot.channels.telegram.plugin import ENTRY as TELEGRAM

CHANNELS = (console_log.ENTRY, TELEGRAM, SLACK)


def builtin_registry() -> registry.Registry:
    """A registry of the shipped channels."""
    return registry.Registry(CHANNELS)


def install() -> registry.Registry:
    """Install the shipped channels unless a registry is installed; returns the one in force."""
    return registry.install_default(builtin_registry)
