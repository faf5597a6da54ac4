"""The one command table: each command's name, roles, handler, help line and usage.

`/help` (per role) and the platforms' command menus (per language and per role) are
generated from it, and the core routes commands through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.db.models import Role
from bot.i18n import Translator
from handlers import (
    agent,
    availability,
    changes,
    claims,
    dashboard,
    escalation,
    intake,
    maintenance,
    manager,
    quotes,
    requester,
    talk,
)
from handlers.context import Context
from handlers.model import Text
from handlers.states import State, parse_state, reset

Handler = Callable[[Context, str], None]

ANYONE = frozenset(Role)
CUSTOMERS = frozenset({Role.REQUESTER, Role.MANAGER, Role.ADMIN})
STAFF = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


def N_(message: str) -> str:  # noqa: N802 - the gettext marker name extractors look for
    """Mark a string for extraction; translated where it is shown."""
    return message


class Section(StrEnum):
    """Who sees a command in `/help` and in the menus."""

    CUSTOMER = "customer"  # customers with a tenant (opening tickets, balances)
    GENERAL = "general"  # everyone linked
    STAFF = "staff"  # agents, provider managers, admins
    MANAGER = "manager"  # managers and admins
    CUSTOMER_MANAGER = "customer_manager"  # managers of a customer company
    WEB = "web"  # managers, agents and admins: the web dashboard
    SETTINGS = "settings"  # everyone linked, listed last
    HIDDEN = "hidden"  # works, never listed


# Translated words inside usages: "/comment REF %(text)s".
USAGE_WORDS = {
    "text": N_("text"),
    "reason": N_("reason"),
    "minutes": N_("minutes"),
    "period": N_("period"),
    "page": N_("page"),
    "handle": N_("handle"),
    "words": N_("words"),
    "amount": N_("amount"),
}


@dataclass(frozen=True)
class Command:
    """One command of the bot."""

    name: str
    roles: frozenset[Role]  # who may run it
    handler: Handler
    section: Section
    help: str  # N_-marked, translated when shown
    usage: str = ""  # arguments, with %(word)s for the translated words of USAGE_WORDS


def help_command(ctx: Context, _argument: str) -> None:
    """/help: what this user can do, by role."""
    user = ctx.user
    lines = [ctx._("I open and follow support tickets under your contract. Commands:")]
    lines += [
        help_line(ctx.t, command)
        for command in visible_commands(
            role=None if user is None else user.role,
            has_tenant=ctx.tenant is not None,
            is_staff=ctx.actor is not None and ctx.actor.is_staff,
        )
    ]
    ctx.say(Text("\n".join(lines)))


def start_command(ctx: Context, argument: str) -> None:
    """/start CODE: link this account with an invite code, then list the commands."""
    if requester.start_command(ctx, argument):
        help_command(ctx, "")


def cancel_command(ctx: Context, _argument: str) -> None:
    """/cancel: abandon the current request."""
    conversation = ctx.require_conversation
    state = parse_state(conversation.state)
    if state is State.IDLE:
        ctx.say(Text(ctx._("Nothing to cancel.")))
        return
    if state in agent.FLOW_STATES:
        agent.cancel(ctx)
        return
    reset(conversation)
    ctx.say(Text(ctx._("Cancelled. Nothing was sent. Send /new to start again.")))


COMMANDS: tuple[Command, ...] = (
    Command("new", CUSTOMERS, intake.new_command, Section.CUSTOMER, N_("open a ticket (guided)")),
    Command(
        "balance",
        CUSTOMERS,
        requester.balance_command,
        Section.CUSTOMER,
        N_("your service credits"),
    ),
    Command(
        "tickets",
        ANYONE,
        requester.tickets_command,
        Section.GENERAL,
        N_("your tickets (all: your company's)"),
        "[all|closed]",
    ),
    Command(
        "ticket",
        ANYONE,
        requester.ticket_command,
        Section.GENERAL,
        N_("a ticket's timeline, SLA state and cost"),
        "REF",
    ),
    Command(
        "comment",
        ANYONE,
        requester.comment_command,
        Section.GENERAL,
        N_("add a message to a ticket"),
        "REF %(text)s",
    ),
    Command(
        "attach",
        ANYONE,
        talk.attach_command,
        Section.GENERAL,
        N_("send a file to a ticket (as the caption of the file)"),
        "REF [%(text)s]",
    ),
    Command(
        "reopen",
        CUSTOMERS,
        talk.reopen_command,
        Section.CUSTOMER,
        N_("reopen a resolved ticket, or one closed recently"),
        "REF %(reason)s",
    ),
    Command(
        "search",
        CUSTOMERS,
        talk.search_command,
        Section.CUSTOMER,
        N_("search your tickets (reference, intervention, description, messages)"),
        "%(words)s",
    ),
    Command(
        "escalate",
        ANYONE,
        escalation.escalate_command,
        Section.GENERAL,
        N_("ask for the next escalation level of an incident (P1/P2 where the contract has one)"),
        "REF",
    ),
    Command(
        "queue",
        STAFF,
        agent.queue_command,
        Section.STAFF,
        N_("open tickets, nearest due first (mine, unassigned, breached; page)"),
        "[mine|unassigned|breached] [%(page)s]",
    ),
    Command(
        "open",
        STAFF,
        intake.open_command,
        Section.STAFF,
        N_("open a ticket for a customer (phone, e-mail)"),
    ),
    Command(
        "take", STAFF, agent.take_command, Section.STAFF, N_("become the ticket's owner"), "REF"
    ),
    Command(
        "assign",
        STAFF,
        agent.assign_command,
        Section.STAFF,
        N_("give the ticket to an agent of its provider"),
        "REF %(handle)s",
    ),
    Command(
        "note",
        STAFF,
        agent.note_command,
        Section.STAFF,
        N_("internal note, never sent to the customer"),
        "REF %(text)s",
    ),
    Command(
        "reply",
        STAFF,
        agent.reply_command,
        Section.STAFF,
        N_("message to the customer, with your name"),
        "REF %(text)s",
    ),
    Command(
        "duty",
        STAFF,
        agent.duty_command,
        Section.STAFF,
        N_("whether escalation pings reach you"),
        "on|off",
    ),
    Command(
        "ack",
        STAFF,
        agent.ack_command,
        Section.STAFF,
        N_("respond to a ticket (meets the response time)"),
        "REF",
    ),
    Command(
        "reclassify",
        STAFF,
        agent.reclassify_command,
        Section.STAFF,
        N_("change intervention or priority"),
        "REF",
    ),
    Command(
        "pause",
        STAFF,
        agent.pause_command,
        Section.STAFF,
        N_("stop the SLA clock"),
        "REF %(reason)s",
    ),
    Command(
        "accept",
        STAFF,
        changes.accept_command,
        Section.STAFF,
        N_("accept a change request (the customer is told)"),
        "REF",
    ),
    Command(
        "refuse",
        STAFF,
        changes.refuse_command,
        Section.STAFF,
        N_("refuse a change request, with the reason the customer reads"),
        "REF %(reason)s",
    ),
    Command(
        "quote",
        STAFF,
        quotes.quote_command,
        Section.STAFF,
        N_("propose the price of a request on quote (credits, hours or €)"),
        "REF %(amount)s %(text)s",
    ),
    Command(
        "resume", STAFF, agent.resume_command, Section.STAFF, N_("restart the SLA clock"), "REF"
    ),
    Command(
        "log", STAFF, agent.log_command, Section.STAFF, N_("record work time"), "REF %(minutes)s"
    ),
    Command(
        "resolve",
        STAFF,
        agent.resolve_command,
        Section.STAFF,
        N_("resolve and charge"),
        "REF [%(minutes)s]",
    ),
    Command(
        "close", STAFF, agent.close_command, Section.STAFF, N_("close a resolved ticket"), "REF"
    ),
    Command(
        "status",
        MANAGERS,
        manager.status_command,
        Section.MANAGER,
        N_("open tickets by priority, at risk, breached, with a chart"),
    ),
    Command(
        "sla",
        MANAGERS,
        manager.sla_command,
        Section.MANAGER,
        N_("SLA compliance per contract, with a chart"),
        "[%(period)s]",
    ),
    Command(
        "credits",
        MANAGERS,
        manager.credits_command,
        Section.MANAGER,
        N_("credits bought, charged, waived and left, with a chart"),
        "[%(period)s]",
    ),
    Command(
        "export",
        MANAGERS,
        manager.export_command,
        Section.MANAGER,
        N_("the period's tickets as a CSV file"),
        "[%(period)s]",
    ),
    Command(
        "availability",
        MANAGERS,
        availability.availability_command,
        Section.MANAGER,
        N_("measured availability: figure, target, remedy and claim deadline"),
        "[%(period)s]",
    ),
    Command(
        "maintenance",
        MANAGERS,
        maintenance.maintenance_command,
        Section.MANAGER,
        N_("planned maintenance of your provider: add, list, cancel"),
        "[add|list|cancel]",
    ),
    Command(
        "people",
        MANAGERS,
        manager.people_command,
        Section.MANAGER,
        N_("the people of your company and whether they can reach the bot"),
    ),
    Command(
        "claims",
        MANAGERS,
        claims.claims_command,
        Section.CUSTOMER_MANAGER,
        N_("remedies your company may claim: amount, deadline, status"),
    ),
    Command(
        "claimletter",
        MANAGERS,
        claims.claimletter_command,
        Section.CUSTOMER_MANAGER,
        N_("the claim letter to send to the provider (fr, nl or en)"),
        "ID [fr|nl|en]",
    ),
    Command(
        "claimed",
        MANAGERS,
        claims.claimed_command,
        Section.CUSTOMER_MANAGER,
        N_("record a claim as sent to the provider"),
        "ID",
    ),
    Command(
        "dashboard",
        STAFF,
        dashboard.dashboard_command,
        Section.WEB,
        N_("a personal link to the web dashboard (valid 15 minutes)"),
    ),
    Command(
        "lang", ANYONE, requester.lang_command, Section.SETTINGS, N_("change language"), "fr|nl|en"
    ),
    Command(
        "notify",
        ANYONE,
        requester.notify_command,
        Section.SETTINGS,
        N_("when notifications may reach you"),
        "always|office",
    ),
    Command("cancel", ANYONE, cancel_command, Section.SETTINGS, N_("abandon the current request")),
    Command("help", ANYONE, help_command, Section.SETTINGS, N_("this list")),
    Command("start", ANYONE, start_command, Section.HIDDEN, N_("link your account"), "CODE"),
)
BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}
COMMAND_NAMES: tuple[str, ...] = tuple(BY_NAME)
#: Commands that only read: the core runs them without the write lock (see `core.process`).
READ_COMMANDS = frozenset(
    {"help", "queue", "tickets", "ticket", "balance", "status", "sla", "credits", "people"}
)


def find(name: str) -> Command | None:
    """The command with this name."""
    return BY_NAME.get(name)


def usage(t: Translator, name: str) -> str:
    """How to write a command: `/pause REF reason`, in the user's language."""
    command = BY_NAME[name]
    words = {key: t.gettext(word) for key, word in USAGE_WORDS.items()}
    arguments = command.usage % words if command.usage else ""
    return f"/{command.name} {arguments}".rstrip()


def help_line(t: Translator, command: Command) -> str:
    """One `/help` line: usage — what it does."""
    return usage(t, command.name) + " — " + t.gettext(command.help)


def visible_commands(*, role: Role | None, has_tenant: bool, is_staff: bool) -> list[Command]:
    """The commands listed to a user (in /help and in menus), in the table's order."""
    shown = {
        Section.CUSTOMER: role in CUSTOMERS and has_tenant,
        Section.GENERAL: True,
        Section.STAFF: is_staff,
        Section.MANAGER: role in MANAGERS,
        Section.CUSTOMER_MANAGER: role in MANAGERS and has_tenant,
        Section.WEB: is_staff or role in MANAGERS,
        Section.SETTINGS: True,
        Section.HIDDEN: False,
    }
    return [command for command in COMMANDS if shown[command.section]]


def menu(
    t: Translator, *, role: Role, has_tenant: bool, is_staff: bool
) -> tuple[tuple[str, str], ...]:
    """(name, description) of the commands a user of this kind sees, in one language."""
    return tuple(
        (command.name, t.gettext(command.help)[:256])
        for command in visible_commands(role=role, has_tenant=has_tenant, is_staff=is_staff)
    )
