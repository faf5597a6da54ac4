"""Inputs never crash: at least 10,000 events through the core's public entry on SQLite, and a
shorter run on PostgreSQL.

Random and adversarial text (Unicode digits, 5,000-digit numbers, NUL bytes, control and
bidi characters, 100,000-character commands, out-of-range periods), forged payloads carrying
the live step token, real clicks, bursts of concurrent events of one user, odd platform
locales and clock jumps. The run fails on any traceback (the core logs one for every
exception it swallows), an empty reply, a reply over a platform limit, or a reply that is
not in the user's language.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import ChannelIdentity, Conversation, Tenant, User
from bot.i18n import normalize_language
from bot.services import demo
from bot.settings import Settings
from handlers.core import process
from handlers.edge import locale_of
from handlers.model import (
    MAX_TEXT,
    InboundEvent,
    Option,
    Outcome,
    RefusalReason,
    check_limits,
    reply_options,
    reply_text,
)
from tests.handlers.conftest import FRIDAY_1730
from tests.handlers.i18n_check import _catalog, _fixed_part

HANDLES = ["demo-requester", "demo-agent", "demo-manager", "stranger"]
LOCALES = ["fr", "nl-BE", "en-GB", "de-DE", None, "", "x" * 40, "fr_FR_EURO_LONG", "nl\x00"]

ADVERSARIAL = [
    "²",
    "①",
    "٣",
    "９",
    "1²",
    "9" * 5000,
    "-1",
    "+3",
    "0",
    "00000000000000000000001",
    "a\x00b",
    "\x00",
    "\u202eevil\u202c",
    "\ud800",
    "🔥" * 50,
    "\r\n\t",
    "/sla 9999",
    "/sla 0000-01",
    "/sla 2026-00",
    "/sla 2026-99",
    "/sla 1999",
    "/sla 2101",
    "/sla 99999d",
    "/sla ²d",
    "/credits 0000",
    "/credits 2026-1",
    "/log TLN-2026-000001 ²",
    "/log TLN-2026-000001 " + "9" * 5000,
    "/resolve TLN-2026-000001 ①",
    "/ticket " + "X" * 5000,
    "/" + "x" * 100_000,
    "/people",
    "/lang zz",
    "/start " + "A" * 500,
    "/new",
    "/reclassify TLN-2026-000001",
    "back",
    "retour",
    "terug",
    "« Back",
    "cancel",
]
COMMANDS = [
    "/new",
    "/cancel",
    "/help",
    "/tickets",
    "/tickets all closed",
    "/ticket TLN-2026-000001",
    "/comment TLN-2026-000001 hello",
    "/balance",
    "/lang nl",
    "/lang en",
    "/lang fr",
    "/ack TLN-2026-000001",
    "/queue",
    "/duty off",
    "/pause TLN-2026-000001 waiting for the customer",
    "/resume TLN-2026-000001",
    "/log TLN-2026-000001 30",
    "/resolve TLN-2026-000001 45",
    "/close TLN-2026-000001",
    "/status",
    "/sla",
    "/sla 2026-11",
    "/credits week",
    "/people",
    "/notify office",
]

text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(ADVERSARIAL),
    st.sampled_from(COMMANDS),
    st.integers(min_value=-5, max_value=10**6).map(str),
)
step = st.one_of(
    st.tuples(st.just("text"), text),
    st.tuples(st.just("click"), st.integers(min_value=0, max_value=200).map(str)),
    st.tuples(st.just("forge"), st.one_of(st.text(max_size=60), st.sampled_from(ADVERSARIAL))),
    st.tuples(
        st.just("action"),
        st.one_of(
            st.text(max_size=300),
            st.sampled_from(["t:ack:TLN-2026-000001", "t:resolve:NOPE", "t:zap:x", "c::", "t:"]),
        ),
    ),
    st.tuples(st.just("burst"), st.sampled_from(COMMANDS + ADVERSARIAL[:12])),
    st.tuples(st.just("jump"), st.integers(min_value=-10, max_value=60 * 24 * 40).map(str)),
    st.tuples(st.just("locale"), st.sampled_from([str(i) for i in range(len(LOCALES))])),
)

# ----------------------------------------------------------------------------- checks


@cache
def _foreign_phrases(lang: str) -> tuple[str, ...]:
    own = {_fixed_part(value) for value in _catalog(lang).values()}
    phrases = {
        phrase
        for other in ("fr", "nl", "en")
        if other != lang
        for msgid, msgstr in _catalog(other).items()
        if len(phrase := _fixed_part(msgstr or msgid)) >= 14 and phrase not in own
    }
    return tuple(sorted(phrases))


def _language(engine: Engine, handle: str, locale: str | None, default: str) -> str:
    """The language the user must be answered in (their choice, platform, tenant, default)."""
    with transaction(engine) as session:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "console", ChannelIdentity.external_id == handle
            )
        ).first()
        user = None if identity is None else session.get(User, identity.user_id)
        tenant = (
            None if user is None or user.tenant_id is None else session.get(Tenant, user.tenant_id)
        )
        stored = None if identity is None else identity.platform_locale
        for candidate in (
            None if user is None else user.locale,
            locale_of(locale),
            stored if user is not None else None,
            None if tenant is None else tenant.default_locale,
            default,
        ):
            lang = normalize_language(candidate)
            if lang is not None:
                return lang
    return default


class TracebackCatcher(logging.Handler):
    """Collects every record logged with an exception."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.exc_text:
            self.failures.append(self.format(record) + "\n" + (record.exc_text or ""))


@dataclass
class Run:
    """One fuzzed user session on a database."""

    engine: Engine
    settings: Settings
    handle: str
    now: datetime = FRIDAY_1730
    locale: str | None = "fr"
    options: tuple[Option, ...] = ()
    events: int = 0
    problems: list[str] = field(default_factory=list)

    def event(self, *, text: str | None = None, action: str | None = None) -> InboundEvent:
        return InboundEvent(
            channel="console",
            chat_id=self.handle,
            user_external_id=self.handle,
            received_at=self.now,
            text=text,
            action=action,
            platform_locale=self.locale,
        )

    def check(self, what: str, outcome: Outcome, lang: str) -> None:
        self.events += 1
        if not outcome.replies:
            self.problems.append(f"no reply to {what!r}")
        if outcome.refusal is not None and outcome.refusal.reason is RefusalReason.ERROR:
            self.problems.append(f"internal error on {what[:80]!r}")
        for reply in outcome.replies:
            try:
                check_limits(reply)
            except AssertionError as exc:
                self.problems.append(f"limits on {what[:80]!r}: {exc}")
            body = reply_text(reply)
            if len(body) > MAX_TEXT:
                self.problems.append(f"{len(body)} characters answering {what[:80]!r}")
            for phrase in _foreign_phrases(lang):
                if phrase in body:
                    self.problems.append(f"{phrase!r} in a {lang} reply to {what[:80]!r}")
                    break
        if outcome.lang != lang:
            self.problems.append(f"answered in {outcome.lang}, not {lang}, to {what[:80]!r}")

    def lang(self) -> str:
        """The user's language as the event leaves it (`/lang` changes it at once)."""
        return _language(self.engine, self.handle, self.locale, self.settings.default_locale)

    def send(self, *, text: str | None = None, action: str | None = None) -> None:
        outcome = process(
            engine=self.engine, event=self.event(text=text, action=action), settings=self.settings
        )
        self.check(repr(text if action is None else action), outcome, self.lang())
        found = [o for reply in outcome.replies for o in reply_options(reply)]
        self.options = tuple(found) or self.options

    def burst(self, value: str) -> None:
        """Three events of this user at once, each in its own thread and transaction."""
        outcomes: list[Outcome] = []

        def one() -> None:
            event = self.event(text=value)
            outcomes.append(process(engine=self.engine, event=event, settings=self.settings))

        threads = [threading.Thread(target=one) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lang = self.lang()
        for outcome in outcomes:
            self.check(f"burst {value[:60]!r}", outcome, lang)

    def token(self) -> str:
        with transaction(self.engine) as session:
            conversation = session.exec(
                select(Conversation).where(Conversation.chat_id == self.handle)
            ).first()
            return "" if conversation is None else conversation.token

    def play(self, kind: str, value: str) -> None:
        if kind == "click" and self.options:
            self.send(action=self.options[int(value) % len(self.options)].payload)
        elif kind == "forge":
            self.send(action=f"c:{self.token()}:{value}")
        elif kind == "action":
            self.send(action=value)
        elif kind == "burst":
            self.burst(value)
        elif kind == "jump":
            self.now += timedelta(minutes=int(value))
        elif kind == "locale":
            self.locale = LOCALES[int(value)]
        else:
            self.send(text=value or " ")


# ----------------------------------------------------------------------------- databases


def _seed(engine: Engine) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=FRIDAY_1730)


@pytest.fixture(scope="module")
def sqlite_template() -> Iterator[Path]:
    from bot.db.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="fuzz-events-"))
    path = folder / "template.db"
    upgrade(url=f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    _seed(engine)
    engine.dispose()
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def _fuzz(make_engine_for_example: object, *, examples: int, steps: int, minimum: int) -> None:
    catcher = TracebackCatcher()
    logging.getLogger().addHandler(catcher)
    total = {"events": 0}
    base = Settings(_env_file=None)  # type: ignore[call-arg]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same events on every run: no flaky suite
        phases=[Phase.explicit, Phase.generate],  # a failure is reported as found, unshrunk
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        handle=st.sampled_from(HANDLES),
        default=st.sampled_from(["fr", "nl", "en"]),
        plan=st.lists(step, min_size=steps, max_size=steps),
    )
    def run(handle: str, default: str, plan: list[tuple[str, str]]) -> None:
        engine, cleanup = make_engine_for_example()  # type: ignore[operator]
        try:
            session = Run(
                engine=engine,
                settings=base.model_copy(update={"default_locale": default}),
                handle=handle,
            )
            if handle == "demo-requester":
                session.send(text="/new")
            for kind, value in plan:
                session.play(kind, value)
            total["events"] += session.events
            assert session.problems == [], session.problems[:5]
            assert catcher.failures == [], catcher.failures[0][-3000:]
        finally:
            cleanup()

    try:
        run()
    finally:
        logging.getLogger().removeHandler(catcher)
    assert total["events"] >= minimum


def test_ten_thousand_events_on_sqlite(sqlite_template: Path) -> None:
    def fresh() -> tuple[Engine, object]:
        folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
        path = folder / "fuzz.db"
        shutil.copyfile(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")

        def cleanup() -> None:
            engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)

        return engine, cleanup

    _fuzz(
        fresh,
        examples=int(os.environ.get("FUZZ_EXAMPLES", "220")),
        steps=48,
        minimum=10_000 if "FUZZ_EXAMPLES" not in os.environ else 1,
    )


@pytest.mark.postgres
def test_a_shorter_run_on_postgresql(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.worker.pg import start_postgres

    try:
        server = start_postgres(tmp_path_factory.mktemp("pg-fuzz"))
    except Exception as exc:  # no server binaries here: say so
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:

        def fresh() -> tuple[Engine, object]:
            engine = make_engine(server.new_database())
            _seed(engine)
            return engine, engine.dispose

        _fuzz(fresh, examples=25, steps=40, minimum=900)
    finally:
        server.stop()


def test_the_catcher_sees_a_swallowed_exception() -> None:
    catcher = TracebackCatcher()
    log = logging.getLogger("fuzz.self-test")
    log.addHandler(catcher)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(catcher)
    assert catcher.failures
    assert re.search("boom", catcher.failures[0])
