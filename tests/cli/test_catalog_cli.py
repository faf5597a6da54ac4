"""`supportbot catalog …` as a maintainer or another tool uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.cli.main import app

REPO = Path(__file__).resolve().parents[2]
PACKS = REPO / "pricing" / "packs"
FIFTH = REPO / "tests" / "pricing" / "data" / "nordlicht-hosting.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["catalog", *args], terminal_width=200)


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["validate"], ["search"], ["schema"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_list() -> None:
    rows = {row["id"]: row for row in run_json("list")}
    # Issue 14: the pack's non-routine path is one more catalog row (category on-quote).
    assert (
        rows["telenet-hosting-cloud"]["categories"],
        rows["telenet-hosting-cloud"]["interventions"],
    ) == (9, 45)
    assert (
        rows["telenet-webhosting"]["categories"],
        rows["telenet-webhosting"]["interventions"],
    ) == (5, 26)
    text = run("list")
    assert text.exit_code == 0
    assert "telenet-webhosting" in text.stdout


@pytest.mark.parametrize(
    ("pack_id", "categories", "interventions"),
    # Issue 14: the annex rows plus the on-quote row (the pack's non-routine path).
    [("telenet-hosting-cloud", 9, 45), ("telenet-webhosting", 5, 26)],
)
def test_show_json_counts(pack_id: str, categories: int, interventions: int) -> None:
    data = run_json("show", pack_id)
    assert data["id"] == pack_id
    assert len(data["categories"]) == categories
    assert sum(len(c["interventions"]) for c in data["categories"]) == interventions
    assert set(data["categories"][0]["interventions"][0]["labels"]) == {"fr", "nl", "en"}


def test_show_json_in_one_language() -> None:
    data = run_json("show", "telenet-webhosting", "--lang", "nl")
    assert set(data["priorities"][0]["labels"]) == {"nl"}


def test_show_text_in_the_chosen_language() -> None:
    french = run("show", "telenet-hosting-cloud", "--lang", "fr")
    assert french.exit_code == 0
    assert "Importer des fichier PST vers une boîte de messagerie Exchange" in french.stdout
    assert "5 crédits / fichier PST" in french.stdout
    assert "non disponible" in french.stdout
    assert "gratuit" in french.stdout
    dutch = run("show", "telenet-webhosting", "--lang", "nl")
    assert "Integratie van een SSL-certificaat in het webhostingplatform" in dutch.stdout
    assert "Standaard: gratis; Express: 3 credits / 15 min" in dutch.stdout
    english = run("show", "telenet-webhosting")
    assert "Standard: free; Express: 3 credits / 15 min" in english.stdout
    assert "no response time" in english.stdout


@pytest.mark.parametrize("command", [["show", "nope"], ["search", "nope", "server down"]])
def test_unknown_pack_is_one_line_and_exit_2(command: list[str]) -> None:
    result = run(*command)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown pack 'nope'")


def test_invalid_language_is_a_usage_error() -> None:
    assert run("show", "telenet-webhosting", "--lang", "de").exit_code == 2


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("mijn server ligt plat", "nl"),
        ("mon serveur est en panne", "fr"),
        ("my server is down", "en"),
    ],
)
def test_search_json(text: str, lang: str) -> None:
    hits = run_json("search", "telenet-hosting-cloud", text, "--lang", lang)
    assert hits[0]["id"] == "dedicated-server-down-not-hardware"
    assert set(hits[0]) == {"id", "category", "labels", "score"}
    assert hits[0]["category"] == "dedicated-servers"
    assert set(hits[0]["labels"]) == {"fr", "nl", "en"}
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_search_text_and_limit() -> None:
    result = run("search", "telenet-webhosting", "certificat SSL", "--limit", "2")
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == 2
    nothing = run("search", "telenet-webhosting", "qwxz")
    assert nothing.stdout.strip() == "no match"


def test_validate_good_files_and_directories() -> None:
    result = run("validate", str(PACKS), str(FIFTH))
    assert result.exit_code == 0, result.output
    # Issue 14: the pack's non-routine path is one more catalog row (category on-quote).
    assert "telenet-hosting-cloud: 9 categories, 45 interventions" in result.stdout
    assert "nordlicht-hosting" in result.stdout


def test_validate_reports_file_path_and_reason(tmp_path: Path) -> None:
    text = FIFTH.read_text(encoding="utf-8").replace("kinds: [information]", "kinds: [question]")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    result = run("validate", str(FIFTH), str(broken))
    assert result.exit_code == 1
    assert (
        f"error: {broken}: categories[storage].interventions[snapshot-question].kinds: "
        "unknown kind 'question'"
    ) in result.stderr
    assert "ok: " in result.stdout


def test_schema_matches_the_committed_file() -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert result.stdout == (REPO / "pricing" / "pack.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.stdout)["title"] == "ContractPack"


def test_alteo_prices_are_hours_of_the_time_bank_never_credits() -> None:
    # Issue 15 item 12: "0,25 h / 15 min", not "0,25 crédits / 15 min".
    for lang, expected in (("fr", "0,25 h / 15 min"), ("nl", "0,25 u / 15 min")):
        result = run("show", "alteo-hosting", "--lang", lang)
        assert result.exit_code == 0
        assert expected in result.stdout
        assert "crédits" not in result.stdout
        assert "credits" not in result.stdout
    assert "0.25 h / 15 min" in run("show", "alteo-hosting", "--lang", "en").stdout
