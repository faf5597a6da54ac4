"""The core's command menus as Telegram bot commands and scopes."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from handlers.model import CommandMenu, MenuScope


def bot_commands(menu: CommandMenu) -> list[BotCommand]:
    """A menu's commands as Telegram wants them."""
    return [BotCommand(name, description[:256]) for name, description in menu.commands]


def scopes(menu: CommandMenu, agents_groups: list[int]) -> list[Any]:
    """Where a menu applies: every chat, each agents group, or one user's private chat."""
    if menu.scope is MenuScope.CUSTOMERS:
        return [BotCommandScopeDefault()]
    if menu.scope is MenuScope.AGENTS_GROUP:
        return [BotCommandScopeChat(chat_id) for chat_id in agents_groups]
    assert menu.chat_id is not None
    return [BotCommandScopeChat(int(menu.chat_id))]
