"""Run `supportbot` under yappi (CPU time, every thread) and save the stats on exit.

Run: ``python bench/profile_serve.py OUT.pstat serve [ARGS]`` (needs ``pip install yappi``;
the burst benchmark's ``--profile OUT`` does it). Read with ``pstats``.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from pathlib import Path

# Keep this folder off the import path (its modules' names are short and generic).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import yappi  # type: ignore[import-not-found]  # noqa: E402


def main() -> None:
    """Profile the command named after the output path."""
    out = sys.argv[1]
    sys.argv = ["supportbot", *sys.argv[2:]]
    yappi.set_clock_type("cpu")
    yappi.start()

    def save() -> None:
        yappi.stop()
        yappi.get_func_stats().save(out, type="pstat")

    atexit.register(save)

    def terminated(_signum: int, _frame: object) -> None:
        save()
        os._exit(0)

    signal.signal(signal.SIGTERM, terminated)
    from bot.cli.main import main as cli

    cli()


if __name__ == "__main__":
    main()
