"""Secrets never leave the process: redaction of log records and of URLs shown to operators.

`install(settings)` runs in every entry point. It wraps the log-record factory, so every
record of every logger (httpx request lines with the Telegram token in the path, SDK
exception texts, uvicorn, our own messages) is rendered and redacted once, when created,
before any handler or formatter sees it.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.settings import MASK, QUERY_SECRET, SECRET_KEY, Settings, mask_url

__all__ = ["MASK", "configure_logging", "install", "mask_url", "redact", "secrets_of"]

# Shapes of secrets even when they are not (or no longer) in the settings.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<=/bot)\d{3,}:[A-Za-z0-9_-]{20,}"),  # Telegram token in a Bot API URL
    re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b"),  # a bare Telegram token
    re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{6,}"),  # Slack bot, user and legacy tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),  # Slack app-level token
    re.compile(r"(?<=://)([^/\s:@]+):[^/\s@]+(?=@)"),  # user:password@ in any URL
    re.compile(r"(?<=/dashboard/login/)[A-Za-z0-9_.-]{8,}"),  # a dashboard login link
)

_lock = threading.Lock()
_secrets: set[str] = set()
_base_factory: Callable[..., logging.LogRecord] | None = None


def secrets_of(settings: Settings) -> set[str]:
    """The literal secret values the settings hold (tokens, signing secret, DB password)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            secret = str(value.get_secret_value())
            if len(secret) >= 4:
                found.add(secret)
    password = urlsplit(settings.database_url).password
    if password and len(password) >= 3:
        found.add(password)
    for key, value in parse_qsl(urlsplit(settings.database_url).query):
        if SECRET_KEY.fullmatch(key) and len(value) >= 3:
            found.add(value)
    return found


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret and every secret-shaped value masked."""
    for secret in sorted({*_secrets, *extra}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: f"{m.group(1)}:{MASK}", text)
        else:
            text = pattern.sub(MASK, text)
    return QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


def _redact_in_place(record: logging.LogRecord) -> bool:
    """Redact the format and each argument, keeping the record's shape.

    Formatters that read the arguments themselves (uvicorn's access log) keep working; False
    when a secret would survive that way (the caller then flattens the message).
    """
    if not isinstance(record.msg, str) or not isinstance(record.args, tuple):
        return False
    args = tuple(redact(str(arg)) if redact(str(arg)) != str(arg) else arg for arg in record.args)
    msg = redact(record.msg)
    try:
        rendered = msg % args
    except (TypeError, ValueError):
        return False
    if redact(rendered) != rendered:
        return False
    record.msg, record.args = msg, args
    return True


def _redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep its parts, redacted
        message = f"{record.msg} {record.args}"
    clean = redact(message)
    if clean != message and not _redact_in_place(record):
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(text)  # formatters print exc_text instead of re-rendering
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install(settings: Settings | None = None, *, extra: Iterable[str] = ()) -> None:
    """Redact the secrets of `settings` (and `extra`) from every log record from now on."""
    global _base_factory
    with _lock:
        if settings is not None:
            _secrets.update(secrets_of(settings))
        _secrets.update(s for s in extra if len(s) >= 4)
        if _base_factory is None:
            _base_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_redacted_record)


def configure_logging(settings: Settings) -> None:
    """Basic logging for a long-running command, with redaction installed first."""
    install(settings)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
