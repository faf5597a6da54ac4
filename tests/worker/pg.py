"""A throwaway PostgreSQL 15 server for tests: loopback only, data in a temporary directory.

Debian's binaries (``/usr/lib/postgresql/15/bin``) refuse to run as root, so under root the
server runs as ``nobody`` (``setpriv``), with its data and socket directory owned by it.
Anything that prevents the start skips the tests that need it, with the reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(os.environ.get("SUPPORTBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "supportbot_template"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server and how to reach it."""

    root: Path
    port: int
    prefix: list[str]
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _template_ready: bool = False

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """A fresh database at the newest migration; returns its URL."""
        if not self._template_ready:
            from bot.db.migrate import upgrade

            self._execute(f"CREATE DATABASE {TEMPLATE}")
            upgrade(url=self.url(TEMPLATE))
            self._template_ready = True
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        subprocess.run(
            [*self.prefix, str(BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate"]
            + ["stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(_base: Path) -> PostgresServer:
    """Start a server on a free loopback port, or skip with the reason."""
    if not (BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({BIN}/initdb missing)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    root = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root without setpriv: cannot start PostgreSQL")
        prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        os.chown(root, 65534, 65534)
    root.chmod(0o700)
    port = _free_port()
    server = PostgresServer(root=root, port=port, prefix=prefix)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    steps = [
        [
            str(BIN / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
        [
            str(BIN / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60",
            "start",
        ],
    ]
    for step in steps:
        done = subprocess.run(
            [*prefix, *step], capture_output=True, text=True, env=env, cwd=root, check=False
        )
        if done.returncode != 0:
            log = root / "server.log"
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if log.exists():
                detail += log.read_text(errors="replace").strip().splitlines()[-3:]
            server.stop()
            pytest.skip(f"PostgreSQL could not start: {' | '.join(detail)}")
    return server
