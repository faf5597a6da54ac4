"""Guided intake: contract → category → intervention → kind → priority → details →
description → quote → confirmation → ticket.

Each state has a question (`ask`) and an answer handler (`answer`). Answers come as option
values (buttons, lists) or typed text: a number or label picks an option; other text at the
category or intervention step searches the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.lists import format_list
from sqlmodel import col, select

from bot.clauses import clause_lines
from bot.db.models import Contract, Role, Tenant, User
from bot.durations import DurationError, parse_minutes
from bot.numbers import parse_int
from bot.services import accounts, billing, ledger, tenants, tickets
from bot.services.contracts import terms_of
from bot.services.ticket_sla import ticket_clocks
from bot.wording import amount_text, priority_label
from handlers import contacts
from handlers.context import Context, offered_value, typed_choice
from handlers.execution_window import EXECUTION_TIME, WhenError, parse_local, risky_text
from handlers.intake_facts import due_lines, priority_line
from handlers.model import Choices, Confirm, Option, Prompt, RefusalReason, Text, echo
from handlers.render import fee_text, quote_text, ticket_card
from handlers.states import State, back, move, parse_state, reset
from pricing.loader import find_intervention, get_pack
from pricing.quotes import ON_QUOTE_CATEGORY, ON_QUOTE_INTERVENTION, Quote, quote
from pricing.schema import ContractPack, DetailField, Intervention, PriceRuleType, Priority
from pricing.search import search_catalog

SEARCH = "~search"
NONE = "~none"
OPEN = "~open"
KEEP = "~keep"
SAME = "~same"
CHANGE = "~change"
CONTACT = "~contact"  # the detail step asking "same contact as last time?"
RESUME = "~resume"
RESTART = "~restart"
UNKNOWN_ESTIMATE = "0"
MAX_DESCRIPTION = 3000
MAX_DETAIL = 300

# What a changed answer makes stale: the answers that depend on it (the customer's own
# words — details typed, description — stay, « Back » never throws them away).
DEPENDENT: dict[State, tuple[str, ...]] = {
    State.OPEN_REQUESTER: ("contract_id", "category_id", "intervention_id", "kind", "priority"),
    State.PICK_CONTRACT: (
        "category_id",
        "intervention_id",
        "kind",
        "priority",
        "details",
        "units",
        "estimate_minutes",
        "detail_at",
    ),
    State.PICK_CATEGORY: ("intervention_id", "kind", "priority"),
    State.PICK_INTERVENTION: ("kind", "priority", "units", "estimate_minutes"),
    State.CONFIRM_MATCH: ("kind", "priority", "units", "estimate_minutes"),
}


# The states of a customer's intake draft (an unfinished one is offered again on /new).
DRAFT_STATES = frozenset(
    {
        State.PICK_CONTRACT,
        State.PICK_CATEGORY,
        State.PICK_INTERVENTION,
        State.DESCRIBE_SEARCH,
        State.CONFIRM_MATCH,
        State.PICK_KIND,
        State.PICK_PRIORITY,
        State.ASK_DETAIL,
        State.ASK_WHEN,
        State.ASK_UNITS,
        State.ASK_ESTIMATE,
        State.ASK_DESCRIPTION,
        State.CONFIRM,
    }
)

# --------------------------------------------------------------------------- helpers


def _contract(ctx: Context) -> Contract:
    conversation = ctx.require_conversation
    assert conversation.contract_id is not None
    contract = ctx.loaded.get(conversation.contract_id)
    if contract is None:
        contract = ctx.session.get(Contract, conversation.contract_id)
        assert contract is not None
        ctx.loaded[conversation.contract_id] = contract
    return contract


def _pack(ctx: Context) -> ContractPack:
    return get_pack(_contract(ctx).pack_id)


def _intervention(ctx: Context) -> Intervention:
    conversation = ctx.require_conversation
    assert conversation.intervention_id is not None
    return find_intervention(_pack(ctx), conversation.intervention_id)[1]


def _offered(intervention: Intervention, contract: Contract) -> bool:
    levels = intervention.service_levels
    return levels is None or contract.service_level in levels


def _choices(ctx: Context, text: str, options: list[Option], *, back: bool = True) -> Choices:
    return Choices(text=text, options=(*options, *ctx.nav_options(back=back)))


def _required_details(pack: ContractPack, kind: str | None) -> list[DetailField]:
    # A pack's "description" detail is the intake's own description step: not asked twice.
    # Optional details are not asked: the requester adds them with /comment when useful.
    return [
        d
        for d in pack.intake.details
        if d.required
        and d.id != "description"
        and (not d.kinds or (kind is not None and kind in d.kinds))
    ]


def _available_priorities(pack: ContractPack, intervention: Intervention) -> list[Priority]:
    allowed = set(intervention.available_priorities)
    return sorted((p for p in pack.priorities if p.id in allowed), key=lambda p: -p.rank)


def _keep_option(ctx: Context, value: str | None) -> tuple[Option, ...]:
    """After « Back », a typed answer already given is offered again as a button."""
    if not value:
        return ()
    shown = value if len(value) <= 40 else value[:39] + "…"
    return (ctx.option(ctx._("Keep: %(value)s") % {"value": shown}, KEEP),)


def _set(ctx: Context, state: State, name: str, value: object) -> None:
    """Record an answer; a changed answer forgets the answers that depended on it."""
    conversation = ctx.require_conversation
    if getattr(conversation, name) != value:
        _clear_after(ctx, state)
    setattr(conversation, name, value)


def _region(pack: ContractPack) -> str:
    """The country whose phone numbering applies by default: the contract's holidays country."""
    calendar = next((c for c in pack.calendars if c.id == pack.default_calendar), None)
    return calendar.holidays.country if calendar and calendar.holidays else "BE"


# --------------------------------------------------------------------------- entry


def new_command(ctx: Context, argument: str) -> None:
    """/new: start an intake (the argument, if any, is searched in the catalog)."""
    tenant = ctx.tenant
    if tenant is None or tenant.id is None:
        ctx.refuse(ctx._("Only customers can open tickets."), RefusalReason.ACCESS_DENIED)
        return
    contracts = tenants.active_contracts(session=ctx.session, tenant_id=tenant.id)
    if not contracts:
        ctx.refuse(
            ctx._("Your company has no active support contract. Contact your provider."),
            RefusalReason.INVALID_STATE,
        )
        return
    conversation = ctx.require_conversation
    if parse_state(conversation.state) in DRAFT_STATES and conversation.requester_id is None:
        # An unfinished intake (still within the idle window): offer its answers again.
        conversation.search_query = argument[:200] or None
        move(ctx, State.RESUME_DRAFT)
        ask(ctx)
        return
    _start(ctx, contracts, argument)


def _start(ctx: Context, contracts: list[Contract], argument: str) -> None:
    conversation = ctx.require_conversation
    reset(conversation)
    if len(contracts) == 1:
        conversation.contract_id = contracts[0].id
        move(ctx, State.PICK_CATEGORY, remember=False)
    else:
        move(ctx, State.PICK_CONTRACT, remember=False)
    if argument:
        # The words given with /new are searched (across contracts when there are several)
        # and offered again as the description.
        conversation.description = argument[:MAX_DESCRIPTION]
        _search(ctx, argument)
        return
    ask(ctx)


def _ask_resume(ctx: Context) -> None:
    conversation = ctx.require_conversation
    lang = ctx.t.lang
    facts = []
    if conversation.contract_id is not None:
        facts.append(contract_label(_contract(ctx), lang))
    if conversation.intervention_id is not None:
        facts.append(_intervention(ctx).labels.get(lang))
    if conversation.description:
        facts.append(echo(conversation.description, 60))
    text = ctx._("You have an unfinished request: %(facts)s. Continue it?") % {
        "facts": " · ".join(facts) if facts else "…"
    }
    options = (
        ctx.option(ctx._("Continue where I left off"), RESUME),
        ctx.option(ctx._("Start a new request"), RESTART),
    )
    ctx.ask(Choices(text=text, options=options))


def _answer_resume(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    conversation = ctx.require_conversation
    if picked == RESUME:
        conversation.search_query = None
        back(ctx)
        ask(ctx)
        return
    if picked == RESTART:
        argument = conversation.search_query or ""
        assert ctx.tenant is not None
        assert ctx.tenant.id is not None
        contracts = tenants.active_contracts(session=ctx.session, tenant_id=ctx.tenant.id)
        _start(ctx, contracts, argument)
        return
    _invalid(ctx)


NOW = "~now"
MAX_PEOPLE = 90


def open_command(ctx: Context, argument: str) -> None:
    """/open: staff open a ticket for a customer (a phoned-in incident, an e-mail)."""
    if not ctx.require_actor.is_staff:
        ctx.refuse(ctx._("Only staff open tickets for a customer."), RefusalReason.ACCESS_DENIED)
        return
    if not _customer_people(ctx):
        ctx.refuse(
            ctx._("No customer has an active contract with your providers."),
            RefusalReason.INVALID_STATE,
        )
        return
    conversation = ctx.require_conversation
    reset(conversation)
    move(ctx, State.OPEN_REQUESTER, remember=False)
    ask(ctx)


def _customer_people(ctx: Context) -> list[tuple[Tenant, User]]:
    """The customers' people a staff member may open a ticket for, by company then name."""
    actor = ctx.require_actor
    query = (
        select(Tenant, User)
        .join(User, col(User.tenant_id) == col(Tenant.id))
        .where(col(User.role).in_((Role.REQUESTER, Role.MANAGER)))
        .order_by(col(Tenant.name), col(User.display_name), col(User.id))
    )
    people: list[tuple[Tenant, User]] = []
    for tenant, user in ctx.session.exec(query).all():
        assert tenant.id is not None
        contracts = tenants.active_contracts(session=ctx.session, tenant_id=tenant.id)
        if any(
            actor.role is Role.ADMIN or get_pack(c.pack_id).provider_code in actor.providers
            for c in contracts
        ):
            people.append((tenant, user))
    return people[:MAX_PEOPLE]


def _ask_requester(ctx: Context) -> None:
    options = [
        ctx.option(f"{tenant.name} — {user.display_name}", str(user.id))
        for tenant, user in _customer_people(ctx)
    ]
    text = ctx._("Opening a ticket for a customer. Who reported it?")
    ctx.ask(_choices(ctx, text, options, back=False))


def _answer_requester(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    person = next((u for _t, u in _customer_people(ctx) if str(u.id) == picked), None)
    if person is None:
        _invalid(ctx)
        return
    ctx.require_conversation.requester_id = person.id
    move(ctx, State.OPEN_LOGGED)
    ask(ctx)


def _ask_logged(ctx: Context) -> None:
    text = ctx._(
        "When did the customer report it? Choose Now, or type the local date and time, "
        "for example %(example)s."
    ) % {"example": "2026-11-20 14:05"}
    options = (ctx.option(ctx._("Now"), NOW), *ctx.nav_options())
    ctx.ask(Prompt(text=text, options=options))


def _answer_logged(ctx: Context, value: str, chosen: bool) -> None:
    conversation = ctx.require_conversation
    if chosen and value == NOW:
        conversation.logged_at = None
    else:
        zone = ctx.tenant.zone if ctx.tenant is not None else ctx.settings.zone
        requester = ctx.session.get(User, conversation.requester_id or 0)
        if requester is not None and requester.tenant_id is not None:
            tenant = ctx.session.get(Tenant, requester.tenant_id)
            zone = tenant.zone if tenant is not None else zone
        try:
            day, _sep, clock = value.strip().partition(" ")
            year, month, date_of_month = (int(part) for part in day.split("-"))
            hour, minute = (int(part) for part in clock.strip().split(":"))
            local = datetime(year, month, date_of_month, hour, minute, tzinfo=ZoneInfo(zone))
        except ValueError:
            ctx.refuse(
                ctx._("Write the date and time as %(example)s.") % {"example": "2026-11-20 14:05"},
                RefusalReason.INVALID_ANSWER,
            )
            ask(ctx)
            return
        instant = local.astimezone(UTC)
        if instant > ctx.now:
            ctx.refuse(
                ctx._("The logging instant cannot be in the future."), RefusalReason.INVALID_ANSWER
            )
            ask(ctx)
            return
        conversation.logged_at = instant
    contracts = draft_contracts(ctx)
    if len(contracts) == 1:
        conversation.contract_id = contracts[0].id
        move(ctx, State.PICK_CATEGORY)
    else:
        move(ctx, State.PICK_CONTRACT)
    ask(ctx)


def go_back(ctx: Context) -> State | None:
    """« Back »: return to the previous question; every answer given so far is kept."""
    conversation = ctx.require_conversation
    current = parse_state(conversation.state)
    if current is State.ASK_DETAIL:
        steps = _steps(ctx)
        at = steps.index(conversation.detail_at) if conversation.detail_at in steps else 0
        if at > 0:
            conversation.detail_at = steps[at - 1]
            move(ctx, State.ASK_DETAIL, remember=False)
            ask(ctx)
            return State.ASK_DETAIL
    state = back(ctx)
    if state is None:
        return None
    if state is State.ASK_DETAIL:
        steps = _steps(ctx)
        conversation.detail_at = steps[-1] if steps else None
    ask(ctx)
    return state


def _clear_after(ctx: Context, state: State) -> None:
    conversation = ctx.require_conversation
    for name in DEPENDENT.get(state, ()):
        setattr(conversation, name, {} if name == "details" else None)


# --------------------------------------------------------------------------- questions


def ask(ctx: Context) -> None:
    """Ask the question of the conversation's current state."""
    state = parse_state(ctx.require_conversation.state)
    asker = ASKERS.get(state)
    if asker is None:
        reset(ctx.require_conversation)
        return
    asker(ctx)


def draft_contracts(ctx: Context) -> list[Contract]:
    """The contracts the draft may be about: the customer's, or (staff opening a ticket for
    a customer) that customer's contracts with a provider the staff member serves."""
    conversation = ctx.require_conversation
    if conversation.requester_id is None:
        assert ctx.tenant is not None
        assert ctx.tenant.id is not None
        return tenants.active_contracts(session=ctx.session, tenant_id=ctx.tenant.id)
    requester = ctx.session.get(User, conversation.requester_id)
    if requester is None or requester.tenant_id is None:
        return []
    actor = ctx.require_actor
    return [
        contract
        for contract in tenants.active_contracts(session=ctx.session, tenant_id=requester.tenant_id)
        if actor.role is Role.ADMIN or get_pack(contract.pack_id).provider_code in actor.providers
    ]


def contract_label(contract: Contract, lang: str, *, twin: bool = False) -> str:
    """ "Provider — short name"; the customer's own label tells two contracts of a pack apart."""
    pack = get_pack(contract.pack_id)
    short = pack.short_name.get(lang) if pack.short_name else pack.title.get(lang)
    label = f"{pack.provider} — {short}"
    if twin and contract.label and contract.label not in {pack.title.fr, pack.title.nl}:
        label = f"{label} ({contract.label})"
    return label if len(label) <= 75 else label[:74] + "…"


def _ask_contract(ctx: Context) -> None:
    contracts = draft_contracts(ctx)
    packs = [c.pack_id for c in contracts]
    options = [
        ctx.option(contract_label(c, ctx.t.lang, twin=packs.count(c.pack_id) > 1), str(c.id))
        for c in contracts
    ]
    options.append(ctx.option(ctx._("Describe it in my own words"), SEARCH))
    ctx.ask(_choices(ctx, ctx._("Which contract is this request about?"), options, back=False))


def _ask_category(ctx: Context) -> None:
    pack, contract = _pack(ctx), _contract(ctx)
    options = [
        ctx.option(category.labels.get(ctx.t.lang), category.id)
        for category in pack.categories
        if any(_offered(i, contract) for i in category.interventions)
        and category.id != ON_QUOTE_CATEGORY  # offered at every intervention question
    ]
    options.append(ctx.option(ctx._("Describe it in my own words"), SEARCH))
    text = ctx._(
        "Which service is it about? Pick one, or simply describe your problem in a few words."
    )
    ctx.ask(_choices(ctx, text, options, back=bool(ctx.require_conversation.back_stack)))


def _ask_intervention(ctx: Context) -> None:
    pack, contract = _pack(ctx), _contract(ctx)
    conversation = ctx.require_conversation
    category = next(c for c in pack.categories if c.id == conversation.category_id)
    options = [
        ctx.option(item.labels.get(ctx.t.lang), item.id)
        for item in category.interventions
        if _offered(item, contract)
    ]
    on_quote = _on_quote(pack)
    if on_quote is not None and category.id != ON_QUOTE_CATEGORY:
        options.append(ctx.option(on_quote.labels.get(ctx.t.lang), on_quote.id))
    text = ctx._("%(category)s: which intervention do you need?") % {
        "category": category.labels.get(ctx.t.lang)
    }
    ctx.ask(_choices(ctx, text, options))


def _ask_search(ctx: Context) -> None:
    ctx.ask(
        Prompt(
            text=ctx._("Describe your problem or request in a few words."),
            options=ctx.nav_options(),
        )
    )


def _ask_match(ctx: Context) -> None:
    conversation = ctx.require_conversation
    lang = ctx.t.lang
    several = len({_candidate(ctx, key)[0].id for key in conversation.candidates}) > 1
    options = []
    for key in conversation.candidates:
        contract, iid = _candidate(ctx, key)
        pack = get_pack(contract.pack_id)
        category, item = find_intervention(pack, iid)
        where = pack.provider if several else category.labels.get(lang)
        label = f"{item.labels.get(lang)} · {where}"
        if len(label) > 75:
            label = item.labels.get(lang)[: 72 - len(where)] + "… · " + where
        options.append(ctx.option(label, key))
    options.append(ctx.option(ctx._("None of these"), NONE))
    text = ctx._("Is it one of these?")
    ctx.ask(_choices(ctx, text, options))


def _ask_kind(ctx: Context) -> None:
    pack = _pack(ctx)
    intervention = _intervention(ctx)
    options = [
        ctx.option(kind.labels.get(ctx.t.lang), kind.id)
        for kind in pack.kinds
        if kind.id in intervention.kinds
    ]
    ctx.ask(_choices(ctx, ctx._("Is it an incident, a change or a question?"), options))


def _ask_priority(ctx: Context) -> None:
    pack = _pack(ctx)
    intervention = _intervention(ctx)
    allowed = _available_priorities(pack, intervention)
    lang = ctx.t.lang
    lines = [ctx._("How much does it affect your work?")]
    for priority in allowed:
        lines.append("• " + _priority_line(ctx, priority.id))
        lines.append("   " + priority.impact.get(lang))
    ceiling = allowed[0] if allowed else None
    higher = [p for p in pack.priorities if ceiling is not None and p.rank > ceiling.rank]
    if higher and ceiling is not None:
        lines.append(
            ctx.t.ngettext(
                "%(excluded)s is not offered: for this intervention your contract allows at "
                "most %(ceiling)s.",
                "%(excluded)s are not offered: for this intervention your contract allows at "
                "most %(ceiling)s.",
                len(higher),
            )
            % {
                "excluded": _listing(ctx, [p.labels.get(lang) for p in higher]),
                "ceiling": ceiling.labels.get(lang),
            }
        )
    options = [ctx.option(p.labels.get(lang), p.id) for p in allowed]
    ctx.ask(_choices(ctx, "\n".join(lines), options))


def _remembered_contact(ctx: Context) -> dict[str, str]:
    """The contact details to offer again: the draft's, else the user's last ticket's."""
    conversation = ctx.require_conversation
    draft = {k: v for k, v in conversation.details.items() if k in contacts.FIELDS}
    if draft:
        return draft
    user_id = conversation.requester_id or ctx.require_actor.id
    if conversation.contract_id is None:
        return {}
    found = contacts.last_contact(
        session=ctx.session, user_id=user_id, contract_id=conversation.contract_id
    )
    return found or {}


def _steps(ctx: Context) -> list[str]:
    """The detail questions of this draft, in order; remembered contact details are one
    question ("same contact as last time?") unless the user chose to change them."""
    conversation = ctx.require_conversation
    ids = [d.id for d in _required_details(_pack(ctx), conversation.kind)]
    contact_ids = [i for i in ids if i in contacts.FIELDS]
    if not contact_ids or conversation.detail_at in contacts.FIELDS:
        return ids
    remembered = _remembered_contact(ctx)
    if not all(remembered.get(i) for i in contact_ids):
        return ids
    first = ids.index(contact_ids[0])
    rest = [i for i in ids if i not in contacts.FIELDS]
    return [*rest[:first], CONTACT, *rest[first:]]


def _detail_field(ctx: Context, detail_id: str) -> DetailField:
    return next(d for d in _pack(ctx).intake.details if d.id == detail_id)


def _ask_detail(ctx: Context) -> None:
    conversation = ctx.require_conversation
    at = conversation.detail_at
    if at == CONTACT:
        pack = _pack(ctx)
        remembered = _remembered_contact(ctx)
        shown = ", ".join(echo(remembered[d.id]) for d in pack.intake.details if d.id in remembered)
        text = ctx._("Same contact as last time: %(contact)s?") % {"contact": shown}
        options = (
            ctx.option(ctx._("Yes"), SAME),
            ctx.option(ctx._("Change"), CHANGE),
            *ctx.nav_options(),
        )
        ctx.ask(Prompt(text=text, options=options))
        return
    assert at is not None
    detail = _detail_field(ctx, at)
    keep = _keep_option(ctx, conversation.details.get(at))
    ctx.ask(Prompt(text=detail.labels.get(ctx.t.lang), options=(*keep, *ctx.nav_options())))


def _ask_units(ctx: Context) -> None:
    pack = _pack(ctx)
    rule = _intervention(ctx).prices[ctx.require_conversation.priority or ""]
    unit = next((u.labels.get(ctx.t.lang) for u in pack.units if u.id == rule.unit), "")
    text = ctx._("How many (%(unit)s)? Type a number.") % {"unit": unit}
    units = ctx.require_conversation.units
    keep = _keep_option(ctx, None if units is None else str(units))
    ctx.ask(Prompt(text=text, options=(*keep, *ctx.nav_options())))


def _ask_estimate(ctx: Context) -> None:
    options = [
        ctx.option(ctx._("15 min"), "15"),
        ctx.option(ctx._("30 min"), "30"),
        ctx.option(ctx._("1 hour"), "60"),
        ctx.option(ctx._("2 hours"), "120"),
        ctx.option(ctx._("I don't know"), UNKNOWN_ESTIMATE),
    ]
    text = ctx._(
        "This intervention is charged per started quarter hour. How long do you expect it to "
        "take? Pick one or type a duration (90, 1h30, 1,5 h); it is only used for the estimate."
    )
    minutes = ctx.require_conversation.estimate_minutes
    if minutes is not None:
        options.insert(0, *_keep_option(ctx, ctx.t.duration(timedelta(minutes=minutes))))
    ctx.ask(_choices(ctx, text, options))


def _ask_description(ctx: Context) -> None:
    text = ctx._("Describe the request: what happens, where, since when.")
    keep = _keep_option(ctx, ctx.require_conversation.description)
    ctx.ask(Prompt(text=text, options=(*keep, *ctx.nav_options())))


def _cost(
    ctx: Context,
    contract: Contract,
    pack: ContractPack,
    intervention_id: str,
    estimate: Quote,
    *,
    minutes_unknown: bool = False,
) -> str:
    """The quote in words; a one-off fee (Proximus standard changes) replaces it when due."""
    terms = terms_of(session=ctx.session, contract=contract, pack=pack)
    day = ctx.now.astimezone(ZoneInfo(terms.zone)).date()
    fee = terms.one_off_fee(intervention_id=intervention_id, on=day)
    if fee is not None:
        return fee_text(ctx.t, fee)
    unknown = estimate.rule is PriceRuleType.PER_QUARTER_HOUR and minutes_unknown
    if unknown and estimate.credits is not None:
        return ctx._("at least %(amount)s; the final cost depends on the time spent") % {
            "amount": amount_text(ctx.t, estimate.credits, pack)
        }
    return quote_text(ctx.t, estimate, pack)


def _ask_confirm(ctx: Context) -> None:
    conversation = ctx.require_conversation
    pack, contract, intervention = _pack(ctx), _contract(ctx), _intervention(ctx)
    assert conversation.priority is not None
    assert conversation.kind is not None
    lang = ctx.t.lang
    estimate = quote(
        pack=pack,
        intervention_id=intervention.id,
        priority=conversation.priority,
        minutes=conversation.estimate_minutes,
        units=conversation.units,
    )
    check = accounts.check_can_request(
        session=ctx.session, contract=contract, pack=pack, quote=estimate, now=ctx.now
    )
    field = ctx.t.field
    lines = [
        ctx._("Please check your request:"),
        "• " + field(ctx._("Intervention"), intervention.labels.get(lang)),
        "• " + field(ctx._("Priority"), priority_label(pack, conversation.priority, lang)),
        "• " + field(ctx._("Description"), echo(conversation.description or "")),
    ]
    for key, value in conversation.details.items():
        if key == EXECUTION_TIME:
            continue
        label = next((d.labels.get(lang) for d in pack.intake.details if d.id == key), key)
        lines.append("• " + field(label, echo(value)))
    cost = _cost(
        ctx,
        contract,
        pack,
        intervention.id,
        estimate,
        minutes_unknown=conversation.estimate_minutes is None,
    )
    lines.append("• " + field(ctx._("Cost"), cost))
    terms = terms_of(session=ctx.session, contract=contract, pack=pack)
    lines.extend(_when_lines(ctx, pack, terms.zone))
    for line in due_lines(
        ctx.t,
        pack=pack,
        terms=terms,
        item=intervention,
        kind=conversation.kind,
        priority=conversation.priority,
        now=conversation.logged_at or ctx.now,
        zone=terms.zone,
    ):
        lines.append("• " + line)
    lines += clause_lines(t=ctx.t, pack=pack, where="quote", intervention_id=intervention.id)
    for_customer = conversation.requester_id is not None  # staff opening for a customer
    if check.available is not None:
        balance = amount_text(ctx.t, check.available, pack)
        label = ctx._("Customer's balance") if for_customer else ctx._("Your balance")
        lines.append("• " + field(label, balance))
        lines.extend("• " + line for line in _hold_lines(ctx, check, pack))
    if not check.allowed or check.status.value == "purchase_first":
        short = (
            ctx._("The customer's balance is %(shortfall)s short for this request.")
            if for_customer
            else ctx._("Your balance is %(shortfall)s short for this request.")
        )
        lines.append(short % {"shortfall": amount_text(ctx.t, check.shortfall, pack)})
        if check.how_to_top_up is not None:
            lines.append(check.how_to_top_up.get(lang))
    if not check.allowed:
        lines.append(
            ctx._("The contract requires a sufficient balance before the request: top up first.")
        )
        ctx.ask(Choices(text="\n".join(lines), options=ctx.nav_options()))
        return
    ctx.ask(
        Confirm(
            text="\n".join(lines),
            yes=ctx.option(ctx._("Open the ticket"), OPEN),
            no=ctx.option("✕ " + ctx._("Cancel"), "~cancel"),
            extra=(ctx.option("« " + ctx._("Back"), "~back"),),
        )
    )


def _hold_lines(ctx: Context, check: accounts.BalanceCheck, pack: ContractPack) -> list[str]:
    """Credits held at opening, the balance after the hold, and the top-up a charge of the
    estimate would trigger."""
    if check.available is None or not check.needed or check.needed <= 0 or not check.allowed:
        return []
    field = ctx.t.field
    after = check.available - check.needed
    lines = []
    if check.hold_required:
        lines.append(
            field(ctx._("Held when the ticket opens"), amount_text(ctx.t, check.needed, pack))
        )
        lines.append(field(ctx._("Balance after the hold"), amount_text(ctx.t, after, pack)))
    if after < 0 and pack.balance.auto_top_up and check.pack_size:
        packs = ledger.packs_needed(-after, check.pack_size)
        lines.append(
            ctx.t.ngettext(
                "Charging the estimate would add %(n)s pack of %(size)s automatically, "
                "invoiced by the provider.",
                "Charging the estimate would add %(n)s packs of %(size)s automatically, "
                "invoiced by the provider.",
                packs,
            )
            % {"n": packs, "size": amount_text(ctx.t, check.pack_size, pack)}
        )
    elif pack.balance.auto_top_up and check.pack_size:
        lines.append(
            ctx._(
                "If the final cost exceeds your balance, packs of %(size)s are added "
                "automatically and invoiced by the provider."
            )
            % {"size": amount_text(ctx.t, check.pack_size, pack)}
        )
    return lines


ASKERS: dict[State, Callable[[Context], None]] = {
    State.OPEN_REQUESTER: _ask_requester,
    State.OPEN_LOGGED: _ask_logged,
    State.PICK_CONTRACT: _ask_contract,
    State.PICK_CATEGORY: _ask_category,
    State.PICK_INTERVENTION: _ask_intervention,
    State.DESCRIBE_SEARCH: _ask_search,
    State.CONFIRM_MATCH: _ask_match,
    State.PICK_KIND: _ask_kind,
    State.PICK_PRIORITY: _ask_priority,
    State.ASK_DETAIL: _ask_detail,
    State.ASK_UNITS: _ask_units,
    State.ASK_ESTIMATE: _ask_estimate,
    State.ASK_DESCRIPTION: _ask_description,
    State.CONFIRM: _ask_confirm,
    State.RESUME_DRAFT: _ask_resume,
}


# --------------------------------------------------------------------------- answers


def answer(ctx: Context, state: State, value: str, *, chosen: bool) -> None:
    """Take the user's answer to the current question and ask the next one."""
    handler = ANSWERS.get(state)
    if handler is None:
        reset(ctx.require_conversation)
        ctx.say(Text(ctx._("Send /new to open a ticket, or /help to see what I can do.")))
        return
    handler(ctx, value, chosen)


def _resolve_value(ctx: Context, value: str, chosen: bool) -> str | None:
    if chosen:
        return offered_value(ctx, ask, value)
    return typed_choice(ctx, ask, value)


def _invalid(ctx: Context) -> None:
    text = ctx._("I did not understand. Pick one of the options, or type its number.")
    ctx.refuse(text, RefusalReason.INVALID_ANSWER)
    ask(ctx)


def _answer_contract(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    if picked == SEARCH:
        move(ctx, State.DESCRIBE_SEARCH)
        ask(ctx)
        return
    contracts = draft_contracts(ctx)
    contract = next((c for c in contracts if str(c.id) == picked), None)
    if contract is None:
        if chosen or picked is not None or len(value.strip()) < 3:
            _invalid(ctx)
        else:
            _search(ctx, value)
        return
    _set(ctx, State.PICK_CONTRACT, "contract_id", contract.id)
    move(ctx, State.PICK_CATEGORY)
    ask(ctx)


def _answer_category(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    if picked == SEARCH:
        move(ctx, State.DESCRIBE_SEARCH)
        ask(ctx)
        return
    pack = _pack(ctx)
    category = next((c for c in pack.categories if c.id == picked), None)
    if category is None:
        if chosen:
            _invalid(ctx)
        else:
            _search(ctx, value)
        return
    _set(ctx, State.PICK_CATEGORY, "category_id", category.id)
    move(ctx, State.PICK_INTERVENTION)
    ask(ctx)


def _answer_intervention(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    pack, contract = _pack(ctx), _contract(ctx)
    category = next(c for c in pack.categories if c.id == ctx.require_conversation.category_id)
    item = next(
        (i for i in category.interventions if i.id == picked and _offered(i, contract)), None
    )
    on_quote = _on_quote(pack)
    if item is None and on_quote is not None and picked == on_quote.id:
        ctx.require_conversation.category_id = ON_QUOTE_CATEGORY
        item = on_quote
    if item is None:
        if chosen:
            _invalid(ctx)
        else:
            _search(ctx, value)
        return
    _choose_intervention(ctx, item)


def _answer_search(ctx: Context, value: str, chosen: bool) -> None:
    if chosen or not value.strip():
        _invalid(ctx)
        return
    _search(ctx, value)


def _search(ctx: Context, text: str) -> None:
    """Search the draft's contract, or every contract of the customer when none is chosen."""
    conversation = ctx.require_conversation
    chosen_contract = conversation.contract_id is not None
    contracts = [_contract(ctx)] if chosen_contract else draft_contracts(ctx)
    scored: list[tuple[float, str]] = []
    for contract in contracts:
        pack = get_pack(contract.pack_id)
        for hit in search_catalog(pack, text[:200], ctx.t.lang, limit=8):
            if _offered(find_intervention(pack, hit.intervention_id)[1], contract):
                key = f"{contract.id}/{hit.intervention_id}"
                scored.append((hit.score, hit.intervention_id if chosen_contract else key))
    # Stable sort: equal scores keep the contracts' order.
    hits = [key for _score, key in sorted(scored, key=lambda pair: -pair[0])][:5]
    conversation.search_query = text[:200]
    if not hits:
        browse = _browsing(ctx)
        if browse is State.PICK_CONTRACT:
            ctx.say(Text(ctx._("I found nothing matching that. Please pick a contract.")))
        else:
            ctx.say(Text(ctx._("I found nothing matching that. Please pick a category.")))
        if parse_state(conversation.state) is not browse:
            move(ctx, browse)
        ask(ctx)
        return
    conversation.candidates = hits
    move(ctx, State.CONFIRM_MATCH)
    ask(ctx)


def _browsing(ctx: Context) -> State:
    """Where a customer browses when the search does not serve: the contracts while none is
    chosen (the search ran over all of them), else the chosen contract's categories."""
    if ctx.require_conversation.contract_id is None:
        return State.PICK_CONTRACT
    return State.PICK_CATEGORY


def _candidate(ctx: Context, key: str) -> tuple[Contract, str]:
    """A search candidate ("contract/intervention", or an intervention of the draft's
    contract): its contract and intervention id."""
    if "/" not in key:
        return _contract(ctx), key
    contract_id, _slash, intervention_id = key.partition("/")
    contract = next(c for c in draft_contracts(ctx) if str(c.id) == contract_id)
    return contract, intervention_id


def _answer_match(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    conversation = ctx.require_conversation
    if picked == NONE:
        conversation.candidates = []
        move(ctx, _browsing(ctx))
        ask(ctx)
        return
    if picked is None or picked not in conversation.candidates:
        if chosen:
            _invalid(ctx)
        else:
            _search(ctx, value)
        return
    contract, iid = _candidate(ctx, picked)
    _set(ctx, State.PICK_CONTRACT, "contract_id", contract.id)
    category, item = find_intervention(get_pack(contract.pack_id), iid)
    _set(ctx, State.PICK_CATEGORY, "category_id", category.id)
    _choose_intervention(ctx, item)


def _on_quote(pack: ContractPack) -> Intervention | None:
    """The pack's request on quote (its non-routine path), when the pack allows one."""
    if pack.non_routine is None or not pack.non_routine.allowed:
        return None
    try:
        return find_intervention(pack, ON_QUOTE_INTERVENTION)[1]
    except LookupError:
        return None


def _choose_intervention(ctx: Context, item: Intervention) -> None:
    conversation = ctx.require_conversation
    non_routine = _pack(ctx).non_routine
    if not item.routine and non_routine is not None and non_routine.labels is not None:
        ctx.say(Text(non_routine.labels.get(ctx.t.lang)))
    _set(ctx, State.PICK_INTERVENTION, "intervention_id", item.id)
    if conversation.category_id is None:
        conversation.category_id = find_intervention(_pack(ctx), item.id)[0].id
    if len(item.kinds) == 1:
        conversation.kind = item.kinds[0]
        _enter_priority(ctx)
    else:
        move(ctx, State.PICK_KIND)
        ask(ctx)


def _enter_priority(ctx: Context) -> None:
    """Ask the priority, or state it when the contract allows a single one (with the reason)."""
    pack, item = _pack(ctx), _intervention(ctx)
    allowed = _available_priorities(pack, item)
    if len(allowed) != 1:
        move(ctx, State.PICK_PRIORITY)
        ask(ctx)
        return
    only = allowed[0]
    conversation = ctx.require_conversation
    conversation.priority = only.id
    line = _priority_line(ctx, only.id)
    higher = [p for p in pack.priorities if p.rank > only.rank]
    lower = [p for p in pack.priorities if p.rank < only.rank]
    if higher:
        reason = ctx.t.ngettext(
            "%(excluded)s is not offered: for this intervention your contract allows at most "
            "%(ceiling)s.",
            "%(excluded)s are not offered: for this intervention your contract allows at most "
            "%(ceiling)s.",
            len(higher),
        ) % {
            "excluded": _listing(ctx, [p.labels.get(ctx.t.lang) for p in higher]),
            "ceiling": only.labels.get(ctx.t.lang),
        }
    elif lower:
        reason = ctx._("Your contract sets this priority for this intervention.")
    else:
        reason = ""
    text = ctx.t.field(ctx._("Priority"), line)
    ctx.say(Text(f"{text}\n{reason}".strip()))
    _phone_notice(ctx, pack, only.id)
    _after_priority(ctx)


def _listing(ctx: Context, items: list[str]) -> str:
    """ "A, B and C" in the user's language."""
    return format_list(items, locale=ctx.t.babel_locale)


def _priority_line(ctx: Context, priority: str) -> str:
    conversation = ctx.require_conversation
    contract, pack = _contract(ctx), _pack(ctx)
    return priority_line(
        ctx.t,
        pack=pack,
        terms=terms_of(session=ctx.session, contract=contract, pack=pack),
        item=_intervention(ctx),
        kind=conversation.kind or _intervention(ctx).kinds[0],
        priority=priority,
    )


def _answer_kind(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    if picked is None or picked not in _intervention(ctx).kinds:
        _invalid(ctx)
        return
    ctx.require_conversation.kind = picked
    _enter_priority(ctx)


def _answer_priority(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    pack, intervention = _pack(ctx), _intervention(ctx)
    if picked is None or picked not in intervention.available_priorities:
        _invalid(ctx)
        return
    conversation = ctx.require_conversation
    conversation.priority = picked
    _phone_notice(ctx, pack, picked)
    _after_priority(ctx)


def _phone_notice(ctx: Context, pack: ContractPack, priority: str) -> None:
    """Say that this priority must also be reported by phone, with the number to call."""
    for phone in pack.intake.phone_required:
        if phone.priority != priority:
            continue
        number = phone.numbers.get(ctx.t.lang) or next(iter(phone.numbers.values()))
        message = phone.message.get(ctx.t.lang)
        ctx.say(Text(f"☎ {message}" if number in message else f"☎ {message} {number}"))


def _after_priority(ctx: Context) -> None:
    steps = _steps(ctx)
    if steps:
        ctx.require_conversation.detail_at = steps[0]
        move(ctx, State.ASK_DETAIL)
    else:
        _after_details(ctx, ask_now=False)
    ask(ctx)


def _answer_detail(ctx: Context, value: str, chosen: bool) -> None:
    conversation = ctx.require_conversation
    at = conversation.detail_at
    steps = _steps(ctx)
    if at not in steps:
        _after_details(ctx, ask_now=True)
        return
    picked = _resolve_value(ctx, value, chosen) if chosen else None
    if at == CONTACT:
        picked = picked or typed_choice(ctx, ask, value)
        if picked == SAME:
            conversation.details = {**conversation.details, **_remembered_contact(ctx)}
        elif picked == CHANGE:
            conversation.detail_at = next(i for i in _steps_all(ctx) if i in contacts.FIELDS)
            move(ctx, State.ASK_DETAIL, remember=False)
            ask(ctx)
            return
        else:
            _invalid(ctx)
            return
    elif picked == KEEP and conversation.details.get(at):
        pass
    elif chosen or not value.strip():
        _invalid(ctx)
        return
    else:
        region = _region(_pack(ctx))
        checked, reason = contacts.check(ctx.t, at, value[:MAX_DETAIL], region=region)
        if checked is None:
            assert reason is not None
            ctx.refuse(reason, RefusalReason.INVALID_ANSWER)
            ask(ctx)
            return
        conversation.details = {**conversation.details, at: checked}
    steps = _steps(ctx)
    following = steps[steps.index(at) + 1 :] if at in steps else []
    if following:
        conversation.detail_at = following[0]
        move(ctx, State.ASK_DETAIL, remember=False)
        ask(ctx)
        return
    _after_details(ctx, ask_now=True)


def _steps_all(ctx: Context) -> list[str]:
    return [d.id for d in _required_details(_pack(ctx), ctx.require_conversation.kind)]


def _after_details(ctx: Context, *, ask_now: bool) -> None:
    conversation = ctx.require_conversation
    item = _intervention(ctx)
    if item.asks_execution_time and conversation.kind == "change":
        move(ctx, State.ASK_WHEN)
        if ask_now:
            ask(ctx)
        return
    _to_pricing(ctx, ask_now=ask_now)


def _to_pricing(ctx: Context, *, ask_now: bool) -> None:
    conversation = ctx.require_conversation
    rule = _intervention(ctx).prices[conversation.priority or ""].rule
    if rule is PriceRuleType.PER_UNIT:
        move(ctx, State.ASK_UNITS)
    elif rule is PriceRuleType.PER_QUARTER_HOUR:
        move(ctx, State.ASK_ESTIMATE)
    else:
        move(ctx, State.ASK_DESCRIPTION)
    if ask_now:
        ask(ctx)


def _ask_when(ctx: Context) -> None:
    zone = terms_of(session=ctx.session, contract=_contract(ctx), pack=_pack(ctx)).zone
    text = ctx._(
        "When should the work be done? Type the local date and time (%(zone)s), for example "
        "%(example)s, or choose As soon as possible."
    ) % {"zone": zone, "example": "2026-12-22 10:00"}
    kept = ctx.require_conversation.details.get(EXECUTION_TIME)
    options = (
        *_keep_option(ctx, kept),
        ctx.option(ctx._("As soon as possible"), NOW),
        *ctx.nav_options(),
    )
    ctx.ask(Prompt(text=text, options=options))


def _answer_when(ctx: Context, value: str, chosen: bool) -> None:
    conversation = ctx.require_conversation
    picked = _resolve_value(ctx, value, chosen) if chosen else None
    details = dict(conversation.details)
    if picked == NOW:
        details.pop(EXECUTION_TIME, None)
    elif picked == KEEP and EXECUTION_TIME in details:
        pass
    elif chosen:
        _invalid(ctx)
        return
    else:
        zone = terms_of(session=ctx.session, contract=_contract(ctx), pack=_pack(ctx)).zone
        try:
            local = parse_local(ctx.t, value, zone=zone, now=ctx.now)
        except WhenError as refused:
            ctx.refuse(str(refused), RefusalReason.INVALID_ANSWER)
            ask(ctx)
            return
        details[EXECUTION_TIME] = local.strftime("%Y-%m-%d %H:%M")
    conversation.details = details
    _to_pricing(ctx, ask_now=True)


def _when_lines(ctx: Context, pack: ContractPack, zone: str) -> list[str]:
    """The wished execution time on the summary, with the contract's warning when risky."""
    wished = ctx.require_conversation.details.get(EXECUTION_TIME)
    if wished is None:
        return []
    local = datetime.strptime(wished, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))
    lines = ["• " + ctx.t.field(ctx._("Wished execution time"), ctx.t.datetime(local, zone))]
    warning = risky_text(ctx.t, pack, local)
    if warning is not None:
        lines.append(warning)
    return lines


def _positive_int(text: str, *, upper: int) -> int | None:
    return parse_int(text.strip().lower().removesuffix("min"), low=0, high=upper)


def _answer_units(ctx: Context, value: str, chosen: bool) -> None:
    if chosen and _resolve_value(ctx, value, chosen) == KEEP:
        move(ctx, State.ASK_DESCRIPTION)
        ask(ctx)
        return
    number = None if chosen else _positive_int(value, upper=1000)
    if not number:
        ctx.refuse(
            ctx._("Please type a whole number between 1 and 1000."), RefusalReason.INVALID_ANSWER
        )
        ask(ctx)
        return
    ctx.require_conversation.units = number
    move(ctx, State.ASK_DESCRIPTION)
    ask(ctx)


def _answer_estimate(ctx: Context, value: str, chosen: bool) -> None:
    conversation = ctx.require_conversation
    picked = _resolve_value(ctx, value, chosen) if chosen else None
    if picked == KEEP:
        move(ctx, State.ASK_DESCRIPTION)
        ask(ctx)
        return
    if picked == UNKNOWN_ESTIMATE:
        conversation.estimate_minutes = None
        move(ctx, State.ASK_DESCRIPTION)
        ask(ctx)
        return
    typed = picked or typed_choice(ctx, ask, value) or value
    if typed == UNKNOWN_ESTIMATE and not chosen and value.strip() != "0":
        conversation.estimate_minutes = None
        move(ctx, State.ASK_DESCRIPTION)
        ask(ctx)
        return
    duration = parse_minutes(typed, maximum=MAX_ESTIMATE_MINUTES)
    if duration.minutes is None:
        ctx.refuse(duration_refusal(ctx, duration.error), RefusalReason.INVALID_ANSWER)
        ask(ctx)
        return
    conversation.estimate_minutes = duration.minutes
    move(ctx, State.ASK_DESCRIPTION)
    ask(ctx)


MAX_ESTIMATE_MINUTES = 24 * 60


def duration_refusal(ctx: Context, error: DurationError | None) -> str:
    """Why a typed duration was refused, in the user's language."""
    if error is DurationError.ZERO:
        return ctx._("A duration of zero cannot be estimated: type at least 1 minute.")
    if error is DurationError.TOO_LONG:
        return ctx._(
            "That is more than 24 hours for one intervention: type a shorter duration, or "
            "pick I don't know."
        )
    return ctx._("Type a duration such as 90, 90 min, 1h30 or 1,5 h.")


def _answer_description(ctx: Context, value: str, chosen: bool) -> None:
    text = value.strip()
    kept = ctx.require_conversation.description
    if chosen and kept and _resolve_value(ctx, value, chosen) == KEEP:
        move(ctx, State.CONFIRM)
        ask(ctx)
        return
    if chosen or len(text) < 3:
        ctx.refuse(
            ctx._("Please describe the request in a few words."), RefusalReason.INVALID_ANSWER
        )
        ask(ctx)
        return
    ctx.require_conversation.description = text[:MAX_DESCRIPTION]
    move(ctx, State.CONFIRM)
    ask(ctx)


def _answer_confirm(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    if picked != OPEN:
        _invalid(ctx)
        return
    conversation = ctx.require_conversation
    contract, pack = _contract(ctx), _pack(ctx)
    assert conversation.intervention_id
    assert conversation.kind
    assert conversation.priority
    requester = (
        None
        if conversation.requester_id is None
        else ctx.session.get(User, conversation.requester_id)
    )
    ticket = tickets.open_ticket(
        requester=requester,
        logged_at=conversation.logged_at,
        session=ctx.session,
        actor=ctx.require_actor,
        contract=contract,
        intervention_id=conversation.intervention_id,
        kind=conversation.kind,
        priority=conversation.priority,
        description=conversation.description or "",
        details={k: v for k, v in conversation.details.items() if v},
        estimate_minutes=conversation.estimate_minutes,
        units=conversation.units,
        now=ctx.now,
    )
    reset(conversation)
    assert ticket.id is not None
    clocks = ticket_clocks(session=ctx.session, ticket=ticket, now=ctx.now)
    estimate = billing.ticket_quote(pack=pack, ticket=ticket)
    cost = _cost(ctx, contract, pack, ticket.intervention_id, estimate)
    summary = ctx._("Your ticket is open. Keep its reference for any later exchange: %(ref)s") % {
        "ref": ticket.reference
    }
    if requester is not None:
        summary = ctx._("Ticket %(ref)s opened for %(name)s; the customer is notified.") % {
            "ref": ticket.reference,
            "name": requester.display_name,
        }
    ctx.acted("open", ticket, summary)
    ctx.say(ticket_card(t=ctx.t, ticket=ticket, pack=pack, clocks=clocks, cost=cost))
    _phone_notice(ctx, pack, ticket.priority)


ANSWERS: dict[State, Callable[[Context, str, bool], None]] = {
    State.OPEN_REQUESTER: _answer_requester,
    State.OPEN_LOGGED: _answer_logged,
    State.PICK_CONTRACT: _answer_contract,
    State.PICK_CATEGORY: _answer_category,
    State.PICK_INTERVENTION: _answer_intervention,
    State.DESCRIBE_SEARCH: _answer_search,
    State.CONFIRM_MATCH: _answer_match,
    State.PICK_KIND: _answer_kind,
    State.PICK_PRIORITY: _answer_priority,
    State.ASK_DETAIL: _answer_detail,
    State.ASK_UNITS: _answer_units,
    State.ASK_ESTIMATE: _answer_estimate,
    State.ASK_DESCRIPTION: _answer_description,
    State.CONFIRM: _answer_confirm,
    State.RESUME_DRAFT: _answer_resume,
    State.ASK_WHEN: _answer_when,
}
ASKERS[State.ASK_WHEN] = _ask_when
