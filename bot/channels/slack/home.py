"""The App Home tab: the core's `HomeView` (open tickets with their SLA countdowns, whether the
user may open one, or a refusal) as Block Kit. Nothing here decides anything."""

from __future__ import annotations

from typing import Any

from bot.channels.slack.blocks import (
    HOME_NEW_CHAT,
    HOME_NEW_MODAL,
    VIEW_BLOCKS,
    Block,
    Renderer,
    plain,
)
from bot.i18n import translator
from handlers.model import HomeView, TicketLine


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ticket_blocks(renderer: Renderer, line: TicketLine) -> list[Block]:
    head = " · ".join((f"*{line.reference}*", *(renderer.mrkdwn(word) for word in line.words)))
    lines = [head]
    lines += [f"{renderer.mrkdwn(label)}: {renderer.mrkdwn(value)}" for label, value in line.dues]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]


def home_blocks(view: HomeView, *, command: str) -> dict[str, Any]:
    """The Home tab of one Slack user."""
    renderer = Renderer(command=command)
    if view.refusal is not None:
        return {"type": "home", "blocks": renderer.sections(view.refusal.text)}
    t = translator(view.lang)
    blocks: list[Block] = []
    if view.can_open:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": HOME_NEW_MODAL,
                        "text": plain(t.gettext("Open a ticket with a form"), 75),
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": HOME_NEW_CHAT,
                        "text": plain(_capitalized(t.gettext("open a ticket (guided)")), 75),
                    },
                ],
            }
        )
    if not view.tickets:
        blocks += renderer.sections(view.empty)
    else:
        blocks.append({"type": "header", "text": plain(view.title, 150)})
        for line in view.tickets:
            blocks += _ticket_blocks(renderer, line)
            blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}
