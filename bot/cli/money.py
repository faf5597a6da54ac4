"""`supportbot quote`, `supportbot ledger …` and `supportbot remedies …`."""

import typer

ledger_app = typer.Typer(help="Credit ledger: show balances, buy credits.", no_args_is_help=True)
remedies_app = typer.Typer(
    help="SLA remedies: compute what the provider owes.", no_args_is_help=True
)
