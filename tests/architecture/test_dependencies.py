"""The direction of dependencies, read from the source: no cycles, and no import against the flow.

Every import counts (module level, function-local, under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast

from tests.architecture.import_graph import ROOT, cycles, graph, modules

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
    assert found == set()


def test_services_and_channels_do_not_import_the_worker() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith(("bot.services", "bot.channels", "handlers", "pricing"))
        for target in targets
        if target == "bot.worker" or target.startswith("bot.worker.")
    )
    assert offenders == []


# Channel modules leave the database to their store: tests/channels/test_boundaries.py.


def test_pricing_imports_neither_the_database_nor_the_services() -> None:
    offenders = {
        module
        for module in modules()
        if module.startswith("pricing") and _uses(_all_imports(module), ("bot.db", "bot.services"))
    }
    assert offenders == set()


def test_notifications_name_no_channel() -> None:
    for path in sorted((ROOT / "bot" / "services" / "notify").glob("*.py")):
        text = path.read_text(encoding="utf-8").lower()
        for name in ("telegram", "slack"):
            assert name not in text, f"{path.name} names {name}"


def test_the_channel_list_is_written_once() -> None:
    entries = {"bot.channels.slack.plugin", "bot.channels.telegram.plugin"}
    writers = sorted(module for module, targets in graph().items() if len(targets & entries) > 1)
    assert writers == ["bot.channels.builtin"]
