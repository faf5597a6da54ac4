"""Runtime settings: one pydantic-settings class, read from SUPPORTBOT_* and `.env`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MASK = "**********"
# Query-string parameters of a URL that carry secrets (`?password=…`, `?sslpassword=…`).
SECRET_KEY = re.compile(r"(?i)password|passwd|pwd|secret|token|sslpassword")
QUERY_SECRET = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|sslpassword)=([^&\s\"']+)")


def mask_url(url: str) -> str:
    """A database URL for display: the password (in the user part or the query) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in creds else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = [
            (key, MASK if SECRET_KEY.fullmatch(key) else value)
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


DEFAULT_DATABASE_URL = "sqlite:///./var/supportbot.db"


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    default_locale: Literal["fr", "nl", "en"] = "fr"
    zone: str = "Europe/Brussels"
    log_level: str = "INFO"
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    conversation_idle_minutes: int = Field(default=30, ge=1)
    invite_valid_days: int = Field(default=7, ge=1)
    sla_warning_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.75, 0.9])
    run_worker_in_serve: bool = True
    manager_daily_digest: bool = False
    manager_digest_time: time = Field(
        default=time(8, 0), description="Local time (in `zone`) of the managers' daily digest."
    )
    monthly_report: bool = Field(
        default=True,
        description="Send each manager the previous month's report (figures, chart, CSV) on "
        "the first business day of the month.",
    )
    monthly_report_time: time = Field(
        default=time(9, 0), description="Local time (in `zone`) of the monthly report."
    )

    worker_max_sleep_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait of the dispatcher and senders: the bound within which rows "
        "written by another process are noticed (the same process wakes them at once).",
    )
    worker_batch_size: int = Field(default=200, ge=1, description="Milestones per transaction.")
    worker_clock_scale: float = Field(
        default=1.0, gt=0, description="Run the worker's clock this many times faster (demos)."
    )
    worker_clock_origin: datetime | None = Field(
        default=None,
        description="Shift the worker's clock: it reads this instant at worker_clock_real_origin "
        "(default: when the worker starts).",
    )
    worker_clock_real_origin: datetime | None = None
    worker_clock_file: Path | None = Field(
        default=None,
        description="Read the worker's clock from this file (an ISO instant another process "
        "rewrites): crash tests move time themselves, independently of the machine's speed.",
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, description="Failed attempts before a message is dead-lettered."
    )
    notify_backoff_seconds: float = Field(default=5.0, gt=0, description="First retry delay.")
    notify_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notify_lease_seconds: float = Field(
        default=120.0, gt=0, description="How long a claimed message is reserved for its sender."
    )
    console_delivery: Literal["inbox", "log"] = Field(
        default="inbox",
        description="inbox: console messages wait for the console session (`supportbot chat`); "
        "log: the worker appends them to console_log_path as JSON lines.",
    )
    console_log_path: Path = Path("var/console-notifications.jsonl")
    console_files_dir: Path = Field(
        default=Path("var/files"),
        description="Where the console channel writes the files the bot sends (charts, CSV).",
    )

    note_prefix: str = Field(
        default="!note",
        min_length=1,
        description="In an agents' thread (Slack) or reply to a ping (Telegram), a message "
        "starting with this is an internal note; any other is a reply to the customer.",
    )
    webhook_max_body_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest request body the webhooks accept; larger ones get 413 unread.",
    )
    api_docs: bool = Field(
        default=False, description="Serve /docs, /redoc and /openapi.json (off in production)."
    )
    max_credit_amount: Decimal = Field(
        default=Decimal("1000000"),
        gt=0,
        description="Largest purchase or adjustment, in credits or euros, per operation.",
    )

    attachment_max_bytes: int = Field(
        default=20_000_000,
        ge=1,
        description="Largest file a customer or an agent may attach to a ticket, in bytes.",
    )
    attachments_per_ticket: int = Field(
        default=20, ge=1, description="Most files one ticket may carry."
    )
    auto_close_business_days: int = Field(
        default=5,
        ge=1,
        description="A resolved ticket the customer did not answer closes after this many "
        "business days of its contract.",
    )
    reopen_window_days: int = Field(
        default=10, ge=0, description="A closed ticket can be reopened this many days after."
    )

    retention_days: int = Field(
        default=30,
        ge=1,
        description="Handled inbound payloads and sent, dead or dropped notifications older "
        "than this are pruned by the worker (tickets, events and ledger entries never are).",
    )
    retention_batch_size: int = Field(
        default=500, ge=1, description="Rows deleted per transaction."
    )
    inbox_max_attempts: int = Field(
        default=5, ge=1, description="Failed attempts of an inbound event before it is parked."
    )
    inbox_max_claims: int = Field(
        default=50,
        ge=1,
        description="Claims of an inbound event that never finish (its process stopped each "
        "time) before it is parked.",
    )
    inbox_concurrency: int = Field(
        default=8, ge=1, description="Chats whose events one process handles at the same time."
    )
    core_threads: int = Field(
        default=2,
        ge=1,
        description="Events the core works on at once in one process (it holds the GIL: "
        "more at once only delay the acknowledgements and replies of the others).",
    )
    inbox_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a claimed event is reserved (renewed while it is worked).",
    )
    inbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep of the inbox drainer between claims."
    )
    inbox_order_window_ms: int = Field(
        default=100,
        ge=0,
        description="An event waits this long after arrival, so an earlier one of its chat "
        "delivered concurrently goes first.",
    )
    inbound_payload_max_chars: int = Field(
        default=65_536,
        ge=1024,
        description="Longest raw inbound payload stored; a longer one is kept truncated, marked.",
    )

    dashboard_base_url: str | None = Field(
        default=None,
        description="Public base URL of `serve` used in dashboard login links "
        "(default: http://HOST:PORT); an https URL makes the session cookie Secure.",
    )
    dashboard_session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="How long a dashboard session stays open."
    )
    dashboard_secret_key: SecretStr | None = Field(
        default=None,
        description="Key signing dashboard links and sessions (32+ characters); when unset, "
        "one is generated on first use and stored in the database.",
    )

    telegram_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_agents_groups: dict[str, int] = Field(
        default_factory=dict,
        description='Provider code → agents group chat id, e.g. {"TLN": -100…}.',
    )
    telegram_messages_per_second: float = Field(
        default=30.0,
        ge=6,
        description="Messages the bot sends per second in all (Telegram's flood limit is about "
        "30; a local Bot API server without that limit allows more).",
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_agents_channels: dict[str, str] = Field(
        default_factory=dict, description='Provider code → agents channel id, e.g. {"TLN": "C…"}.'
    )
    slack_command: str = Field(
        default="/support", description="The slash command declared in the Slack app manifest."
    )
    slack_send_interval_seconds: float = Field(
        default=1.0, ge=0, description="Minimum spacing of outbox messages to one Slack channel."
    )

    def sqlite_path(self) -> Path | None:
        """The database file when the URL is SQLite, else None."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        return Path(self.database_url[len(prefix) :])

    def dashboard_url(self) -> str:
        """The dashboard's public base URL, without a trailing slash."""
        base = self.dashboard_base_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/")

    def masked(self) -> dict[str, object]:
        """The effective settings with secrets masked, for display."""
        shown: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr):
                shown[name] = "**********"
            elif name == "database_url" and isinstance(value, str):
                shown[name] = mask_url(value)
            else:
                shown[name] = value
        return shown


_current: ContextVar[Settings | None] = ContextVar("supportbot_settings", default=None)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own `Settings`)."""
    return Settings()


def current_settings() -> Settings:
    """The settings in force: those of the event being handled, else the process-wide ones."""
    return _current.get() or get_settings()


@contextmanager
def using_settings(settings: Settings) -> Iterator[Settings]:
    """Make `settings` the ones `get_settings()` returns inside this block (and its thread)."""
    token = _current.set(settings)
    try:
        yield settings
    finally:
        _current.reset(token)
