"""What `supportbot serve` loads before it answers: no module only some requests need.

A server is started again and again (deployments, crash recovery, several processes), so
charting, the migration tool, phone-number tables and the dashboard's templates load on
their first use, not at start-up. The start-up check of the schema reads the version files
and the `alembic_version` table without loading Alembic; it agrees with Alembic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.db.migrate import head_revision, source_head

# Loaded on first use only: matplotlib (charts), Alembic (migrations), phonenumbers (a phone
# number typed at intake), Jinja2 (dashboard pages), PostgreSQL's SQL constructs on SQLite.
DEFERRED = ("matplotlib", "numpy", "alembic", "mako", "phonenumbers", "jinja2")
DEFERRED_ON_SQLITE = ("sqlalchemy.dialects.postgresql",)

# The steps of `supportbot serve` up to `uvicorn.run`, in a fresh interpreter.
SERVE_STEPS = """
import json, sys
import bot.cli.main
from bot.db.engine import get_engine
from bot.server import build_app
from bot.settings import get_settings

build_app(settings=get_settings(), engine=get_engine())
print(json.dumps(sorted(sys.modules)))
"""


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(
        {
            "SUPPORTBOT_DATABASE_URL": db_url,
            "SUPPORTBOT_TELEGRAM_TOKEN": "123456:start-up-check",
            "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET": "start-up-check-secret",
            "SUPPORTBOT_SLACK_BOT_TOKEN": "xoxb-start-up-check",
            "SUPPORTBOT_SLACK_SIGNING_SECRET": "start-up-check-signing",
        }
    )
    return env


def test_serve_start_up_loads_no_module_of_an_occasional_path(db_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_STEPS],
        env=_env(db_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,  # against a hang only
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    early = sorted(
        name
        for name in loaded
        for deferred in (*DEFERRED, *DEFERRED_ON_SQLITE)
        if name == deferred or name.startswith(deferred + ".")
    )
    assert early == []
    # The channels were really built (this is not an empty start).
    assert {"telegram.ext", "slack_bolt", "handlers.core"} <= loaded


def test_the_start_up_check_reads_the_same_head_as_alembic(db_url: str) -> None:
    assert source_head() is not None
    assert source_head() == head_revision(url=db_url)


def _version(directory: Path, revision: str, down: str) -> None:
    (directory / f"{revision}_x.py").write_text(
        f'revision: str = "{revision}"\ndown_revision: str | None = {down}\n', encoding="utf-8"
    )


def test_the_start_up_check_leaves_anything_but_one_plain_head_to_alembic(
    tmp_path: Path,
) -> None:
    _version(tmp_path, "0001", "None")
    _version(tmp_path, "0002", '"0001"')
    assert source_head(tmp_path) == "0002"
    _version(tmp_path, "0003", '"0001"')  # two heads
    assert source_head(tmp_path) is None
    _version(tmp_path, "0004", '("0002", "0003")')  # merged again
    assert source_head(tmp_path) == "0004"
    (tmp_path / "0005_x.py").write_text(
        'revision = "0005"\ndown_revision = compute()\n', encoding="utf-8"
    )
    assert source_head(tmp_path) is None
