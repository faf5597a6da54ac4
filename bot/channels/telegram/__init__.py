"""The Telegram channel: webhook or long polling in, messages with inline keyboards out."""

from __future__ import annotations

import os

# Opt in to python-telegram-bot's coming time-period type (RetryAfter.retry_after as a
# timedelta) instead of the deprecated integer; the code reads both.
os.environ.setdefault("PTB_TIMEDELTA", "true")
