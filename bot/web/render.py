"""Jinja2 templates of the dashboard, rendered in the reader's language."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse

from bot.i18n import Translator

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

# The pages hold personal data and a form token: never cached, never framed, no referrer
# (the login link is in the URL), scripts and styles from this server only.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment (autoescaped HTML, strict about undefined names)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def words(t: Translator) -> dict[str, Any]:
    """The translation functions templates call: `_("…", name=value)`, `ngettext`."""

    def gettext(message: str, **values: Any) -> str:
        text = t.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return t.ngettext(singular, plural, n) % {"num": n, **values}

    def when(instant: datetime | None, zone: str) -> str:
        return "" if instant is None else t.datetime(instant, zone)

    return {
        "_": gettext,
        "ngettext": ngettext,
        "number": t.number,
        "when": when,
        "lang": t.lang,
    }


def page(
    template: str, t: Translator, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A rendered page with the dashboard's security headers."""
    html = environment().get_template(template).render(**words(t), **context)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)
