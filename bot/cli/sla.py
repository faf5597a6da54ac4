"""`supportbot sla …`: due instants and their explanation."""

import typer

app = typer.Typer(help="SLA deadlines: compute and explain due instants.", no_args_is_help=True)
