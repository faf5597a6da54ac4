"""Guided intake: contract → category → intervention → kind → priority → details →
description → quote → confirmation → ticket.

Each state has a question (`ask`) and an answer handler (`answer`). Answers come as option
values (buttons, lists) or typed text: a number or label picks an option; other text at the
category or intervention step searches the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.clauses import clause_lines
from bot.db.models import Contract, Role, Tenant, User
from bot.numbers import parse_int
from bot.services import accounts, billing, tenants, tickets
from bot.services.contracts import terms_of
from bot.services.ticket_sla import ticket_clocks
from bot.wording import amount_text, priority_label
from handlers.context import Context, offered_value, typed_choice
from handlers.model import Choices, Confirm, Option, Prompt, RefusalReason, Text, echo
from handlers.render import fee_text, quote_text, ticket_card
from handlers.states import State, back, move, parse_state, reset
from pricing.loader import find_intervention, get_pack
from pricing.quotes import Quote, quote
from pricing.schema import ContractPack, DetailField, Intervention, PriceRuleType, Priority
from pricing.search import search_catalog

SEARCH = "~search"
NONE = "~none"
OPEN = "~open"
UNKNOWN_ESTIMATE = "0"
MAX_DESCRIPTION = 3000
MAX_DETAIL = 300

# Which draft fields a state sets: going back to a state clears its field and later ones.
DRAFT_ORDER: tuple[tuple[State, tuple[str, ...]], ...] = (
    (State.OPEN_REQUESTER, ("requester_id",)),
    (State.OPEN_LOGGED, ("logged_at",)),
    (State.PICK_CONTRACT, ("contract_id",)),
    (State.PICK_CATEGORY, ("category_id",)),
    (State.PICK_INTERVENTION, ("intervention_id",)),
    (State.DESCRIBE_SEARCH, ("search_query",)),
    (State.CONFIRM_MATCH, ("candidates",)),
    (State.PICK_KIND, ("kind",)),
    (State.PICK_PRIORITY, ("priority",)),
    (State.ASK_DETAIL, ("details",)),
    (State.ASK_UNITS, ("units",)),
    (State.ASK_ESTIMATE, ("estimate_minutes",)),
    (State.ASK_DESCRIPTION, ("description",)),
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
    reset(conversation)
    if len(contracts) == 1:
        conversation.contract_id = contracts[0].id
        move(ctx, State.PICK_CATEGORY, remember=False)
        if argument:
            _search(ctx, argument)
            return
    else:
        move(ctx, State.PICK_CONTRACT, remember=False)
    ask(ctx)


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
    """« Back »: return to the previous question, forgetting the answers given since."""
    state = back(ctx)
    if state is None:
        return None
    _clear_from(ctx, state)
    ask(ctx)
    return state


def _clear_from(ctx: Context, state: State) -> None:
    conversation = ctx.require_conversation
    if state is State.ASK_DETAIL:
        # Back to a detail question: forget only the last detail given.
        if conversation.details:
            *keep, _last = conversation.details.items()
            conversation.details = dict(keep)
        state_index = next(i for i, (s, _f) in enumerate(DRAFT_ORDER) if s is State.ASK_DETAIL)
        later = DRAFT_ORDER[state_index + 1 :]
    else:
        index = next((i for i, (s, _f) in enumerate(DRAFT_ORDER) if s is state), None)
        later = DRAFT_ORDER[index:] if index is not None else ()
    for _state, fields in later:
        for name in fields:
            default: object = {} if name == "details" else [] if name == "candidates" else None
            setattr(conversation, name, default)


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


def _ask_contract(ctx: Context) -> None:
    options = []
    for contract in draft_contracts(ctx):
        pack = get_pack(contract.pack_id)
        label = pack.title.get(ctx.t.lang)
        options.append(ctx.option(label, str(contract.id)))
    ctx.ask(_choices(ctx, ctx._("Which contract is this request about?"), options, back=False))


def _ask_category(ctx: Context) -> None:
    pack, contract = _pack(ctx), _contract(ctx)
    options = [
        ctx.option(category.labels.get(ctx.t.lang), category.id)
        for category in pack.categories
        if any(_offered(i, contract) for i in category.interventions)
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
    pack = _pack(ctx)
    conversation = ctx.require_conversation
    options = []
    for iid in conversation.candidates:
        category, item = find_intervention(pack, iid)
        label = f"{item.labels.get(ctx.t.lang)} · {category.labels.get(ctx.t.lang)}"
        if len(label) > 75:
            label = ctx.t.field(category.labels.get(ctx.t.lang), item.labels.get(ctx.t.lang))
        options.append(ctx.option(label, iid))
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
        lines.append("• " + ctx.t.field(priority.labels.get(lang), priority.impact.get(lang)))
    ceiling = allowed[0] if allowed else None
    higher = [p for p in pack.priorities if ceiling is not None and p.rank > ceiling.rank]
    if higher and ceiling is not None:
        lines.append(
            ctx._(
                "%(higher)s is not offered: for this intervention your contract allows at most "
                "%(ceiling)s."
            )
            % {
                "higher": ", ".join(p.labels.get(lang) for p in higher),
                "ceiling": ceiling.labels.get(lang),
            }
        )
    options = [ctx.option(p.labels.get(lang), p.id) for p in allowed]
    ctx.ask(_choices(ctx, "\n".join(lines), options))


def _next_detail(ctx: Context) -> DetailField | None:
    conversation = ctx.require_conversation
    for detail in _required_details(_pack(ctx), conversation.kind):
        if detail.id not in conversation.details:
            return detail
    return None


def _ask_detail(ctx: Context) -> None:
    detail = _next_detail(ctx)
    assert detail is not None
    ctx.ask(Prompt(text=detail.labels.get(ctx.t.lang), options=ctx.nav_options()))


def _ask_units(ctx: Context) -> None:
    pack = _pack(ctx)
    rule = _intervention(ctx).prices[ctx.require_conversation.priority or ""]
    unit = next((u.labels.get(ctx.t.lang) for u in pack.units if u.id == rule.unit), "")
    text = ctx._("How many (%(unit)s)? Type a number.") % {"unit": unit}
    ctx.ask(Prompt(text=text, options=ctx.nav_options()))


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
        "take? Pick one or type a number of minutes; it is only used for the estimate."
    )
    ctx.ask(_choices(ctx, text, options))


def _ask_description(ctx: Context) -> None:
    text = ctx._("Describe the request: what happens, where, since when.")
    ctx.ask(Prompt(text=text, options=ctx.nav_options()))


def _cost(
    ctx: Context, contract: Contract, pack: ContractPack, intervention_id: str, estimate: Quote
) -> str:
    """The quote in words; a one-off fee (Proximus standard changes) replaces it when due."""
    terms = terms_of(session=ctx.session, contract=contract, pack=pack)
    day = ctx.now.astimezone(ZoneInfo(terms.zone)).date()
    fee = terms.one_off_fee(intervention_id=intervention_id, on=day)
    return quote_text(ctx.t, estimate, pack) if fee is None else fee_text(ctx.t, fee)


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
        label = next((d.labels.get(lang) for d in pack.intake.details if d.id == key), key)
        lines.append("• " + field(label, echo(value)))
    lines.append("• " + field(ctx._("Cost"), _cost(ctx, contract, pack, intervention.id, estimate)))
    lines += clause_lines(t=ctx.t, pack=pack, where="quote", intervention_id=intervention.id)
    for_customer = conversation.requester_id is not None  # staff opening for a customer
    if check.available is not None:
        balance = amount_text(ctx.t, check.available, pack)
        label = ctx._("Customer's balance") if for_customer else ctx._("Your balance")
        lines.append("• " + field(label, balance))
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
    contracts = draft_contracts(ctx)
    contract = next((c for c in contracts if str(c.id) == picked), None)
    if contract is None:
        _invalid(ctx)
        return
    ctx.require_conversation.contract_id = contract.id
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
    ctx.require_conversation.category_id = category.id
    move(ctx, State.PICK_INTERVENTION)
    ask(ctx)


def _answer_intervention(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    pack, contract = _pack(ctx), _contract(ctx)
    category = next(c for c in pack.categories if c.id == ctx.require_conversation.category_id)
    item = next(
        (i for i in category.interventions if i.id == picked and _offered(i, contract)), None
    )
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
    pack, contract = _pack(ctx), _contract(ctx)
    conversation = ctx.require_conversation
    hits = [
        hit
        for hit in search_catalog(pack, text[:200], ctx.t.lang, limit=8)
        if _offered(find_intervention(pack, hit.intervention_id)[1], contract)
    ][:5]
    conversation.search_query = text[:200]
    if not hits:
        ctx.say(Text(ctx._("I found nothing matching that. Please pick a category.")))
        if parse_state(conversation.state) is not State.PICK_CATEGORY:
            move(ctx, State.PICK_CATEGORY)
        ask(ctx)
        return
    conversation.candidates = [hit.intervention_id for hit in hits]
    move(ctx, State.CONFIRM_MATCH)
    ask(ctx)


def _answer_match(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    conversation = ctx.require_conversation
    if picked == NONE:
        conversation.candidates = []
        move(ctx, State.PICK_CATEGORY)
        ask(ctx)
        return
    if picked is None or picked not in conversation.candidates:
        if chosen:
            _invalid(ctx)
        else:
            _search(ctx, value)
        return
    category, item = find_intervention(_pack(ctx), picked)
    conversation.category_id = category.id
    _choose_intervention(ctx, item)


def _choose_intervention(ctx: Context, item: Intervention) -> None:
    conversation = ctx.require_conversation
    conversation.intervention_id = item.id
    if conversation.category_id is None:
        conversation.category_id = find_intervention(_pack(ctx), item.id)[0].id
    if len(item.kinds) == 1:
        conversation.kind = item.kinds[0]
        move(ctx, State.PICK_PRIORITY)
    else:
        move(ctx, State.PICK_KIND)
    ask(ctx)


def _answer_kind(ctx: Context, value: str, chosen: bool) -> None:
    picked = _resolve_value(ctx, value, chosen)
    if picked is None or picked not in _intervention(ctx).kinds:
        _invalid(ctx)
        return
    ctx.require_conversation.kind = picked
    move(ctx, State.PICK_PRIORITY)
    ask(ctx)


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
    if _next_detail(ctx) is not None:
        move(ctx, State.ASK_DETAIL)
    else:
        _after_details(ctx, ask_now=False)
    ask(ctx)


def _answer_detail(ctx: Context, value: str, chosen: bool) -> None:
    detail = _next_detail(ctx)
    if detail is None:
        _after_details(ctx, ask_now=True)
        return
    conversation = ctx.require_conversation
    if chosen or not value.strip():
        _invalid(ctx)
        return
    conversation.details = {**conversation.details, detail.id: value.strip()[:MAX_DETAIL]}
    if _next_detail(ctx) is not None:
        move(ctx, State.ASK_DETAIL)
        ask(ctx)
        return
    _after_details(ctx, ask_now=True)


def _after_details(ctx: Context, *, ask_now: bool) -> None:
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


def _positive_int(text: str, *, upper: int) -> int | None:
    return parse_int(text.strip().lower().removesuffix("min"), low=0, high=upper)


def _answer_units(ctx: Context, value: str, chosen: bool) -> None:
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
    picked = value if chosen else (typed_choice(ctx, ask, value) or value)
    minutes = _positive_int(picked, upper=24 * 60)
    if minutes is None:
        ctx.refuse(
            ctx._("Please type a number of minutes between 0 and 1440."),
            RefusalReason.INVALID_ANSWER,
        )
        ask(ctx)
        return
    ctx.require_conversation.estimate_minutes = minutes or None
    move(ctx, State.ASK_DESCRIPTION)
    ask(ctx)


def _answer_description(ctx: Context, value: str, chosen: bool) -> None:
    text = value.strip()
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
}
