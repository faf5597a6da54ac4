"""The direction of dependencies, read from the source: no cycles, and no import against the flow.

Every import counts (module level, function-local, under ``TYPE_CHECKING``). Where a rule is
still broken by code outside this change, the offenders are listed in a KNOWN set with the
reason; the sets only shrink.
"""

from __future__ import annotations

import ast
import re

from tests.architecture.import_graph import ROOT, cycles, graph, modules

# The ledger and the time bank import each other; they move under the services, next to
# billing, where the cycle is broken.
KNOWN_CYCLES: set[frozenset[str]] = {frozenset({"pricing.ledger", "pricing.timebank"})}

# Adapter modules that still open the database or call services themselves; they are to
# take a store object and the core's entry point instead.
KNOWN_CHANNEL_DATABASE_USERS = {
    "bot.channels.slack.adapter",
    "bot.channels.slack.home",
    "bot.channels.telegram.channel",
}

# `pricing/` is contract data and pure pricing; these two move under the services.
KNOWN_PRICING_DATABASE_USERS = {"pricing.ledger", "pricing.timebank"}

DATABASE = ("bot.db", "bot.services", "sqlalchemy", "sqlmodel")


def _all_imports(path_module: str) -> set[str]:
    """Every module name a project module imports (third-party ones included)."""
    path = modules()[path_module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _uses(names: set[str], prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for name in names for p in prefixes)


def test_no_import_cycle_among_bot_handlers_and_pricing() -> None:
    found = {frozenset(component) for component in cycles(graph())}
    assert found - KNOWN_CYCLES == set()


def test_the_known_cycles_still_exist() -> None:
    # A fixed cycle must leave the KNOWN set, so that it cannot come back unnoticed.
    found = {frozenset(component) for component in cycles(graph())}
    assert found >= KNOWN_CYCLES


def test_services_and_channels_do_not_import_the_worker() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith(("bot.services", "bot.channels", "handlers", "pricing"))
        for target in targets
        if target == "bot.worker" or target.startswith("bot.worker.")
    )
    assert offenders == []


def test_channel_modules_leave_the_database_to_their_store() -> None:
    pattern = re.compile(r"^bot\.channels\.[a-z_]+\.[a-z_]+$")
    offenders = {
        module
        for module in modules()
        if pattern.match(module)
        and not module.endswith(".store")
        and _uses(_all_imports(module), DATABASE)
    }
    assert offenders - KNOWN_CHANNEL_DATABASE_USERS == set()


def test_pricing_imports_neither_the_database_nor_the_services() -> None:
    offenders = {
        module
        for module in modules()
        if module.startswith("pricing") and _uses(_all_imports(module), ("bot.db", "bot.services"))
    }
    assert offenders - KNOWN_PRICING_DATABASE_USERS == set()


def test_notifications_name_no_channel() -> None:
    for path in sorted((ROOT / "bot" / "services" / "notify").glob("*.py")):
        text = path.read_text(encoding="utf-8").lower()
        for name in ("telegram", "slack"):
            assert name not in text, f"{path.name} names {name}"


def test_the_channel_list_is_written_once() -> None:
    entries = {"bot.channels.slack.plugin", "bot.channels.telegram.plugin"}
    writers = sorted(module for module, targets in graph().items() if len(targets & entries) > 1)
    assert writers == ["bot.channels.builtin"]
