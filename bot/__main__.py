"""`python -m bot` runs the `supportbot` command line."""

from bot.cli.main import main

main()
