"""Channel modules only translate: the import rule of `bot/channels/<channel>/`, read by AST.

Only a channel's `store.py` may touch the database (`bot.db`, `sqlmodel`, `sqlalchemy`);
no channel module imports the services, nor the core beyond its entry point
(`handlers.core`) and its types (`handlers.model`). Every import statement counts:
module-level, function-local and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHANNELS = REPO / "bot" / "channels"
MODULES = sorted(path for path in CHANNELS.glob("*/*.py"))
DATABASE = ("bot.db", "sqlmodel", "sqlalchemy")
SERVICES = ("bot.services",)
CORE_ALLOWED = ("handlers.core", "handlers.model")


def _package(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])


def imported_modules(source: str, package: str) -> list[str]:
    """Every module the import statements of `source` name (relative ones from `package`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.append(base)
            # `from handlers import agent` imports the module `handlers.agent`.
            names += [f"{base}.{alias.name}" for alias in node.names if base == "handlers"]
    return names


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def violations(names: list[str], *, is_store: bool) -> list[str]:
    """The imported modules that break the rule."""
    found: list[str] = []
    for name in names:
        if _within(name, DATABASE) and not is_store:
            found.append(f"{name} (only store.py may touch the database)")
        if _within(name, SERVICES):
            found.append(f"{name} (the services are the core's)")
        if name.startswith("handlers.") and not _within(name, CORE_ALLOWED):
            found.append(f"{name} (only the core's entry point and types)")
    return found


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.relative_to(CHANNELS).as_posix()) for path in MODULES]
)
def test_channel_module_only_translates(path: Path) -> None:
    names = imported_modules(path.read_text(), _package(path))
    assert violations(names, is_store=path.name == "store.py") == []


def test_every_channel_has_its_store() -> None:
    channels = {path.parent.name for path in MODULES}
    assert channels >= {"slack", "telegram"}
    for channel in channels:
        assert (CHANNELS / channel / "store.py").exists()


def test_the_rule_sees_every_kind_of_import() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from sqlalchemy import Engine
def f():
    import bot.services.tickets
    from handlers import agent, core
    from handlers.model import Text
from .store import CHANNEL
from . import blocks
"""
    names = imported_modules(source, "bot.channels.slack")
    assert "bot.channels.slack.store" in names
    assert "bot.channels.slack" in names
    assert violations(names, is_store=False) == [
        "sqlalchemy (only store.py may touch the database)",
        "bot.services.tickets (the services are the core's)",
        "handlers.agent (only the core's entry point and types)",
    ]
    assert violations(names, is_store=True) == [
        "bot.services.tickets (the services are the core's)",
        "handlers.agent (only the core's entry point and types)",
    ]
