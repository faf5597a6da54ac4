"""The two Telenet packs, checked row by row against the contracts' Annex 1.

The tables below are copied from the French contract texts: category, row label (with the
contract's footnote marker, "1" or "¹", where it has one) and the two price cells,
Standard then Express, exactly as printed.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.loader import find_intervention, load_pack_file, max_priority
from pricing.schema import (
    BusinessDays24hRule,
    BusinessHoursRule,
    Category,
    ContractPack,
    Intervention,
    PriceRule,
    PriceRuleType,
)

PACKS = Path(__file__).resolve().parents[2] / "pricing" / "packs"

# Support Hosting & Cloud, "Annexe 1 - 1) Interventions courantes".
HOSTING_CLOUD_ANNEX: list[tuple[str, str, str, str]] = [
    ("Serveurs dédiés", "Demande de redémarrage manuel du serveur",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Serveurs dédiés", "Serveur en panne en raison d'une défaillance matérielle "
     "(+ remplacement du matériel et récupération d'urgence)", "gratuit", "gratuit"),
    ("Serveurs dédiés", "Serveur en panne (n'importe quelle raison, hors défaillance matérielle)",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Serveurs dédiés", "Demande d'installation logicielle ou mise à niveau par Telenet "
     "Hosting & Cloud", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Serveurs dédiés", "Basculer l'adresse IP sur un serveur de secours",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Serveurs dédiés", "Problème d’accès au serveur via VPN/SSH/RDP", "Gratuit", "Gratuit"),
    ("Serveurs dédiés", "Chargement ou téléchargement de données depuis ou vers un support de "
     "données", "5 crédits / Intervention", "N/A"),
    ("Serveurs dédiés", "Modification des règles de pare-feu (ports d'ouverture/de fermeture)",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Serveurs dédiés", "Déplacer le serveur vers un autre sous-réseau/rack (par ex. sous-réseau "
     "non sécurisé - SSH/RDP activé sur IP public)",
     "20 crédits/ Intervention", "20 crédits / Intervention"),
    ("Serveurs cloud et virtuels", "Serveur en panne (n'importe quelle raison, hors défaillance "
     "matérielle)", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Serveurs cloud et virtuels", "Demande d'installation logicielle ou mise à niveau par  "
     "Telenet Hosting & Cloud", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Serveurs cloud et virtuels", "Chargement ou téléchargement de données depuis ou vers un "
     "support de données", "5 crédits / Intervention", "N/A"),
    ("Serveurs cloud et virtuels", "Modification des règles de pare-feu (ports "
     "d'ouverture/de fermeture)", "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Colocation", "Demande de redémarrage manuel du serveur",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Colocation", "Problème d’accès au serveur via VPN/SSH/RDP", "gratuit", "gratuit"),
    ("Colocation", "Accès physique au serveur de colocation", "2 crédits / 15 min", "N/A"),
    ("Colocation", "Chargement ou téléchargement de données depuis ou vers un support de "
     "données", "5 crédits / Intervention", "N/A"),
    ("Colocation", "Modification des règles de pare-feu (ports d'ouverture/de fermeture)",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Colocation", "Déplacer le serveur vers un autre sous-réseau/rack (par ex. sous-réseau "
     "non sécurisé - SSH/RDP activé sur IP public)",
     "20 crédits / Intervention", "20 crédits / Intervention"),
    ("Assistance logicielle", "Assistance Client via un accès distant",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Assistance logicielle", "Système d'exploitation (Windows et Linux)",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Assistance logicielle", "Plesk - Utilisation du panneau de configuration",
     "gratuit", "gratuit"),
    ("Assistance logicielle", "Plesk - Support du SE sous-jacent",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Assistance logicielle", "Plesk - Migration vers un autre serveur Plesk",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Noms de domaine", "Dépannage et conseils", "gratuit", "gratuit"),
    ("Noms de domaine", "Mettre à jour les enregistrements de noms de domaine",
     "2 crédits / Intervention", "3 crédits / Intervention"),
    ("Hébergement partagé", "Site Web non accessible", "gratuit", "gratuit"),
    ("Hébergement partagé", "Configurer le deuxième compte FTP", "gratuit", "gratuit"),
    ("Hébergement partagé", "Modifier l'accès anonyme aux dossiers", "gratuit", "gratuit"),
    ("Hébergement partagé", "Questions de code1", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Hébergement partagé", "Investigation sur un site Web piraté1",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Hébergement partagé", "Migrations de site Web interne1",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("Hébergement partagé", "Restaurer des fichiers depuis la sauvegarde",
     "2 crédits / site Web", "3 crédits / site Web"),
    ("Office Mail", "Importer des fichier PST vers une boîte de messagerie Exchange",
     "5 crédits /PST", "N/A"),
    ("Office Mail", "Exporter une boîte de messagerie depuis Exchange vers un PST",
     "5 crédits / PST", "N/A"),
    ("Office Mail", "Restaurer une boîte de messagerie Exchange depuis la sauvegarde",
     "25 crédits / Intervention", "N/A"),
    ("Office Mail", "Configurer un compte dans Outlook", "gratuit", "gratuit"),
    ("Office Mail", "Configurer un compte dans Mac Mail", "gratuit", "gratuit"),
    ("Office Mail", "Configurer un mobile", "gratuit", "gratuit"),
    ("CloudOffice", "Incident de service (impossibilité pour certains utilisateurs d'envoyer ou "
     "de recevoir des e-mails, impossibilité de gérer les utilisateurs dans MyCloud ou MOP pour "
     "les abonnements Telenet, …)", "gratuit", "gratuit"),
    ("CloudOffice", "Configurations d'un client de messagerie en dehors des services "
     "d'intégration/contrats", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("CloudOffice", "Configurations sur le portail en ligne de Microsoft en dehors des services "
     "d'intégration/contrats", "2 crédits / 15 min", "3 crédits / 15 min"),
    ("CloudOffice", "Configurations du logiciel CloudOffice (O365), en dehors des services "
     "d'intégration/contrats (par ex. Word, OneDrive, …)",
     "2 crédits / 15 min", "3 crédits / 15 min"),
    ("CloudOffice", "Demande d'information", "gratuit", "gratuit"),
]  # fmt: skip

# Web hosting / Domain names / SSL / Microsoft 365, "Annexe 1 – Interventions typiques".
WEBHOSTING_ANNEX: list[tuple[str, str, str, str]] = [
    ("Hébergement web partagé", "Demande d'Information", "Gratuit", "Gratuit"),
    ("Hébergement web partagé", "Site web non accessible", "Gratuit", "Gratuit"),
    ("Hébergement web partagé", "Configuration d'un deuxième compte FTP", "Gratuit", "Gratuit"),
    ("Hébergement web partagé", "Modification de l'accès anonyme aux dossiers",
     "Gratuit", "Gratuit"),
    ("Hébergement web partagé", "Questions de codage ¹",
     "2 Crédits de service / 15 minutes", "2 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Enquête sur un Site web piraté ¹",
     "2 Crédits de service / 15 minutes", "2 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Migrations internes de Site web",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Migrations externes de Site web ¹", "Sur demande", "Sur demande"),
    ("Hébergement web partagé", "Restauration de fichiers à partir d'une sauvegarde ¹",
     "4 Crédits de service / 15 minutes", "5 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Assistance à la clientèle via un accès externe",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Plesk - Utilisation de l'écran de configuration",
     "Gratuit", "Gratuit"),
    ("Hébergement web partagé", "Plesk - Support pour l'OS sous-jacent",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Hébergement web partagé", "Plesk - Migration vers un autre serveur avec Plesk ¹",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Noms de domaine", "Demande d'Information", "Gratuit", "Gratuit"),
    ("Noms de domaine", "Enregistrement de nom de domaine", "Gratuit", "Gratuit"),
    ("Noms de domaine", "Mise à jour des enregistrements de noms de domaine",
     "2 Crédits de service / Intervention", "3 Crédits de service / Intervention"),
    ("Microsoft 365", "Demande d'Information", "Gratuit", "Gratuit"),
    ("Microsoft 365", "Incident de Service (par exemple, l'impossibilité pour certains "
     "utilisateurs d'envoyer ou de recevoir des courriels ; l'impossibilité de gérer les "
     "licences sur les Produits M365 via le Portail de Gestion et/ou le Portail en ligne de "
     "Microsoft)", "Gratuit", "Gratuit"),
    ("Microsoft 365", "Après l'intégration initiale : des configurations supplémentaires de "
     "courrier électronique client ; un transfert supplémentaire d'une autre configuration de "
     "courrier électronique vers M365 ; des configurations supplémentaires sur le Portail en "
     "ligne de Microsoft",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Microsoft 365", "Configurations d'autres services et conventions d'intégration externes "
     "pour les logiciels Microsoft 365 (par exemple, Word, OneDrive, etc.)",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
    ("Microsoft 365", "Migrations de courrier électronique ¹", "Sur demande", "Sur demande"),
    ("Certificats SSL", "Demande d'information", "Gratuit", "Gratuit"),
    ("Certificats SSL", "Demande et création d'un certificat SSL", "Gratuit", "Gratuit"),
    ("Certificats SSL", "Intégration de certificat SSL dans la Plate-forme d'hébergement web",
     "Gratuit", "3 Crédits de service / 15 minutes"),
    ("Certificats SSL", "Intégration de certificat SSL sur le serveur Telenet Dynamic Cloud",
     "2 Crédits de service / 15 minutes", "3 Crédits de service / 15 minutes"),
]  # fmt: skip

_FOOTNOTE = re.compile(r"(?<=[a-zé])1$|\s*¹$")
_AMOUNT = re.compile(
    r"^(\d+) [Cc]rédits(?: de service)? ?/ ?(Intervention|15 min(?:utes)?|PST|site Web)$"
)
_UNIT_OF = {"PST": "pst-file", "site Web": "website"}


def _split_label(printed: str) -> tuple[str, bool]:
    """The label without its footnote marker, and whether it had one."""
    label, count = _FOOTNOTE.subn("", printed)
    return " ".join(label.split()), bool(count)


def _expected_rule(cell: str) -> PriceRule:
    """The price rule a cell of the Annex stands for."""
    if cell.lower() == "gratuit":
        return PriceRule(rule=PriceRuleType.FREE)
    if cell == "N/A":
        return PriceRule(rule=PriceRuleType.NOT_AVAILABLE)
    if cell == "Sur demande":
        return PriceRule(rule=PriceRuleType.ON_REQUEST)
    match = _AMOUNT.match(cell)
    assert match, f"unexpected price cell {cell!r}"
    amount, per = Decimal(match[1]), match[2]
    if per == "Intervention":
        return PriceRule(rule=PriceRuleType.FIXED, credits=amount)
    if per.startswith("15 min"):
        return PriceRule(rule=PriceRuleType.PER_QUARTER_HOUR, credits=amount)
    return PriceRule(rule=PriceRuleType.PER_UNIT, credits=amount, unit=_UNIT_OF[per])


def _load(name: str) -> ContractPack:
    return load_pack_file(PACKS / f"{name}.yaml")


@pytest.fixture(scope="module")
def hosting_cloud() -> ContractPack:
    return _load("telenet-hosting-cloud")


@pytest.fixture(scope="module")
def webhosting() -> ContractPack:
    return _load("telenet-webhosting")


def _rows(pack: ContractPack) -> list[tuple[Category, Intervention]]:
    return [(c, i) for c in pack.categories for i in c.interventions]


def _row(pack: ContractPack, category_fr: str, label_fr: str) -> Intervention:
    found = [
        item for category, item in _rows(pack)
        if category.labels.fr == category_fr and item.labels.fr == label_fr
    ]  # fmt: skip
    assert len(found) == 1, f"{category_fr} / {label_fr}: {len(found)} rows in {pack.id}"
    return found[0]


def _check_row(
    pack: ContractPack, row: tuple[str, str, str, str], *, resolution_everywhere: bool
) -> None:
    category_fr, printed, standard_cell, express_cell = row
    label, footnote = _split_label(printed)
    item = _row(pack, category_fr, label)
    assert item.prices == {
        "standard": _expected_rule(standard_cell),
        "express": _expected_rule(express_cell),
    }
    ceiling = "standard" if express_cell == "N/A" else "express"
    assert max_priority(pack, item).id == ceiling
    assert item.response_applies is not footnote
    if resolution_everywhere:
        assert item.resolution_applies is not footnote
    else:
        assert item.resolution_applies is False
    for lang in ("fr", "nl", "en"):
        assert item.labels.get(lang).strip()
        assert getattr(item.keywords, lang), f"{item.id} has no {lang} keywords"


@pytest.mark.parametrize("row", HOSTING_CLOUD_ANNEX, ids=lambda row: _split_label(row[1])[0])
def test_hosting_cloud_annex_row(
    hosting_cloud: ContractPack, row: tuple[str, str, str, str]
) -> None:
    _check_row(hosting_cloud, row, resolution_everywhere=True)


@pytest.mark.parametrize("row", WEBHOSTING_ANNEX, ids=lambda row: _split_label(row[1])[0])
def test_webhosting_annex_row(webhosting: ContractPack, row: tuple[str, str, str, str]) -> None:
    _check_row(webhosting, row, resolution_everywhere=False)


@pytest.mark.parametrize(
    ("name", "annex", "categories"),
    [
        ("telenet-hosting-cloud", HOSTING_CLOUD_ANNEX, 8),
        ("telenet-webhosting", WEBHOSTING_ANNEX, 4),
    ],
)
def test_pack_has_exactly_the_annex_rows(
    name: str, annex: list[tuple[str, str, str, str]], categories: int
) -> None:
    pack = _load(name)
    expected = [(row[0], _split_label(row[1])[0]) for row in annex]
    # The on-quote row (issue 14, the pack's non-routine path) is not an annex row.
    rows = [(c, i) for c, i in _rows(pack) if c.id != "on-quote"]
    actual = [(c.labels.fr, i.labels.fr) for c, i in rows]
    assert actual == expected
    assert len(pack.categories) == categories + 1
    assert len({c.labels.fr for c, _ in rows}) == categories


def test_annex_tables_have_the_announced_sizes() -> None:
    assert len(HOSTING_CLOUD_ANNEX) == 44
    assert len(WEBHOSTING_ANNEX) == 25


# Support Hosting & Cloud 2.5: (kind, priority) -> (response, resolution).
HOSTING_CLOUD_TIMES = {
    ("incident", "standard"): ("1 jour ouvrable", "5 jours ouvrables"),
    ("incident", "express"): ("4 heures ouvrables", "1 jour ouvrable"),
    ("information", "standard"): ("2 jours ouvrables", "5 jours ouvrables"),
    ("information", "express"): ("1 jour ouvrable", "2 jours ouvrables"),
    ("change", "standard"): ("2 jours ouvrables", "5 jours ouvrables"),
    ("change", "express"): ("1 jour ouvrable", "3 jours ouvrables"),
}
# Web hosting 7.6: response only.
WEBHOSTING_TIMES = {
    ("incident", "standard"): "1 Jour Ouvrable",
    ("incident", "express"): "4 Heures de travail",
    ("information", "standard"): "2 Jours Ouvrables",
    ("information", "express"): "1 Jour Ouvrable",
    ("change", "standard"): "2 Jours Ouvrables",
    ("change", "express"): "1 Jour Ouvrable",
}


def _expected_time(text: str, hours_calendar: str) -> BusinessDays24hRule | BusinessHoursRule:
    count, unit = text.split(" ", 1)
    if unit.lower().startswith("jour"):
        return BusinessDays24hRule(
            rule="business_days_24h", days=int(count), calendar="business-days"
        )
    return BusinessHoursRule(rule="business_hours", hours=Decimal(count), calendar=hours_calendar)


def test_hosting_cloud_times(hosting_cloud: ContractPack) -> None:
    targets = {(t.kind, t.priority): t for t in hosting_cloud.sla_targets}
    assert set(targets) == set(HOSTING_CLOUD_TIMES)
    for key, (response, resolution) in HOSTING_CLOUD_TIMES.items():
        assert targets[key].response == _expected_time(response, "opening-hours")
        assert targets[key].resolution == _expected_time(resolution, "opening-hours")


def test_webhosting_times_are_response_only(webhosting: ContractPack) -> None:
    targets = {(t.kind, t.priority): t for t in webhosting.sla_targets}
    assert set(targets) == set(WEBHOSTING_TIMES)
    for key, response in WEBHOSTING_TIMES.items():
        assert targets[key].response == _expected_time(response, "working-hours")
        assert targets[key].resolution is None


@pytest.mark.parametrize(
    ("name", "calendar", "opens", "closes"),
    [
        ("telenet-hosting-cloud", "opening-hours", time(8), time(19)),
        ("telenet-webhosting", "working-hours", time(8), time(18)),
    ],
)
def test_calendars(name: str, calendar: str, opens: time, closes: time) -> None:
    pack = _load(name)
    calendars = {c.id: c for c in pack.calendars}
    hours = calendars[calendar]
    assert sorted(hours.windows) == sorted(["mon", "tue", "wed", "thu", "fri"])
    for windows in hours.windows.values():
        assert [(w.start, w.end_time) for w in windows] == [(opens, closes)]
    days = calendars["business-days"]
    for windows in days.windows.values():
        assert [(w.start, w.end_time) for w in windows] == [(time(0), None)]
    for cal in (hours, days):
        assert cal.zone == "Europe/Brussels"
        assert cal.holidays is not None
        assert cal.holidays.country == "BE"


def test_hosting_cloud_priorities_credits_and_waiver(hosting_cloud: ContractPack) -> None:
    ranks = {p.id: p.rank for p in hosting_cloud.priorities}
    assert ranks == {"standard": 1, "express": 2}
    balance = hosting_cloud.balance
    assert balance.unit == "credits"
    assert balance.prepaid_required
    assert balance.sufficient_balance_required
    assert balance.auto_top_up
    assert balance.pack_size_option == "credit_pack_size"
    option = next(o for o in hosting_cloud.options if o.id == "credit_pack_size")
    assert option.default is not None
    assert Decimal(option.default) == balance.default_pack_size
    [remedy] = hosting_cloud.remedies
    assert (remedy.type, remedy.exclusive) == ("waiver", True)
    assert hosting_cloud.intake.ticket_prefix == "TLN"
    assert hosting_cloud.non_routine is not None
    assert hosting_cloud.non_routine.price.rule is PriceRuleType.ON_REQUEST
    assert hosting_cloud.escalation.at_risk == "agents"
    assert hosting_cloud.escalation.breach == "manager"


def test_webhosting_purchase_first_and_no_remedy(webhosting: ContractPack) -> None:
    assert webhosting.balance.purchase_may_be_required
    assert not webhosting.balance.auto_top_up
    assert webhosting.remedies == []
    assert webhosting.intake.ticket_prefix == "TLW"
    assert webhosting.non_routine is not None
    assert webhosting.non_routine.price.rule is PriceRuleType.ON_REQUEST
    assert [ref.file[:3] for ref in webhosting.source] == ["003", "001"]


def test_ssl_integration_free_in_standard_only(webhosting: ContractPack) -> None:
    _, item = find_intervention(webhosting, "ssl-webhosting-integration")
    assert item.prices["standard"].rule is PriceRuleType.FREE
    assert item.prices["express"] == PriceRule(
        rule=PriceRuleType.PER_QUARTER_HOUR, credits=Decimal(3)
    )
