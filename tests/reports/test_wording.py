"""No pack id, intervention id, priority or kind id, nor raw enum value reaches a manager:
the replies of /status, /sla, /credits, /export (and the CSV), the files' captions and the
monthly report are scanned in French, Dutch and English over generated tickets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import LedgerEntryType, Notification, TargetOutcome, TicketStatus
from bot.reports.monthly import previous_month, send_monthly_reports
from bot.settings import Settings
from handlers.core import handle_event
from handlers.model import InboundEvent, reply_text
from pricing.loader import load_packs
from tests.reports.test_numbers import NOW, ZONE, generate

COMMANDS = ("/status", "/sla", "/sla 2026-10", "/sla quarter", "/credits", "/export", "/sla 30d")
# English words that are also enum values: allowed in English text only.
ENGLISH = {
    *("open", "met", "hold", "charge", "closed", "paused", "resolved", "responded", "breached"),
    *("information", "incident", "change", "release", "purchase", "adjustment", "allowance"),
    *("expiry", "waiver", "pending"),
}


def forbidden(lang: str) -> set[str]:
    """Ids and raw values no manager may read in `lang`."""
    words: set[str] = set()
    for pack in load_packs().values():
        words.add(pack.id)
        words.update(p.id for p in pack.priorities)
        words.update(k.id for k in pack.kinds)
        for category in pack.categories:
            words.update(i.id for i in category.interventions)
    for enum in (TicketStatus, TargetOutcome, LedgerEntryType):
        words.update(member.value for member in enum)
    if lang == "en":
        words -= ENGLISH
    if lang == "nl":
        words -= {"open", "met"}  # Dutch words too
    if lang == "fr":
        words -= {"charge", "information"}  # « pris en charge »
    return words


def offenders(text: str, words: set[str]) -> list[str]:
    return sorted(w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text))


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_manager_texts_name_things_in_words(engine: Engine, settings: Settings, lang: str) -> None:
    generate(engine, settings, count=24, seed=11)
    words = forbidden(lang)
    seen: list[str] = []
    for command in (f"/lang {lang}", *COMMANDS):
        event = InboundEvent(
            channel="console",
            chat_id="demo-manager",
            user_external_id="demo-manager",
            received_at=NOW,
            text=command,
        )
        with transaction(engine) as session:
            outcome = handle_event(session=session, event=event, settings=settings)
        texts = [reply_text(reply) for reply in outcome.replies]
        texts += [file.caption for file in outcome.files]
        texts += [
            file.data.decode("utf-8-sig") for file in outcome.files if file.mime == "text/csv"
        ]
        for text in texts:
            assert offenders(text, words) == [], (command, text)
        seen += texts
    assert any("TLN-2026-" in text for text in seen)  # the CSV was scanned
    with transaction(engine) as session:
        send_monthly_reports(
            session=session, settings=settings, now=NOW, period=previous_month(now=NOW, zone=ZONE)
        )
        reports = session.exec(select(Notification).where(Notification.event == "monthly_report"))
        report_texts = [row.text for row in reports if row.lang == lang]
    for text in report_texts:
        assert offenders(text, words) == [], text
