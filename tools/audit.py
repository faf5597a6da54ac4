"""Audit the locked dependencies (constraints.txt) with pip-audit, tolerating no network.

Exit status: pip-audit's own (0 clean, 1 vulnerabilities or another failure), except when it
could not reach its vulnerability database: then one line says so and the status is 0.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"
#: What pip-audit prints when its vulnerability service cannot be reached.
UNREACHABLE = re.compile(
    r"requests\.exceptions\.(ConnectionError|ProxyError|SSLError|ConnectTimeout|ReadTimeout"
    r"|Timeout)|Max retries exceeded|NameResolutionError|Temporary failure in name resolution"
    r"|Network is unreachable"
)
FOUND = re.compile(r"known vulnerabilit", re.IGNORECASE)
#: A package the service had no answer for (an index mirror or a proxy stands in the way).
SKIPPED = re.compile(r"^(\S+)\s+Dependency not found on PyPI and could not be audited", re.M)
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.M)


def command(lock: Path = LOCK) -> list[str]:
    """The pip-audit invocation: the pinned set as it is, nothing installed or resolved."""
    return [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(lock),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
    ]


def unreachable(returncode: int, output: str, *, pinned: int) -> bool:
    """Whether the run audited nothing because the database could not be reached: a failure
    naming a connection error, or every pinned package skipped for want of an answer."""
    if returncode != 0:
        return not FOUND.search(output) and bool(UNREACHABLE.search(output))
    return pinned > 0 and len(set(SKIPPED.findall(output))) >= pinned


def main() -> int:
    """Run the audit and report; see the module docstring for the exit status."""
    pinned = len(PINNED.findall(LOCK.read_text(encoding="utf-8")))
    run = subprocess.run(command(), capture_output=True, text=True, check=False)
    output = run.stdout + run.stderr
    if unreachable(run.returncode, output, pinned=pinned):
        print(
            "audit skipped: pip-audit could not reach its vulnerability database "
            "(no network?); nothing was audited"
        )
        return 0
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
