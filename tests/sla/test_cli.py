"""`supportbot sla due` and `supportbot sla explain` against the shipped packs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli.sla import app

runner = CliRunner()

TELENET = ["--pack", "telenet-hosting-cloud", "--kind", "incident", "--priority", "express"]


def due_json(*args: str) -> dict[str, str | None]:
    result = runner.invoke(app, ["due", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, str | None] = json.loads(result.stdout)
    return data


def test_acceptance() -> None:
    assert due_json(*TELENET, "--logged", "2026-11-20T17:30:00+01:00") == {
        "response_due": "2026-11-23T10:30:00+01:00",
        "resolution_due": "2026-11-23T17:30:00+01:00",
        "response_target": "4 business hours",
        "resolution_target": "1 business day (24 h)",
    }


def test_utc_input_is_shown_in_the_contract_zone() -> None:
    data = due_json(*TELENET, "--logged", "2026-07-03T15:30:00Z")
    assert data["response_due"] == "2026-07-06T10:30:00+02:00"
    assert data["resolution_due"] == "2026-07-06T17:30:00+02:00"


def test_pauses() -> None:
    data = due_json(
        *TELENET,
        "--logged",
        "2026-11-24T10:00:00+01:00",
        "--pause",
        "2026-11-24T11:00:00+01:00/2026-11-24T12:00:00+01:00",
    )
    assert data["response_due"] == "2026-11-24T15:00:00+01:00"
    assert data["resolution_due"] == "2026-11-25T11:00:00+01:00"
    held = due_json(
        *TELENET, "--logged", "2026-11-24T10:00:00+01:00", "--pause", "2026-11-24T11:00+01:00/"
    )
    assert held["response_due"] is None
    assert held["response_target"] == "4 business hours"


def test_intervention_without_times() -> None:
    data = due_json(
        *TELENET,
        "--logged",
        "2026-11-24T10:00:00+01:00",
        "--intervention",
        "hacked-website-investigation",
    )
    assert data == {
        "response_due": None,
        "resolution_due": None,
        "response_target": None,
        "resolution_target": None,
    }
    result = runner.invoke(
        app,
        ["due", *TELENET, "--logged", "2026-11-24T10:00:00+01:00", "--intervention", "nope"],
    )
    assert result.exit_code == 2
    assert "nope" in result.stderr


@pytest.mark.parametrize(
    ("args", "due", "target"),
    [
        (
            [
                "--service-level",
                "internet-maxi-bizz",
                "--priority",
                "p1",
                "--logged",
                "2026-11-21T12:59:00+01:00",
            ],
            "2026-11-21T16:30:00+01:00",
            "same day",
        ),
        (
            [
                "--service-level",
                "internet-maxi-bizz:default",
                "--priority",
                "p1",
                "--logged",
                "2026-11-21T13:00:00+01:00",
            ],
            "2026-11-23T20:00:00+01:00",
            "same day",
        ),
        (
            [
                "--service-level",
                "internet-pro-plus:premium",
                "--priority",
                "p1",
                "--logged",
                "2026-11-21T12:59:00+01:00",
            ],
            "2026-11-23T09:29:00+01:00",
            "5 business hours",
        ),
        (
            [
                "--service-level",
                "internet-pro-plus",
                "--priority",
                "p1",
                "--logged",
                "2026-11-20T21:00:00+01:00",
            ],
            "2026-11-23T20:00:00+01:00",
            "end of next business day",
        ),
        (
            [
                "--service-level",
                "internet-pro",
                "--priority",
                "p2",
                "--logged",
                "2026-11-20T10:00:00+01:00",
            ],
            "2026-11-23T22:00:00+01:00",
            "next business day",
        ),
        (
            [
                "--service-level",
                "internet-essential",
                "--priority",
                "p1",
                "--logged",
                "2026-11-20T10:00:00+01:00",
            ],
            None,
            "best effort",
        ),
    ],
)
def test_proximus_service_levels(args: list[str], due: str | None, target: str) -> None:
    data = due_json("--pack", "proximus-internet", "--kind", "incident", *args)
    assert data["response_due"] is None
    assert data["response_target"] is None
    assert data["resolution_due"] == due
    assert data["resolution_target"] == target


def test_alteo_gtr_in_paris_time_with_an_option() -> None:
    base = ["--pack", "alteo-hosting", "--kind", "incident", "--priority", "critical"]
    data = due_json(*base, "--logged", "2026-03-28T23:30:00+01:00")
    assert data["resolution_due"] == "2026-03-29T04:30:00+02:00"
    data = due_json(*base, "--logged", "2026-03-28T23:30:00+01:00", "--option", "gtr_hours=2")
    assert data["resolution_due"] == "2026-03-29T01:30:00+01:00"


def test_text_output() -> None:
    result = runner.invoke(app, ["due", *TELENET, "--logged", "2026-11-20T17:30:00+01:00"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "response due:   2026-11-23T10:30:00+01:00  (4 business hours)",
        "resolution due: 2026-11-23T17:30:00+01:00  (1 business day (24 h))",
    ]


def test_explain_lists_windows_holidays_pauses_and_due() -> None:
    result = runner.invoke(
        app,
        [
            "explain",
            *TELENET,
            "--logged",
            "2026-12-24T17:30:00+01:00",
            "--pause",
            "2026-12-28T09:00:00+01:00/2026-12-28T10:00:00+01:00",
        ],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Thu 2026-12-24  counted 17:30-19:00 (1 h 30 min)" in text
    assert "Fri 2026-12-25  skipped: public holiday: Christmas Day" in text
    assert "Sat 2026-12-26  skipped: no window (weekend)" in text
    assert (
        "Mon 2026-12-28  counted 08:00-09:00, 10:00-11:30 (2 h 30 min); paused 09:00-10:00" in text
    )
    assert "due      Mon 2026-12-28T11:30:00+01:00" in text
    assert "Thu 2026-12-24  counted 17:30-24:00 (6 h 30 min)" in text
    assert "due      Mon 2026-12-28T18:30:00+01:00" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*TELENET, "--logged", "2026-11-20T17:30:00"], "has no UTC offset"),
        ([*TELENET, "--logged", "friday"], "not an ISO 8601"),
        (
            [
                "--pack",
                "nope",
                "--kind",
                "incident",
                "--priority",
                "express",
                "--logged",
                "2026-11-20T17:30:00Z",
            ],
            "unknown pack",
        ),
        (
            [
                "--pack",
                "telenet-hosting-cloud",
                "--kind",
                "incident",
                "--priority",
                "p1",
                "--logged",
                "2026-11-20T17:30:00Z",
            ],
            "no priority 'p1'",
        ),
        (
            [
                "--pack",
                "telenet-hosting-cloud",
                "--kind",
                "question",
                "--priority",
                "express",
                "--logged",
                "2026-11-20T17:30:00Z",
            ],
            "no request kind 'question'",
        ),
        (
            [*TELENET, "--logged", "2026-11-20T17:30:00Z", "--pause", "2026-11-20T18:00Z"],
            "START/END",
        ),
        (
            [
                *TELENET,
                "--logged",
                "2026-11-20T17:30:00Z",
                "--pause",
                "2026-11-20T18:00Z/2026-11-20T17:00Z",
            ],
            "ends before it starts",
        ),
        (
            [
                "--pack",
                "proximus-internet",
                "--kind",
                "incident",
                "--priority",
                "p1",
                "--logged",
                "2026-11-20T17:30:00Z",
            ],
            "needs a service level",
        ),
        (
            [
                "--pack",
                "proximus-internet",
                "--service-level",
                "gold",
                "--kind",
                "incident",
                "--priority",
                "p1",
                "--logged",
                "2026-11-20T17:30:00Z",
            ],
            "no service level 'gold'",
        ),
    ],
)
@pytest.mark.parametrize("command", ["due", "explain"])
def test_bad_input_is_one_line_and_exit_code_2(command: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, [command, *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_explain_a_paused_clock_and_best_effort() -> None:
    paused = runner.invoke(
        app,
        [
            "explain",
            "--pack",
            "telenet-webhosting",
            "--kind",
            "incident",
            "--priority",
            "express",
            "--logged",
            "2026-03-27T16:30:00+01:00",
            "--pause",
            "2026-03-27T17:00:00+01:00/",
        ],
    )
    assert paused.exit_code == 0, paused.output
    assert "Fri 2026-03-27  counted 16:30-17:00 (30 min)" in paused.stdout
    assert "still paused" in paused.stdout
    assert "due      unknown while the clock is paused" in paused.stdout
    assert "resolution: no target" in paused.stdout
    best = runner.invoke(
        app,
        [
            "explain",
            "--pack",
            "proximus-internet",
            "--service-level",
            "internet-essential",
            "--kind",
            "incident",
            "--priority",
            "p1",
            "--logged",
            "2026-03-28T23:30:00+01:00",
        ],
    )
    assert best.exit_code == 0, best.output
    assert "no due instant (best effort)" in best.stdout


@pytest.mark.parametrize(
    ("logged", "rule", "due"),
    [
        (
            "2027-03-27T12:30:00+01:00",
            "same-day cutoff 13:00 on Sat: logged before it, so the close of today's window",
            "due      Sat 2027-03-27T16:30:00+01:00",
        ),
        (
            # After Saturday's cutoff: Sunday has no window, Easter Monday is a holiday, and
            # the clocks went forward on the 28th: due Tuesday at 20:00 summer time.
            "2027-03-27T13:30:00+01:00",
            "same-day cutoff 13:00 on Sat: logged at or after it, so the next day with a window",
            "due      Tue 2027-03-30T20:00:00+02:00",
        ),
    ],
)
def test_explain_names_the_same_day_cutoff(logged: str, rule: str, due: str) -> None:
    result = runner.invoke(
        app,
        [
            "explain",
            "--pack",
            "proximus-internet",
            "--service-level",
            "internet-maxi-bizz",
            "--kind",
            "incident",
            "--priority",
            "p1",
            "--logged",
            logged,
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"  rule     {rule}" in result.stdout
    assert "Mon 2027-03-29  skipped: public holiday: Easter Monday" in result.stdout or (
        "2027-03-29" not in result.stdout
    )
    assert due in result.stdout
