"""/dashboard: a one-time link that opens the web dashboard."""

from __future__ import annotations

from bot.services import dashboard
from handlers.context import Context
from handlers.model import RefusalReason, Text


def dashboard_command(ctx: Context, _argument: str) -> None:
    """/dashboard: answer with a personal login link, valid 15 minutes, usable once."""
    user = ctx.require_user
    if not dashboard.may_use(user):
        ctx.refuse(ctx._("The dashboard is for managers and agents."), RefusalReason.ACCESS_DENIED)
        return
    link = dashboard.issue_link(session=ctx.session, settings=ctx.settings, user=user, now=ctx.now)
    ctx.say(
        Text(
            ctx._("Your dashboard link (personal, valid %(minutes)d minutes, usable once):")
            % {"minutes": dashboard.LINK_MINUTES}
            + "\n"
            + link
        )
    )
