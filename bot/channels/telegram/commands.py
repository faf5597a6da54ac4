"""The command menus Telegram shows, per language: customers' in every chat, agents' in groups.

The descriptions reuse the core's `/help` wording, so they are translated with it.
"""

from __future__ import annotations

from telegram import BotCommand

from bot.i18n import LANGUAGES, translator


def N_(message: str) -> str:  # noqa: N802 - the gettext marker name extractors look for
    """Mark a string for extraction; translated where it is shown."""
    return message


CUSTOMER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("new", N_("open a ticket (guided)")),
    ("tickets", N_("your tickets (all: your company's)")),
    ("ticket", N_("a ticket's timeline, SLA state and cost")),
    ("comment", N_("add a message to a ticket")),
    ("balance", N_("your service credits")),
    ("lang", N_("change language")),
    ("cancel", N_("abandon the current request")),
    ("help", N_("this list")),
)

AGENT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("queue", N_("open tickets, nearest due first")),
    ("ack", N_("respond to a ticket (meets the response time)")),
    ("reclassify", N_("change intervention or priority")),
    ("pause", N_("stop the SLA clock")),
    ("resume", N_("restart the SLA clock")),
    ("log", N_("record work time")),
    ("resolve", N_("resolve and charge")),
    ("close", N_("close a resolved ticket")),
    ("ticket", N_("a ticket's timeline, SLA state and cost")),
    ("cancel", N_("abandon the current request")),
    ("help", N_("this list")),
)


def menu(commands: tuple[tuple[str, str], ...], lang: str) -> list[BotCommand]:
    """A command menu in one language."""
    t = translator(lang)
    return [BotCommand(name, t.gettext(description)[:256]) for name, description in commands]


def menus(default_lang: str) -> list[tuple[str | None, str]]:
    """(Telegram language_code, our language) pairs: one per language, and the default."""
    return [*((lang, lang) for lang in LANGUAGES), (None, default_lang)]
