"""Loading, cross-checking and rendering contract packs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from pricing.loader import (
    DEFAULT_PACKS_DIR,
    PackError,
    UnknownInterventionError,
    UnknownPackError,
    find_intervention,
    get_pack,
    load_pack_file,
    load_packs,
    max_priority,
    pack_json_schema,
    pack_to_json,
)
from pricing.schema import ContractPack, Labels
from pricing.search import search_catalog

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(DEFAULT_PACKS_DIR.glob("*.yaml"))
FIFTH = Path(__file__).resolve().parent / "data" / "nordlicht-hosting.yaml"
TELENET = DEFAULT_PACKS_DIR / "telenet-hosting-cloud.yaml"
FIRST_ROW = "categories[dedicated-servers].interventions[dedicated-server-manual-restart]"


def _labels(node: Any, where: str = "") -> Iterator[tuple[str, Labels]]:
    """Every Labels object inside a model, with where it sits."""
    if isinstance(node, Labels):
        yield where, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _labels(getattr(node, name), f"{where}.{name}")
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _labels(item, f"{where}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _labels(item, f"{where}.{key}")


def test_the_shipped_directory_has_packs() -> None:
    assert {p.stem for p in SHIPPED} >= {"telenet-hosting-cloud", "telenet-webhosting"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_pack_loads_with_every_label_in_three_languages(path: Path) -> None:
    pack = load_pack_file(path)
    assert pack.id == path.stem
    found = list(_labels(pack))
    assert found
    for where, labels in found:
        for lang in ("fr", "nl", "en"):
            assert getattr(labels, lang).strip(), f"{path.name}{where}.{lang} is blank"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_pack_to_json_has_the_published_shape(path: Path) -> None:
    pack = load_pack_file(path)
    data = pack_to_json(pack)
    assert set(data) == {
        "id", "provider", "version", "source", "priorities", "categories", "service_levels"
    }  # fmt: skip
    assert all(isinstance(name, str) for name in data["source"])
    ranks = [p["rank"] for p in data["priorities"]]
    assert ranks == sorted(ranks)
    for priority in data["priorities"]:
        assert set(priority) == {"id", "rank", "labels"}
        assert set(priority["labels"]) == {"fr", "nl", "en"}
    priority_ids = {p["id"] for p in data["priorities"]}
    for category in data["categories"]:
        assert set(category) == {"id", "labels", "interventions"}
        for item in category["interventions"]:
            assert set(item) == {
                "id", "labels", "kinds", "max_priority", "response_applies",
                "resolution_applies", "prices",
            }  # fmt: skip
            assert set(item["prices"]) == priority_ids
            assert item["max_priority"] in priority_ids
            for price in item["prices"].values():
                assert set(price) == {"rule", "credits", "unit"}
                assert price["credits"] is None or isinstance(price["credits"], str)
    for level in data["service_levels"]:
        assert {"id", "labels"} <= set(level)


def test_pack_to_json_in_one_language() -> None:
    data = pack_to_json(get_pack("telenet-hosting-cloud"), "nl")
    first = data["categories"][0]["interventions"][0]
    assert first["labels"] == {"nl": "Aanvraag om de server handmatig te herstarten"}
    assert first["prices"]["express"] == {"rule": "fixed", "credits": "3", "unit": None}
    with pytest.raises(ValueError, match="unknown language"):
        pack_to_json(get_pack("telenet-hosting-cloud"), "de")


def test_per_unit_and_not_available_in_json() -> None:
    data = pack_to_json(get_pack("telenet-hosting-cloud"))
    rows = {i["id"]: i for c in data["categories"] for i in c["interventions"]}
    pst = rows["pst-import-exchange"]
    assert pst["prices"]["standard"] == {"rule": "per_unit", "credits": "5", "unit": "pst-file"}
    assert pst["prices"]["express"] == {"rule": "not_available", "credits": None, "unit": None}
    assert pst["max_priority"] == "standard"
    assert rows["code-questions"]["response_applies"] is False
    assert rows["code-questions"]["resolution_applies"] is False


def test_load_packs_is_cached_for_the_default_directory() -> None:
    first = load_packs()
    assert first == load_packs()
    assert get_pack("telenet-webhosting") is get_pack("telenet-webhosting")
    assert first["telenet-webhosting"] is get_pack("telenet-webhosting")


def test_unknown_pack_and_intervention() -> None:
    with pytest.raises(UnknownPackError, match="unknown pack 'nope'.*telenet-hosting-cloud"):
        get_pack("nope")
    pack = get_pack("telenet-hosting-cloud")
    with pytest.raises(UnknownInterventionError, match="nope"):
        find_intervention(pack, "nope")
    category, item = find_intervention(pack, "colocation-physical-access")
    assert category.id == "colocation"
    assert max_priority(pack, item).id == "standard"


def test_a_fifth_provider_is_only_a_file(tmp_path: Path) -> None:
    pack = load_pack_file(FIFTH)
    assert pack.provider == "Nordlicht Hosting"
    _, volume = find_intervention(pack, "volume-full")
    assert max_priority(pack, volume).id == "urgent"
    _, question = find_intervention(pack, "snapshot-question")
    assert max_priority(pack, question).id == "normal"
    data = pack_to_json(pack)
    assert data["categories"][0]["interventions"][0]["prices"]["normal"]["credits"] == "1.5"
    assert search_catalog(pack, "disk full")[0].intervention_id == "volume-full"
    shutil.copy(FIFTH, tmp_path / FIFTH.name)
    shutil.copy(TELENET, tmp_path / TELENET.name)
    assert sorted(load_packs(tmp_path)) == ["nordlicht-hosting", "telenet-hosting-cloud"]


def test_committed_json_schema_is_up_to_date() -> None:
    committed = (REPO / "pricing" / "pack.schema.json").read_text(encoding="utf-8")
    assert committed == pack_json_schema(), "regenerate: supportbot catalog schema"


# --------------------------------------------------------------------------- broken packs


def _telenet() -> dict[str, Any]:
    data = yaml.load(TELENET.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert isinstance(data, dict)
    return data


def _first_row(data: dict[str, Any]) -> dict[str, Any]:
    row = data["categories"][0]["interventions"][0]
    assert isinstance(row, dict)
    return row


def _set_kind(data: dict[str, Any]) -> None:
    _first_row(data)["kinds"] = ["incident", "outage"]


def _drop_express(data: dict[str, Any]) -> None:
    del _first_row(data)["prices"]["express"]


def _extra_priority_price(data: dict[str, Any]) -> None:
    _first_row(data)["prices"]["urgent"] = {"rule": "free"}


def _duplicate_row(data: dict[str, Any]) -> None:
    data["categories"][1]["interventions"][0]["id"] = "dedicated-server-manual-restart"


def _ceiling_hole(data: dict[str, Any]) -> None:
    _first_row(data)["prices"]["standard"] = {"rule": "not_available"}


def _all_not_available(data: dict[str, Any]) -> None:
    _first_row(data)["prices"] = {
        "standard": {"rule": "not_available"},
        "express": {"rule": "not_available"},
    }


def _unknown_unit(data: dict[str, Any]) -> None:
    _first_row(data)["prices"]["standard"] = {"rule": "per_unit", "credits": 2, "unit": "vm"}


def _target_priority(data: dict[str, Any]) -> None:
    data["sla_targets"][1]["priority"] = "urgent"


def _target_calendar(data: dict[str, Any]) -> None:
    data["sla_targets"][1]["response"]["calendar"] = "office-hours"


def _target_kind(data: dict[str, Any]) -> None:
    data["sla_targets"][0]["kind"] = "problem"


def _double_target(data: dict[str, Any]) -> None:
    data["sla_targets"][1]["priority"] = "standard"


def _default_calendar(data: dict[str, Any]) -> None:
    data["default_calendar"] = "office-hours"


def _float_credits(data: dict[str, Any]) -> None:
    _first_row(data)["prices"]["standard"] = {"rule": "fixed", "credits": 2.5}


def _typo_rule(data: dict[str, Any]) -> None:
    _first_row(data)["prices"]["standard"] = {"rule": "fixd", "credits": 2}


def _extra_field(data: dict[str, Any]) -> None:
    _first_row(data)["colour"] = "red"


def _missing_labels(data: dict[str, Any]) -> None:
    del _first_row(data)["labels"]["nl"]


def _bad_zone(data: dict[str, Any]) -> None:
    data["calendars"][0]["zone"] = "Europe/Bruxelles"


def _duplicate_priority(data: dict[str, Any]) -> None:
    data["priorities"][1]["id"] = "standard"


def _option_default_not_a_number(data: dict[str, Any]) -> None:
    data["options"][0]["default"] = "zero"


def _option_default_out_of_bounds(data: dict[str, Any]) -> None:
    data["options"][0]["default"] = "0"


def _undeclared_hours_option(data: dict[str, Any]) -> None:
    data["sla_targets"][1]["resolution"] = {
        "rule": "calendar_duration",
        "hours": "4",
        "hours_option": "gtr_hours",
    }


def _bounds_on_text(data: dict[str, Any]) -> None:
    labels = {"fr": "Réf.", "nl": "Ref.", "en": "Ref."}
    data["options"].append({"id": "po", "labels": labels, "type": "str", "ge": "1"})


BROKEN: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (_set_kind, f"{FIRST_ROW}.kinds", "unknown kind 'outage'"),
    (_drop_express, f"{FIRST_ROW}.prices", "no price rule for priority 'express'"),
    (_extra_priority_price, f"{FIRST_ROW}.prices.urgent", "unknown priority 'urgent'"),
    (_duplicate_row, "categories[*].interventions", "duplicate id 'dedicated-server-manual-"),
    (_ceiling_hole, f"{FIRST_ROW}.prices.standard", "not_available below the available"),
    (_all_not_available, f"{FIRST_ROW}.prices", "every priority is not_available"),
    (_unknown_unit, f"{FIRST_ROW}.prices.standard.unit", "unknown unit 'vm'"),
    (_target_priority, "sla_targets[1].priority", "unknown priority 'urgent'"),
    (_target_calendar, "sla_targets[1].response.calendar", "unknown calendar 'office-hours'"),
    (_target_kind, "sla_targets[0].kind", "unknown kind 'problem'"),
    (_double_target, "sla_targets[1]", "second target for (incident, standard)"),
    (_default_calendar, "default_calendar", "unknown calendar 'office-hours'"),
    (_float_credits, f"{FIRST_ROW}.prices.standard.credits", "not 2.5"),
    (_typo_rule, f"{FIRST_ROW}.prices.standard.rule", "(got 'fixd')"),
    (_extra_field, f"{FIRST_ROW}.colour", "Extra inputs are not permitted"),
    (_missing_labels, f"{FIRST_ROW}.labels.nl", "Field required"),
    (_bad_zone, "calendars[opening-hours].zone", "unknown time zone 'Europe/Bruxelles'"),
    (_duplicate_priority, "priorities", "duplicate id 'standard'"),
    (_option_default_not_a_number, "options[credit_pack_size].default", "'zero' is not a number"),
    (_option_default_out_of_bounds, "options[credit_pack_size].default", "greater than 0"),
    (
        _undeclared_hours_option,
        "sla_targets[1].resolution.hours_option",
        "reads option 'gtr_hours'",
    ),
    (_bounds_on_text, "options[po]", "bounds apply to numbers only"),
]


@pytest.mark.parametrize(
    ("breaks", "path", "reason"), BROKEN, ids=lambda v: getattr(v, "__name__", "")
)
def test_broken_pack_is_refused_with_a_precise_message(
    tmp_path: Path, breaks: Callable[[dict[str, Any]], None], path: str, reason: str
) -> None:
    data = _telenet()
    breaks(data)
    file = tmp_path / "broken.yaml"
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    file.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack_file(file)
    matching = [i for i in caught.value.issues if i.path == path and reason in i.reason]
    assert matching, str(caught.value)
    assert matching[0].file == str(file)
    assert f"{file}: {path}: " in str(caught.value)


def _replace_in_text(tmp_path: Path, old: str, new: str) -> Path:
    text = TELENET.read_text(encoding="utf-8")
    assert old in text
    file = tmp_path / "broken.yaml"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return file


def test_unquoted_time_is_refused(tmp_path: Path) -> None:
    file = _replace_in_text(tmp_path, 'end: "19:00"', "end: 19:00")
    with pytest.raises(PackError, match=r"calendars\[opening-hours\]\.windows\.mon\[0\]\.end"):
        load_pack_file(file)
    with pytest.raises(PackError, match="write times as quoted strings"):
        load_pack_file(file)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    file = _replace_in_text(
        tmp_path,
        "          express: {rule: fixed, credits: 3}  # 3 crédits / Intervention\n",
        "          express: {rule: fixed, credits: 3}\n          express: {rule: free}\n",
    )
    with pytest.raises(PackError, match=r"line \d+, column \d+: .*duplicate key 'express'"):
        load_pack_file(file)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    file = _replace_in_text(tmp_path, "provider: Telenet\n", "provider: [Telenet\n")
    with pytest.raises(PackError, match=r"broken\.yaml: line \d+, column \d+: invalid YAML"):
        load_pack_file(file)


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "list.yaml"
    file.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PackError, match="mapping at the top level"):
        load_pack_file(file)
    with pytest.raises(PackError, match="cannot read the file"):
        load_pack_file(tmp_path / "absent.yaml")


def test_a_directory_with_one_broken_pack_is_refused(tmp_path: Path) -> None:
    shutil.copy(FIFTH, tmp_path / FIFTH.name)
    data = _telenet()
    _set_kind(data)
    (tmp_path / "telenet.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_packs(tmp_path)
    assert [i.file for i in caught.value.issues] == [str(tmp_path / "telenet.yaml")]


def test_two_files_with_the_same_pack_id_are_refused(tmp_path: Path) -> None:
    shutil.copy(FIFTH, tmp_path / "a.yaml")
    shutil.copy(FIFTH, tmp_path / "b.yaml")
    with pytest.raises(PackError, match="pack id 'nordlicht-hosting' already used by"):
        load_packs(tmp_path)


def test_packs_are_frozen() -> None:
    pack: ContractPack = get_pack("telenet-hosting-cloud")
    with pytest.raises(ValueError, match="frozen"):
        pack.id = "other"  # type: ignore[misc]
