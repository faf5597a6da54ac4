"""Check that a text shown to a user speaks only their language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parents[2] / "locales"


@cache
def _catalog(lang: str) -> dict[str, str]:
    with (LOCALES / lang / "LC_MESSAGES" / "supportbot.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, msgstr in zip(ids, strings, strict=False):
            found[str(msgid)] = str(msgstr)
    return found


def _fixed_part(template: str) -> str:
    """The longest literal stretch of a template (between %(…)s placeholders)."""
    import re

    parts = re.split(r"%\([a-z_]+\)[sd]|%%", template)
    return max(parts, key=len).strip(" .:;,—-")


def assert_language(text: str, lang: str) -> None:
    """Fail when a catalog phrase of another language appears in `text`."""
    own = _catalog(lang)
    for other in ("fr", "nl", "en"):
        if other == lang:
            continue
        for msgid, msgstr in _catalog(other).items():
            phrase = _fixed_part(msgstr or msgid)
            if len(phrase) < 14 or phrase in {_fixed_part(v) for v in own.values()}:
                continue
            assert phrase not in text, f"{other} phrase {phrase!r} in a {lang} text:\n{text}"
