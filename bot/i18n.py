"""Translations (gettext catalogs under `locales/`) and Babel formatting for fr, nl, en.

Every user-facing string goes through `Translator.gettext` (marked `_` in handlers).
A missing `.mo` would silently fall back to the source text, so `check_catalogs` runs at
start-up and refuses to continue without all three.
"""

from __future__ import annotations

import gettext
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal

DOMAIN = "supportbot"
LANGUAGES: tuple[str, ...] = ("fr", "nl", "en")
BABEL_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_BE"}


class MissingCatalogError(RuntimeError):
    """A compiled catalog is missing: run the translations build."""


def locales_dir() -> Path:
    """Where the catalogs live: $SUPPORTBOT_LOCALES_DIR, else `locales/` beside the code."""
    override = os.environ.get("SUPPORTBOT_LOCALES_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "locales"


def normalize_language(value: str | None) -> str | None:
    """`nl-BE`, `fr_FR`, `EN` → `nl`, `fr`, `en`; None for languages the bot does not speak."""
    if not value:
        return None
    short = value.replace("-", "_").split("_", 1)[0].lower()
    return short if short in LANGUAGES else None


def check_catalogs() -> None:
    """Raise `MissingCatalogError` unless every language has a compiled catalog."""
    missing = [
        lang
        for lang in LANGUAGES
        if not (locales_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()
    ]
    if missing:
        raise MissingCatalogError(
            f"compiled translations missing for {', '.join(missing)}: "
            "run `pybabel compile -D supportbot -d locales` (or `make setup`)"
        )


@lru_cache(maxsize=8)
def _babel_locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[lang])


@lru_cache(maxsize=8)
def _catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=str(locales_dir()), languages=[lang])


@dataclass(frozen=True)
class Translator:
    """Text and formatting in one language."""

    lang: str

    def gettext(self, message: str) -> str:
        """`message` translated."""
        return _catalog(self.lang).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for `n`, translated."""
        return _catalog(self.lang).ngettext(singular, plural, n)

    @property
    def babel_locale(self) -> Locale:
        """The Babel locale used for dates and numbers (parsed once per language)."""
        return _babel_locale(self.lang)

    def datetime(self, instant: datetime, zone: str) -> str:
        """An instant shown in `zone`, e.g. `lun. 23 nov. 2026, 10:30 (UTC+01:00)`."""
        local = instant.astimezone(ZoneInfo(zone))
        text = babel_format_datetime(local, "EEE d MMM y HH:mm", locale=self.babel_locale)
        return f"{text} ({local.strftime('%z')[:3]}:{local.strftime('%z')[3:]})".replace(
            "(+", "(UTC+"
        ).replace("(-", "(UTC-")

    def number(self, value: Decimal | int) -> str:
        """A number with the locale's separators, without losing decimals."""
        return format_decimal(value, locale=self.babel_locale, decimal_quantization=False)

    def field(self, label: str, value: str) -> str:
        """`label: value` with the language's punctuation (French puts a space before ':')."""
        return self.gettext("%(label)s: %(value)s") % {"label": label, "value": value}

    def euros(self, value: Decimal) -> str:
        """An amount in euro, placed and separated as the locale does."""
        return format_currency(value, "EUR", locale=self.babel_locale)

    def credits(self, value: Decimal) -> str:
        """An amount of service credits."""
        # The plural form follows the language: French says "0 crédit", English "0 credits".
        size = abs(value)
        count = int(size) if size == size.to_integral_value() else 2
        return self.ngettext("%(n)s credit", "%(n)s credits", count) % {"n": self.number(value)}

    def duration(self, span: timedelta) -> str:
        """A duration in words, to the minute: `2 h 15 min` (Babel would round to `2 h`)."""
        minutes = max(0, int(span.total_seconds() // 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        parts: list[str] = []
        if days:
            parts.append(self.ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
        if hours:
            parts.append(self.gettext("%(n)d h") % {"n": hours})
        if mins or not parts:
            parts.append(self.gettext("%(n)d min") % {"n": mins})
        return " ".join(parts)

    def business_remaining(self, span: timedelta) -> str:
        """An SLA countdown in words, e.g. `2 h 15 ouvrables restantes`."""
        return self.gettext("%(duration)s of business time left") % {
            "duration": self.duration(span)
        }


@lru_cache(maxsize=8)
def translator(lang: str | None) -> Translator:
    """The translator for `lang` (French when unknown, the contracts' language)."""
    return Translator(normalize_language(lang) or "fr")
