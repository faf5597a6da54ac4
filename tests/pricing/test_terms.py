"""ContractTerms: one object answering what a contract says, and `pricing/` stays pure."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.loader import get_pack
from pricing.terms import AccountKind, ContractTerms, OptionError, pack_zone, validate_options

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pack_id", "zone", "account"),
    [
        ("telenet-hosting-cloud", "Europe/Brussels", AccountKind.CREDITS),
        ("telenet-webhosting", "Europe/Brussels", AccountKind.CREDITS),
        ("proximus-internet", "Europe/Brussels", AccountKind.NONE),
        ("alteo-hosting", "Europe/Paris", AccountKind.TIME_BANK),
    ],
)
def test_zone_and_account_kind(pack_id: str, zone: str, account: AccountKind) -> None:
    terms = ContractTerms.of(get_pack(pack_id))
    assert terms.zone == pack_zone(terms.pack) == zone
    assert terms.account is account


def test_credit_pack_size_defaults_and_option() -> None:
    pack = get_pack("telenet-hosting-cloud")
    assert ContractTerms.of(pack).credit_pack_size == Decimal(10)
    assert ContractTerms.of(pack, options={"credit_pack_size": "25"}).credit_pack_size == 25
    assert ContractTerms.of(get_pack("alteo-hosting")).credit_pack_size is None


def test_time_bank_allowance_and_monthly_fee() -> None:
    pack = get_pack("alteo-hosting")
    assert ContractTerms.of(pack).monthly_allowance_hours == 0
    terms = ContractTerms.of(
        pack, options={"monthly_allowance_hours": "4", "monthly_fee": "150.50"}
    )
    assert terms.monthly_allowance_hours == Decimal(4)
    assert terms.monthly_fee == Decimal("150.50")
    assert terms.number("gtr_hours") == Decimal(4)  # the declared default
    assert terms.number("not_declared") is None
    assert ContractTerms.of(get_pack("telenet-hosting-cloud")).monthly_allowance_hours == 0


@pytest.mark.parametrize(
    ("pack_id", "options", "option", "reason"),
    [
        ("telenet-hosting-cloud", {"credit_pack_size": "zero"}, "credit_pack_size", "not a number"),
        ("telenet-hosting-cloud", {"credit_pack_size": "-1"}, "credit_pack_size", "greater than"),
        ("telenet-hosting-cloud", {"credit_pack_size": "NaN"}, "credit_pack_size", "finite"),
        ("alteo-hosting", {"gtr_hours": "abc"}, "gtr_hours", "not a number"),
        ("alteo-hosting", {"monthly_allowance_hours": "-3"}, "monthly_allowance_hours", "least"),
        ("alteo-hosting", {"service_level": "gold"}, "service_level", "unknown service level"),
        ("proximus-internet", {"credit_pack_size": "10"}, "credit_pack_size", "no such option"),
    ],
)
def test_bad_values_name_the_option_and_the_reason(
    pack_id: str, options: dict[str, str], option: str, reason: str
) -> None:
    with pytest.raises(OptionError) as caught:
        validate_options(get_pack(pack_id), options)
    assert caught.value.option == option
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"option {option}: ")


def test_remedies_follow_applies_to() -> None:
    pack = get_pack("telenet-hosting-cloud")
    terms = ContractTerms.of(pack)
    assert terms.waives(missed={"response"}, kind="incident", priority="standard")
    assert not terms.waives(missed=set(), kind="incident", priority="standard")
    remedies = [
        remedy.model_copy(update={"applies_to": {"target": ["resolution"]}})
        for remedy in pack.remedies
    ]
    narrow = ContractTerms.of(pack.model_copy(update={"remedies": remedies}))
    assert narrow.remedies_for(target="response", kind="incident", priority="standard") == []
    assert not narrow.waives(missed={"response"}, kind="incident", priority="standard")
    assert narrow.waives(missed={"resolution"}, kind="incident", priority="standard")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_pricing_imports_nothing_of_the_bot() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(
            name for name in _imports(path) if name.split(".")[0] in ("bot", "handlers")
        )
        for path in sorted((REPO / "pricing").rglob("*.py"))
    }
    assert {file: names for file, names in offenders.items() if names} == {}


def test_the_ledger_does_not_import_the_time_bank_or_the_accounts() -> None:
    services = REPO / "bot" / "services"
    ledger = _imports(services / "ledger.py")
    assert not {"bot.services.timebank", "bot.services.accounts"} & ledger
    assert "bot.services.accounts" not in _imports(services / "timebank.py")
    contracts = _imports(services / "contracts.py")
    assert not {n for n in contracts if n.startswith("bot.services.") and "errors" not in n}
