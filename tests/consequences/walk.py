"""Walk a customer's intake through the chat, answering whatever the pack asks."""

from __future__ import annotations

from pricing.loader import find_intervention, get_pack
from tests.handlers.conftest import Chat


def open_ticket(
    requester: Chat,
    *,
    pack_id: str,
    contract: str,
    intervention: str,
    priority: str,
    confirm: bool = True,
) -> str:
    """Open a ticket on `intervention` at `priority`; returns the last answer.

    With ``confirm=False`` the walk stops at the confirmation and returns its summary.
    """
    pack = get_pack(pack_id)
    category, _item = find_intervention(pack, intervention)
    requester.send("/new")
    requester.pick(contract)
    requester.choose(category.id)
    answer = requester.choose(intervention)
    for index in range(15):
        payloads = [o.payload for o in requester.last_options]
        if any(p.endswith(":~open") for p in payloads):
            return requester.choose("~open") if confirm else answer
        real = [p for p in payloads if not p.endswith((":~back", ":~cancel"))]
        if any(p.endswith(":15") for p in payloads):
            answer = requester.choose("30")
        elif any(p.endswith(f":{priority}") for p in payloads):
            answer = requester.choose(priority)
        elif real:
            answer = requester.send(action=real[0])
        elif "mail" in answer.lower():  # contact details are checked since issue 14
            answer = requester.send("jean@example.be")
        elif (
            "phone" in answer.lower() or "télépho" in answer.lower() or "telefoon" in answer.lower()
        ):
            answer = requester.send("+32 2 555 12 34")
        else:
            answer = requester.send(f"answer number {index}")
    raise AssertionError(f"the intake never reached its confirmation: {requester.log}")
