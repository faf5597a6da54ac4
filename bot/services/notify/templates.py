"""The message texts of ticket notifications, per event and reader, and the agents' buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from bot.channels.sending import Audience
from bot.clauses import clause_lines
from bot.i18n import Translator, translator
from bot.services.actions import VERBS, ticket_actions
from bot.services.notify.escalation import escalation_text
from bot.services.notify.facts import TicketFacts
from bot.services.notify.gtr import gtr_sentence
from bot.services.notify.remedies import remedy_text
from bot.wording import amount_text, cost_sentence
from pricing.loader import find_intervention
from pricing.schema import ContractPack
from pricing.terms import pack_zone

#: Events whose agent messages carry the ticket's action buttons.
ACTION_EVENTS = frozenset({"opened", "at_risk", "ticket_state"})
AGENT_AUDIENCES = frozenset({Audience.AGENTS_ROOM, Audience.AGENT})
#: Readers told about the customer's remedies rather than addressed as the customer.
STAFF_READERS = frozenset({*AGENT_AUDIENCES, Audience.MANAGER, Audience.ADMIN})


class _Values(dict[str, str]):
    """Template values, some computed on first use."""

    def __init__(self, ready: dict[str, str], later: dict[str, Callable[[], str]]) -> None:
        super().__init__(ready)
        self.later = later

    def __missing__(self, key: str) -> str:
        value = self[key] = self.later[key]()
        return value


#: Instants already written out, by (language, ISO instant, zone): a ticket's warnings, its
#: due ping and the messages of a burst repeat the same few instants (Babel is slow).
_INSTANTS: dict[tuple[str, str, str], str] = {}
_INSTANTS_KEPT = 20_000


def instant_text(t: Translator, value: str, zone: str) -> str:
    """`t.datetime` of an ISO instant in `zone`, remembered per language."""
    key = (t.lang, value, zone)
    text = _INSTANTS.get(key)
    if text is None:
        if len(_INSTANTS) >= _INSTANTS_KEPT:
            _INSTANTS.clear()
        text = _INSTANTS[key] = t.datetime(datetime.fromisoformat(value), zone)
    return text


#: (intervention label, priority label, zone) by pack, language, intervention and priority.
_WORDS: dict[tuple[int, str, str, str], tuple[ContractPack, tuple[str, str, str]]] = {}


def _ticket_words(
    pack: ContractPack, lang: str, intervention_id: str, priority_id: str
) -> tuple[str, str, str]:
    """The intervention's and the priority's labels in `lang`, and the pack's zone (kept)."""
    key = (id(pack), lang, intervention_id, priority_id)
    known = _WORDS.get(key)
    if known is not None and known[0] is pack:
        return known[1]
    _category, intervention = find_intervention(pack, intervention_id)
    priority = next((p.labels.get(lang) for p in pack.priorities if p.id == priority_id), "")
    words = (intervention.labels.get(lang), priority, pack_zone(pack))
    if len(_WORDS) >= _INSTANTS_KEPT:
        _WORDS.clear()
    _WORDS[key] = (pack, words)
    return words


def render(
    *, event: str, t: Translator, ticket: TicketFacts, pack: ContractPack, params: dict[str, str]
) -> str:
    """The text of a notification for one reader."""
    _ = t.gettext
    label, priority, zone = _ticket_words(pack, t.lang, ticket.intervention_id, ticket.priority)

    def when(key: str) -> str:
        value = params.get(key)
        if not value:
            return _("no target")
        return instant_text(t, value, zone)

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
            "amount": _quoted_amount(t=t, pack=pack, params=params),
        },
        # Computed only when the chosen template uses them (dates cost a Babel call each).
        {
            "response_due": lambda: when("response_due"),
            "resolution_due": lambda: when("resolution_due"),
            "due": lambda: when("due"),
            "remedy": lambda: remedy_text(
                t=t, pack=pack, params=params, staff=params.get("audience") in STAFF_READERS
            ),
            "cost": lambda: (
                _cost_sentence(t=t, pack=pack, params=params) if event == "resolved" else ""
            ),
            "gtr": lambda: gtr_sentence(t=t, params=params) if event == "resolved" else "",
        },
    )
    # Only the chosen template is translated (lambdas: one gettext per message, not twenty).
    templates: dict[str, Callable[[], str]] = {
        "opened": lambda: _(
            "Ticket %(ref)s opened: %(intervention)s, priority %(priority)s. "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "responded": lambda: _("Ticket %(ref)s: an agent has started working on your request."),
        "priority_changed": lambda: _(
            "Ticket %(ref)s: priority changed to %(priority)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "intervention_changed": lambda: _(
            "Ticket %(ref)s reclassified as %(intervention)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "paused": lambda: _("Ticket %(ref)s: the SLA clock is stopped (%(reason)s)."),
        "resumed": lambda: _(
            "Ticket %(ref)s: the SLA clock runs again. Resolution due %(resolution_due)s."
        ),
        "resolved": lambda: _("Ticket %(ref)s is resolved. %(cost)s") + "%(gtr)s",
        "closed": lambda: _("Ticket %(ref)s is closed."),
        "reopened": lambda: _("Ticket %(ref)s was reopened by the customer (%(reason)s)."),
        "change_accepted": lambda: _(
            "Ticket %(ref)s: your change request is accepted; the support team will carry it out."
        ),
        "change_refused": lambda: _("Ticket %(ref)s: your change request is refused (%(reason)s)."),
        "breached": lambda: _("Ticket %(ref)s: the %(target)s time was missed. %(remedy)s"),
        "agent_comment": lambda: _(
            "Ticket %(ref)s, message from %(name)s (support team): %(text)s"
        ),
        "assigned": lambda: _(
            "Ticket %(ref)s (%(intervention)s, %(priority)s) is now yours, assigned by %(by)s."
        ),
        "reclassified": lambda: _(
            "Ticket %(ref)s reclassified as %(intervention)s, priority %(priority)s "
            "(%(reason)s). Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "customer_comment": lambda: _("Ticket %(ref)s, message from the customer: %(text)s"),
        "at_risk": lambda: _(
            "Ticket %(ref)s (%(intervention)s, %(priority)s) is at risk: "
            "%(percent)s%% of the %(target)s time used, due %(due)s."
        ),
        "due": lambda: _("Ticket %(ref)s: the %(target)s time ends now (%(due)s)."),
        "quote_proposed": lambda: _(
            "Ticket %(ref)s: quote of %(amount)s — %(text)s. The work starts once you accept "
            "it; nothing is charged before. Accept or decline it below."
        ),
        "quote_accepted": lambda: _(
            "Ticket %(ref)s: the customer accepted the quote of %(amount)s; the work may start."
        ),
        "quote_declined": lambda: _(
            "Ticket %(ref)s: the customer declined the quote of %(amount)s."
        ),
        # The escalation sentence says it all (`escalation_text`).
        "escalated": lambda: "",
    }
    if event in ("agent_comment", "customer_comment") and params.get("files"):
        return _comment_with_files(t=t, event=event, values=values, files=params["files"])
    if event == "resolved" and params.get("audience") == Audience.CUSTOMER:
        question = _("Is it solved? If not, say so and the ticket goes back to the team.")
        return f"{(templates[event]() % values).strip()}\n{question}"
    if event == "closed" and params.get("audience") == Audience.CUSTOMER:
        return _closed_text(t=t, values=values, params=params)
    if event in ("opened", "ticket_state") and params.get("audience") in AGENT_AUDIENCES:
        head = _(
            "New ticket %(ref)s: %(intervention)s, priority %(priority)s. "
            "Response due %(response_due)s."
        )
        return "\n".join((head % values, *state_lines(t=t, ticket=ticket, params=params)))
    text = (templates[event]() % values).strip()
    if event == "escalated":
        text = ""
    extra = escalation_text(t=t, pack=pack, ticket=ticket, event=event, params=params)
    text = f"{text} {extra}".strip() if extra else text
    if event == "breached" and params.get("audience") == Audience.CUSTOMER:
        # The clauses that bound what the customer may claim for this breach.
        notes = clause_lines(
            t=t, pack=pack, where="breach", kind=ticket.kind, target=params.get("target")
        )
        text = "\n".join((text, *notes))
    return text


def _comment_with_files(*, t: Translator, event: str, values: dict[str, str], files: str) -> str:
    """A message with files: who sent it, its text if any, then one line per file."""
    _ = t.gettext
    if event == "agent_comment":
        head = _("Ticket %(ref)s, files from %(name)s (support team):") % values
    else:
        head = _("Ticket %(ref)s, files from the customer:") % values
    lines = [head]
    if values["text"]:
        lines.append(values["text"])
    lines += ["📎 " + line for line in files.splitlines()]
    return "\n".join(lines)


def _closed_text(*, t: Translator, values: dict[str, str], params: dict[str, str]) -> str:
    """The customer's closing message (why it closed) and the rating question."""
    _ = t.gettext
    if params.get("reason") == "auto":
        head = auto_closed_sentence(t, values["ref"], params.get("days") or "0")
    else:
        head = _("Ticket %(ref)s is closed.") % values
    return head + "\n" + _("How satisfied are you with how it was handled? 1 (poor) to 5 (very).")


def auto_closed_sentence(t: Translator, reference: str, days: str) -> str:
    """The auto-close sentence, with its number of business days."""
    count = int(days) if days.isdigit() else 0
    return t.ngettext(
        "Ticket %(ref)s is closed: no answer came %(days)d business day after it was resolved.",
        "Ticket %(ref)s is closed: no answer came %(days)d business days after it was resolved.",
        count,
    ) % {"ref": reference, "days": count}


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


def state_lines(*, t: Translator, ticket: TicketFacts, params: dict[str, str]) -> tuple[str, ...]:
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


def _quoted_amount(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """A quoted price in the customer's words: euros, credits or hours."""
    amount = params.get("amount")
    if not amount:
        return ""
    if params.get("unit") == "eur":
        return t.euros(Decimal(amount))
    return amount_text(t, Decimal(amount), pack)


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


#: Customer buttons: the "solved?" question, the rating 1–5 (`t:VERB:REF` payloads).
SOLVED, UNSOLVED, RATE = "solved", "unsolved", "rate"


def customer_actions(*, event: str, lang: str, ticket: TicketFacts) -> list[dict[str, str]]:
    """The buttons of a customer's message: solved or not after resolution; a rating after."""
    _ = translator(lang).gettext
    ref = ticket.reference
    if event == "resolved":
        return [
            {"label": _("Yes, it is solved"), "payload": f"t:{SOLVED}:{ref}"},
            {"label": _("No, it isn't"), "payload": f"t:{UNSOLVED}:{ref}"},
        ]
    if event == "closed":
        return [{"label": str(n), "payload": f"t:{RATE}{n}:{ref}"} for n in range(1, 6)]
    return []


def actions_for(
    *, event: str, audience: str, lang: str, ticket: TicketFacts
) -> list[dict[str, str]]:
    """Buttons on agent pings: those that make sense on the ticket now (`desk.ticket_actions`);
    on a customer's message, the lifecycle's questions (`customer_actions`); a quote reaches
    the customer with its Accept and Decline buttons."""
    if event == "quote_proposed" and audience == Audience.CUSTOMER:
        t = translator(lang)
        return [
            {"label": t.gettext("Accept the quote"), "payload": f"t:quote-yes:{ticket.reference}"},
            {"label": t.gettext("Decline"), "payload": f"t:quote-no:{ticket.reference}"},
        ]
    if audience == Audience.CUSTOMER:
        return customer_actions(event=event, lang=lang, ticket=ticket)
    if audience not in AGENT_AUDIENCES or event not in ACTION_EVENTS:
        return []
    labels = _action_labels(lang)
    return [
        {"label": labels[verb], "payload": f"t:{verb}:{ticket.reference}"}
        for verb in ticket_actions(ticket)
    ]


@lru_cache(maxsize=8)
def _action_labels(lang: str) -> dict[str, str]:
    """Every ticket-action verb's button label in `lang` (one translation per process)."""
    t = translator(lang)
    return {verb: action_label(t, verb) for verb in VERBS}
