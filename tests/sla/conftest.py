"""Factories for SLA tests: calendars like the packs', local-time helpers, a small pack."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.sla.calendar import BusinessCalendar
from pricing.schema import Calendar, ContractPack

BRUSSELS = ZoneInfo("Europe/Brussels")
WORKWEEK = ("mon", "tue", "wed", "thu", "fri")


def bx(text: str) -> datetime:
    """A Brussels wall-clock time written ``YYYY-MM-DD HH:MM[:SS]`` as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS)


def calendar_source(
    windows: dict[str, list[tuple[str, str]]],
    *,
    cid: str = "test",
    zone: str = "Europe/Brussels",
    country: str | None = "BE",
    business_days: tuple[str, ...] = WORKWEEK,
    closures: tuple[str, ...] = (),
) -> Calendar:
    """A pack calendar from compact window tuples."""
    data: dict[str, Any] = {
        "id": cid,
        "zone": zone,
        "windows": {d: [{"start": s, "end": e} for s, e in ws] for d, ws in windows.items()},
        "business_days": list(business_days),
        "closures": list(closures),
    }
    if country is not None:
        data["holidays"] = {"country": country}
    return Calendar.model_validate(data)


def make_calendar(windows: dict[str, list[tuple[str, str]]], **kwargs: Any) -> BusinessCalendar:
    """A business calendar from compact window tuples."""
    return BusinessCalendar(calendar_source(windows, **kwargs))


def weekdays(start: str, end: str) -> dict[str, list[tuple[str, str]]]:
    """The same window Monday to Friday."""
    return {d: [(start, end)] for d in WORKWEEK}


#: Telenet hosting & cloud opening hours and 24-hour business days.
OPENING = make_calendar(weekdays("08:00", "19:00"), cid="opening-hours")
BUSINESS_DAYS = make_calendar(weekdays("00:00", "24:00"), cid="business-days")
#: Proximus: Internet Pro (08:00-22:00 + Saturday), Basic (08:00-20:00), Maxi (20:00 + Sat).
PRO = make_calendar({**weekdays("08:00", "22:00"), "sat": [("08:00", "16:30")]}, cid="pro")
BASIC = make_calendar(weekdays("08:00", "20:00"), cid="basic")
MAXI = make_calendar({**weekdays("08:00", "20:00"), "sat": [("08:00", "16:30")]}, cid="maxi")
#: Every day all day (business days Mon-Fri): DST nights fall inside windows.
ALL_WEEK = make_calendar(
    {d: [("00:00", "24:00")] for d in (*WORKWEEK, "sat", "sun")},
    cid="all-week",
    business_days=(*WORKWEEK, "sat", "sun"),
)


def _labels(text: str) -> dict[str, str]:
    return {"fr": text, "nl": text, "en": text}


def pack_data() -> dict[str, Any]:
    """A small Telenet-like pack (two priorities, three kinds) as plain data."""
    opening = {
        "id": "opening-hours",
        "windows": {d: [{"start": "08:00", "end": "19:00"}] for d in WORKWEEK},
        "holidays": {"country": "BE"},
    }
    days = {
        "id": "business-days",
        "windows": {d: [{"start": "00:00", "end": "24:00"}] for d in WORKWEEK},
        "holidays": {"country": "BE"},
    }
    bd = {"rule": "business_days_24h", "calendar": "business-days"}
    return {
        "id": "test-pack",
        "provider": "Test",
        "provider_code": "TST",
        "title": _labels("Test"),
        "version": "1",
        "effective_date": "2026-01-01",
        "source": [{"file": "seed.txt", "title": "Seed"}],
        "calendars": [opening, days],
        "default_calendar": "opening-hours",
        "priorities": [
            {"id": "standard", "rank": 1, "labels": _labels("Standard"), "impact": _labels("low")},
            {"id": "express", "rank": 2, "labels": _labels("Express"), "impact": _labels("high")},
        ],
        "kinds": [{"id": k, "labels": _labels(k)} for k in ("incident", "change", "information")],
        "categories": [
            {
                "id": "hosting",
                "labels": _labels("Hosting"),
                "interventions": [
                    {
                        "id": "restore",
                        "labels": _labels("Restore"),
                        "kinds": ["incident"],
                        "prices": {"standard": {"rule": "free"}, "express": {"rule": "free"}},
                    },
                    {
                        "id": "code-question",
                        "labels": _labels("Code question"),
                        "kinds": ["information"],
                        "prices": {"standard": {"rule": "free"}},
                        "response_applies": False,
                        "resolution_applies": False,
                    },
                    {
                        "id": "no-resolution",
                        "labels": _labels("No resolution time"),
                        "kinds": ["incident"],
                        "prices": {"standard": {"rule": "free"}},
                        "resolution_applies": False,
                    },
                    {
                        "id": "migration",
                        "labels": _labels("Migration"),
                        "kinds": ["change"],
                        "prices": {"standard": {"rule": "on_request"}},
                        "routine": False,
                    },
                ],
            }
        ],
        "sla_targets": [
            {
                "kind": "incident",
                "priority": "standard",
                "response": {**bd, "days": 1},
                "resolution": {**bd, "days": 5},
            },
            {
                "kind": "incident",
                "priority": "express",
                "response": {"rule": "business_hours", "hours": 4, "calendar": "opening-hours"},
                "resolution": {**bd, "days": 1},
            },
            {
                "kind": "change",
                "priority": "express",
                "response": {**bd, "days": 1},
                "resolution": {**bd, "days": 3},
            },
        ],
        "balance": {"unit": "credits"},
        "intake": {"ticket_prefix": "TST"},
    }


def leveled_pack_data() -> dict[str, Any]:
    """A Proximus-like pack: targets per service level, one of them the default."""
    data = pack_data()
    basic = {
        "id": "basic",
        "windows": {d: [{"start": "08:00", "end": "20:00"}] for d in WORKWEEK},
        "holidays": {"country": "BE"},
    }
    premium = {
        "id": "premium",
        "windows": {
            **{d: [{"start": "08:00", "end": "22:00"}] for d in WORKWEEK},
            "sat": [{"start": "08:00", "end": "16:30"}],
        },
        "holidays": {"country": "BE"},
    }
    data["calendars"] = [basic, premium]
    data["default_calendar"] = "basic"
    data["sla_targets"] = []
    data["service_levels"] = [
        {
            "id": "pro-plus:basic",
            "labels": _labels("Basic"),
            "calendar": "basic",
            "default": True,
            "targets": [
                {
                    "kind": "incident",
                    "priority": "express",
                    "resolution": {
                        "rule": "end_of_nth_business_day",
                        "days": 1,
                        "calendar": "basic",
                    },
                }
            ],
        },
        {
            "id": "pro-plus:premium",
            "labels": _labels("Premium"),
            "calendar": "premium",
            "targets": [
                {
                    "kind": "incident",
                    "priority": "express",
                    "resolution": {"rule": "business_hours", "hours": 5, "calendar": "premium"},
                },
                {
                    "kind": "incident",
                    "priority": "standard",
                    "resolution": {"rule": "next_business_day", "calendar": "premium"},
                },
            ],
        },
        {
            "id": "essential",
            "labels": _labels("Essential"),
            "targets": [
                {"kind": "incident", "priority": "express", "resolution": {"rule": "best_effort"}}
            ],
        },
    ]
    return data


@pytest.fixture
def pack() -> ContractPack:
    """A Telenet-like pack."""
    return ContractPack.model_validate(pack_data())


@pytest.fixture
def leveled_pack() -> ContractPack:
    """A Proximus-like pack with service levels."""
    return ContractPack.model_validate(leveled_pack_data())
