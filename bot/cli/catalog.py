"""`supportbot catalog …`: list, show, validate and search contract packs."""

import typer

app = typer.Typer(help="Contract packs: list, show, validate, search.", no_args_is_help=True)
