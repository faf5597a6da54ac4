"""The lock (constraints.txt) pins every dependency; the audit tolerates no network."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tools.audit import unreachable

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    bare = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def test_the_lock_pins_every_runtime_and_dev_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("dev", "postgres"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    lock = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    pinned = {_name(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock, re.M)}
    assert wanted - pinned == set(), "run `make lock` after changing pyproject.toml"
    assert "Python 3.11" in lock
    # Nothing of the machine that produced it (index URLs, local paths).
    assert "--index-url" not in lock
    assert "--find-links" not in lock
    assert "file:" not in lock


CONNECTION_FAILURE = """Traceback (most recent call last):
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries
exceeded with url: /pypi/aiohttp/3.14.5/json (Caused by NameResolutionError(...))
"""
ALL_SKIPPED = """Name     Skip Reason
-------- -----------
aiohttp  Dependency not found on PyPI and could not be audited: aiohttp (3.14.5)
alembic  Dependency not found on PyPI and could not be audited: alembic (1.20.1)
No known vulnerabilities found
"""
FOUND = """Found 1 known vulnerability in 1 package
Name    Version ID             Fix Versions
------- ------- -------------- ------------
aiohttp 3.14.5  PYSEC-0000-000 3.14.6
"""


def test_the_audit_passes_only_when_the_database_is_out_of_reach() -> None:
    assert unreachable(1, CONNECTION_FAILURE, pinned=2)
    assert unreachable(0, ALL_SKIPPED, pinned=2)
    # A real finding, another failure, or a partial answer is reported as it is.
    assert not unreachable(1, FOUND, pinned=2)
    assert not unreachable(1, FOUND + CONNECTION_FAILURE, pinned=2)
    assert not unreachable(1, "pip_audit: error: invalid requirement", pinned=2)
    assert not unreachable(0, ALL_SKIPPED, pinned=3)
    assert not unreachable(0, "No known vulnerabilities found\n", pinned=2)
