"""The message texts of ticket notifications, per event and reader, and the agents' buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from bot.channels.sending import Audience
from bot.db.models import Ticket
from bot.i18n import Translator, translator
from bot.services.actions import ticket_actions
from bot.services.notify.escalation import escalation_text
from bot.services.notify.gtr import gtr_sentence
from bot.services.notify.remedies import remedy_text
from bot.wording import cost_sentence
from pricing.loader import find_intervention
from pricing.schema import ContractPack
from pricing.terms import pack_zone

#: Events whose agent messages carry the ticket's action buttons.
ACTION_EVENTS = frozenset({"opened", "at_risk", "ticket_state"})
AGENT_AUDIENCES = frozenset({Audience.AGENTS_ROOM, Audience.AGENT})


class _Values(dict[str, str]):
    """Template values, some computed on first use."""

    def __init__(self, ready: dict[str, str], later: dict[str, Callable[[], str]]) -> None:
        super().__init__(ready)
        self.later = later

    def __missing__(self, key: str) -> str:
        value = self[key] = self.later[key]()
        return value


def render(
    *, event: str, t: Translator, ticket: Ticket, pack: ContractPack, params: dict[str, str]
) -> str:
    """The text of a notification for one reader."""
    _ = t.gettext
    _category, intervention = find_intervention(pack, ticket.intervention_id)
    label = intervention.labels.get(t.lang)
    zone = pack_zone(pack)

    def when(key: str) -> str:
        value = params.get(key)
        if not value:
            return _("no target")
        return t.datetime(datetime.fromisoformat(value), zone)

    priority = next((p.labels.get(t.lang) for p in pack.priorities if p.id == ticket.priority), "")
    values = _Values(
        {
            "ref": ticket.reference,
            "intervention": label,
            "priority": priority,
            "reason": _pause_reason(t=t, pack=pack, params=params)
            if event == "paused"
            else params.get("reason", ""),
            "text": params.get("text", ""),
            "name": params.get("name", ""),
            "by": params.get("by", ""),
            "target": _("response") if params.get("target") == "response" else _("resolution"),
            "percent": params.get("percent", ""),
        },
        # Computed only when the chosen template uses them (dates cost a Babel call each).
        {
            "response_due": lambda: when("response_due"),
            "resolution_due": lambda: when("resolution_due"),
            "due": lambda: when("due"),
            "remedy": lambda: remedy_text(t=t, pack=pack, params=params),
            "cost": lambda: (
                _cost_sentence(t=t, pack=pack, params=params) if event == "resolved" else ""
            ),
            "gtr": lambda: gtr_sentence(t=t, params=params) if event == "resolved" else "",
        },
    )
    templates = {
        "opened": _(
            "Ticket %(ref)s opened: %(intervention)s, priority %(priority)s. "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "responded": _("Ticket %(ref)s: an agent has started working on your request."),
        "priority_changed": _(
            "Ticket %(ref)s: priority changed to %(priority)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "intervention_changed": _(
            "Ticket %(ref)s reclassified as %(intervention)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "paused": _("Ticket %(ref)s: the SLA clock is stopped (%(reason)s)."),
        "resumed": _(
            "Ticket %(ref)s: the SLA clock runs again. Resolution due %(resolution_due)s."
        ),
        "resolved": _("Ticket %(ref)s is resolved. %(cost)s") + "%(gtr)s",
        "closed": _("Ticket %(ref)s is closed."),
        "change_accepted": _(
            "Ticket %(ref)s: your change request is accepted; the support team will carry it out."
        ),
        "change_refused": _("Ticket %(ref)s: your change request is refused (%(reason)s)."),
        "breached": _("Ticket %(ref)s: the %(target)s time was missed. %(remedy)s"),
        "agent_comment": _("Ticket %(ref)s, message from %(name)s (support team): %(text)s"),
        "assigned": _(
            "Ticket %(ref)s (%(intervention)s, %(priority)s) is now yours, assigned by %(by)s."
        ),
        "reclassified": _(
            "Ticket %(ref)s reclassified as %(intervention)s, priority %(priority)s "
            "(%(reason)s). Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "customer_comment": _("Ticket %(ref)s, message from the customer: %(text)s"),
        "at_risk": _(
            "Ticket %(ref)s (%(intervention)s, %(priority)s) is at risk: "
            "%(percent)s%% of the %(target)s time used, due %(due)s."
        ),
        "due": _("Ticket %(ref)s: the %(target)s time ends now (%(due)s)."),
        # The escalation sentence says it all (`escalation_text`).
        "escalated": "",
    }
    if event in ("opened", "ticket_state") and params.get("audience") in AGENT_AUDIENCES:
        head = _(
            "New ticket %(ref)s: %(intervention)s, priority %(priority)s. "
            "Response due %(response_due)s."
        )
        return "\n".join((head % values, *state_lines(t=t, ticket=ticket, params=params)))
    text = (templates[event] % values).strip()
    if event == "escalated":
        text = ""
    extra = escalation_text(t=t, pack=pack, ticket=ticket, event=event, params=params)
    return f"{text} {extra}".strip() if extra else text


def status_words(t: Translator, status: str) -> str:
    """A ticket status in words."""
    _ = t.gettext
    return {
        "open": _("open"),
        "responded": _("in progress"),
        "paused": _("clock stopped"),
        "resolved": _("resolved"),
        "closed": _("closed"),
    }.get(status, status)


def verb_words(t: Translator, verb: str) -> str:
    """What an agent did, as the ping's last line says it."""
    _ = t.gettext
    return {
        "ack": _("acknowledged"),
        "take": _("taken"),
        "assign": _("assigned"),
        "pause": _("clock stopped"),
        "resume": _("clock restarted"),
        "resolve": _("resolved"),
        "close": _("closed"),
        "reclassify": _("reclassified"),
        "open": _("opened"),
    }.get(verb, verb)


def state_lines(*, t: Translator, ticket: Ticket, params: dict[str, str]) -> tuple[str, ...]:
    """The ping's state: status and owner, then who did what last."""
    _ = t.gettext
    owner = params.get("owner") or _("unassigned")
    lines = [
        _("Status: %(status)s · owner: %(owner)s")
        % {"status": status_words(t, ticket.status.value), "owner": owner}
    ]
    if params.get("by") and params.get("verb"):
        lines.append(
            _("Last: %(what)s by %(by)s")
            % {"what": verb_words(t, params["verb"]), "by": params["by"]}
        )
    return tuple(lines)


def _pause_reason(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """A pause's reason led by the contract's cause, and the target it stops when only one."""
    reason = params.get("reason", "")
    cause = next((c for c in pack.stop_clock.causes if c.id == params.get("cause")), None)
    if cause is not None:
        reason = f"{cause.labels.get(t.lang)}: {reason}"
    if params.get("stops") == "resolution":
        reason += "; " + t.gettext("the response time is not stopped")
    return reason


def _cost_sentence(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """What resolving cost, in words."""
    return cost_sentence(
        t,
        pack,
        charged=Decimal(params.get("charged") or "0"),
        waived=Decimal(params.get("waived") or "0"),
        on_request=bool(params.get("on_request")),
        top_up_packs=int(params.get("top_up_packs") or 0),
        owed=Decimal(params.get("owed") or "0"),
    )


def action_label(t: Translator, verb: str) -> str:
    """The label of a ticket-action button."""
    _ = t.gettext
    return {
        "ack": _("Acknowledge"),
        "take": _("Take"),
        "pause": _("Pause"),
        "resume": _("Resume"),
        "resolve": _("Resolve"),
    }.get(verb, verb)


def actions_for(*, event: str, audience: str, lang: str, ticket: Ticket) -> list[dict[str, str]]:
    """Buttons on agent pings: those that make sense on the ticket now (`desk.ticket_actions`)."""
    if audience not in AGENT_AUDIENCES or event not in ACTION_EVENTS:
        return []
    t = translator(lang)
    return [
        {"label": action_label(t, verb), "payload": f"t:{verb}:{ticket.reference}"}
        for verb in ticket_actions(ticket)
    ]
