"""Managers' charts and exports on Telegram: pictures by sendPhoto, files by sendDocument."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.telegram.conftest import FRIDAY_1730, Bot, Updates, link
from tests.worker.conftest import open_ticket

MANAGER_ID = 8001


def test_sla_sends_the_chart_as_a_photo_and_export_a_csv_document(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    link(seeded, handle="demo-manager", external_id=MANAGER_ID, locale="en")
    open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=FRIDAY_1730,
    )
    texts = bot.deliver(updates.message("/sla 2026-11", user_id=MANAGER_ID, lang="en"))
    assert any("SLA compliance, November 2026" in m.get("text", "") for m in texts)
    [photo] = bot.fake.files(MANAGER_ID)
    assert photo["method"] == "sendPhoto"
    assert photo["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert photo["caption"] == "SLA compliance per month"
    assert any("photo" in m for m in texts)  # the chat shows it as a picture

    bot.deliver(updates.message("/export 2026-11", user_id=MANAGER_ID, lang="en"))
    document = bot.fake.files(MANAGER_ID)[-1]
    assert document["method"] == "sendDocument"
    assert document["filename"] == "tickets-2026-11.csv"
    lines = document["data"].decode("utf-8-sig").splitlines()
    assert lines[0].startswith("reference,contract,intervention")
    assert lines[1].startswith("TLN-2026-000001,")


def test_the_monthly_report_reaches_a_manager_with_its_chart_and_csv(
    bot: Bot, seeded: Engine
) -> None:
    link(seeded, handle="demo-manager", external_id=MANAGER_ID, locale="nl")
    open_ticket(
        seeded,
        pack_id="proximus-internet",
        intervention="no-internet",
        priority="p2",
        now=FRIDAY_1730,
    )
    tuesday_1_december_0900 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    figures = bot.run_worker(tuesday_1_december_0900)
    assert figures["monthly_report"] >= 1
    texts = [m.get("text", "") for m in bot.fake.sent(MANAGER_ID)]
    assert any(t.startswith("Maandrapport, november 2026") for t in texts)
    sent = bot.fake.files(MANAGER_ID)
    assert [f["method"] for f in sent] == ["sendPhoto", "sendDocument"]
    assert sent[1]["filename"] == "tickets-2026-11.csv"
    # A second pass (another worker, a restart) sends nothing more.
    assert "monthly_report" not in bot.run_worker(tuesday_1_december_0900)
    assert len(bot.fake.files(MANAGER_ID)) == 2


def test_the_text_is_sent_before_the_chart_is_drawn(
    bot: Bot, updates: Updates, seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.reports import render

    link(seeded, handle="demo-manager", external_id=MANAGER_ID, locale="en")
    open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=FRIDAY_1730,
    )
    sent_when_drawing: list[list[str]] = []
    draw = render.backlog_png

    def watched(*args: Any) -> bytes:
        sent_when_drawing.append([m.get("text", "") for m in bot.fake.sent(MANAGER_ID)])
        return draw(*args)

    monkeypatch.setattr(render, "backlog_png", watched)
    bot.deliver(updates.message("/status", user_id=MANAGER_ID, lang="en"))
    [texts] = sent_when_drawing
    assert any("Open tickets:" in text for text in texts)  # already in the chat
    [photo] = bot.fake.files(MANAGER_ID)
    assert photo["caption"] == "Open tickets by priority and age"
