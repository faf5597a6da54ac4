"""`python -m bot.worker [--once]`: the worker alone, the same as `supportbot worker`."""

from __future__ import annotations

import typer

from bot.cli.worker import worker


def main() -> None:
    """Run the `worker` command."""
    typer.run(worker)


if __name__ == "__main__":
    main()
