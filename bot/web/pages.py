"""The dashboard's routes: login by link, overview, tickets, ticket, SLA, credits, queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.db.engine import transaction
from bot.db.models import Contract, LedgerEntryType, Tenant, Ticket, utcnow
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.reports import render as report_render
from bot.reports.periods import (
    MAX_PERIOD_DAYS,
    MAX_YEAR,
    MIN_YEAR,
    Period,
    last_months,
    parse_period,
)
from bot.services import availability, billing, dashboard, figures, tickets
from bot.services.availability_words import availability_text
from bot.services.contracts import terms_of
from bot.services.errors import InputError
from bot.services.ticket_sla import ticket_clocks
from bot.settings import Settings
from bot.web import access, charts, queries
from bot.web.access import Viewer
from bot.web.render import HEADERS, STATIC, page
from bot.wording import (
    amount_text,
    contract_title,
    cost_sentence,
    intervention_label,
    priority_label,
    zone_of,
)
from handlers.desk import staff_card, timeline_line
from handlers.render import quote_text, status_label, ticket_card
from pricing.loader import get_pack
from pricing.schema import ContractPack
from pricing.terms import AccountKind

Clock = Callable[[], datetime]
WELCOME = "/dashboard/welcome"
QUIET_SHOWN = 100  # contracts without open tickets listed on the overview
# Entries whose reason an operator typed; the others carry system wording (clauses, holds).
OPERATOR_WRITTEN = (LedgerEntryType.PURCHASE, LedgerEntryType.ADJUSTMENT)


def dashboard_plugin(clock: Clock = utcnow) -> Callable[[FastAPI, Settings, Engine], None]:
    """The app plugin serving the dashboard (`clock` gives "now"; tests pass their own)."""

    def install(app: FastAPI, settings: Settings, engine: Engine) -> None:
        app.include_router(router(settings=settings, engine=engine, clock=clock))
        app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")

    return install


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


@dataclass(frozen=True)
class Row:
    """One ticket in a list, in the reader's words."""

    reference: str
    customer: str
    contract: str
    intervention: str
    priority: str
    status: str
    owner: str
    due: datetime | None
    due_text: str
    breached: bool
    open: bool


def _contract_name(contract: Contract, pack: ContractPack, lang: str) -> str:
    return f"{pack.provider} — {contract_title(contract.label, pack, lang)}"


def _rows(session: Session, t: Translator, found: list[Ticket], now: datetime) -> list[Row]:
    owners = queries.names(
        session=session, user_ids={x.owner_id for x in found if x.owner_id is not None}
    )
    rows = []
    for ticket in found:
        contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
        tenant = session.get(Tenant, ticket.tenant_id)
        responding = ticket.responded_at is None and ticket.response_due is not None
        due = ticket.response_due if responding else ticket.resolution_due
        is_open = ticket.status.value in ("open", "responded", "paused")
        rows.append(
            Row(
                reference=ticket.reference,
                customer=tenant.name if tenant is not None else "?",
                contract=_contract_name(contract, pack, t.lang),
                intervention=intervention_label(pack, ticket.intervention_id, t.lang),
                priority=priority_label(pack, ticket.priority, t.lang),
                status=status_label(t, ticket.status),
                owner=owners.get(ticket.owner_id or 0) or t.gettext("unassigned"),
                due=due if is_open and ticket.status.value != "paused" else None,
                due_text=t.datetime(due, zone_of(pack)) if due is not None else "",
                breached=queries.is_breached(ticket, now),
                open=is_open,
            )
        )
    return rows


def _ticket_filters(request: Request, viewer: Viewer) -> queries.TicketFilters:
    params = request.query_params
    status = params.get("status", "open")
    owner = params.get("owner", "any")
    contract = parse_int(params.get("contract", ""), low=1, high=2**31)
    allowed = queries.OWNER_FILTERS if viewer.is_staff else ("any", "none")
    return queries.TicketFilters(
        status=status if status in queries.STATUS_FILTERS else "open",
        priority=params.get("priority", "")[:30],
        contract_id=contract,
        owner=owner if owner in allowed else "any",
        breached=params.get("breached") == "1",
        page=parse_int(params.get("page", "1"), low=1, high=100_000) or 1,
    )


def _priority_choices(
    contracts: list[tuple[Contract, Tenant]], lang: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Priorities offered by the filter, grouped by contract pack: (pack title, [(id, label)])."""
    seen: dict[str, ContractPack] = {}
    for contract, _tenant in contracts:
        seen.setdefault(contract.pack_id, get_pack(contract.pack_id))
    return [
        (pack.title.get(lang), [(p.id, p.labels.get(lang)) for p in pack.priorities])
        for pack in seen.values()
    ]


def _period(request: Request, viewer: Viewer, now: datetime) -> tuple[Period, str]:
    """The period asked for (this month by default) and, if refused, the one-line reason."""
    text = request.query_params.get("period", "")[:20]
    try:
        return parse_period(text=text, now=now, zone=viewer.zone), ""
    except InputError as exc:
        fallback = parse_period(text="", now=now, zone=viewer.zone)
        return fallback, period_refusal(viewer.t, str(exc.params.get("reason", "")))


def period_refusal(t: Translator, reason: str) -> str:
    """Why a period is refused, in one line."""
    _ = t.gettext
    if reason == "year":
        return _("Years go from %(low)d to %(high)d.") % {"low": MIN_YEAR, "high": MAX_YEAR}
    if reason == "month":
        return _("Months go from 01 to 12, for example 2026-11.")
    if reason == "days":
        return _("A number of days goes from 1 to %(high)d, for example 30d.") % {
            "high": MAX_PERIOD_DAYS
        }
    if reason == "future":
        return _("That period has not started yet.")
    return _("Unknown period. Use: month, week, quarter, year, 2026-11, 2026 or 30d.")


def _ledger_words(t: Translator, kind: LedgerEntryType) -> str:
    _ = t.gettext
    return {
        LedgerEntryType.PURCHASE: _("purchase"),
        LedgerEntryType.TOP_UP: _("automatic top-up"),
        LedgerEntryType.HOLD: _("reserved for a ticket"),
        LedgerEntryType.RELEASE: _("reservation released"),
        LedgerEntryType.CHARGE: _("charged"),
        LedgerEntryType.WAIVER: _("waived: an SLA target was missed"),
        LedgerEntryType.ADJUSTMENT: _("adjustment"),
        LedgerEntryType.ALLOWANCE: _("monthly hours"),
        LedgerEntryType.EXPIRY: _("expired"),
    }[kind]


def router(*, settings: Settings, engine: Engine, clock: Clock) -> APIRouter:
    """The dashboard's routes, bound to the settings, the database and the clock."""
    routes = APIRouter(prefix="/dashboard", include_in_schema=False)

    def signed_in(
        request: Request, render: Callable[[Session, Viewer, datetime], Response]
    ) -> Response:
        """Render for a live session, else send the reader to the page explaining the link."""
        now = clock()
        with transaction(engine) as session:
            seen = access.viewer(session=session, settings=settings, request=request, now=now)
            if seen is None:
                return _redirect(WELCOME)
            return render(session, seen, now)

    def show(template: str, viewer: Viewer, status_code: int = 200, **context: Any) -> Response:
        base = {"viewer": viewer, "form_field": access.FORM_FIELD, "active": template}
        return page(template, viewer.t, {**base, **context}, status_code=status_code)

    def not_found(viewer: Viewer) -> Response:
        return show("not_found.html", viewer, status_code=404)

    @routes.get("/welcome")
    def welcome(request: Request) -> Response:
        """How to get a login link (the page shown to a reader without a session)."""
        t = access.anonymous_translator(request, settings)
        return page("welcome.html", t, {"viewer": None, "reason": ""})

    @routes.get("/login/{token}")
    def login(request: Request, token: str) -> Response:
        """Consume a one-time link, open a session, and go to the overview."""
        t = access.anonymous_translator(request, settings)
        if access.is_link_preview(request):
            # Chat platforms fetch a posted link to preview it: that must not use it up.
            return page("welcome.html", t, {"viewer": None, "reason": ""})
        try:
            with transaction(engine) as session:
                opened = dashboard.redeem_link(
                    session=session, settings=settings, token=token, now=clock()
                )
        except dashboard.LinkRefusedError as refused:
            reason = str(refused.params.get("reason", "invalid"))
            return page("welcome.html", t, {"viewer": None, "reason": reason}, status_code=403)
        response = _redirect("/dashboard")
        response.set_cookie(
            access.COOKIE,
            opened.token,
            max_age=settings.dashboard_session_hours * 3600,
            path="/dashboard",
            httponly=True,
            samesite="lax",
            secure=access.secure_cookie(request, settings),
        )
        return response

    @routes.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session (a form with its CSRF token)."""
        fields = await access.form_fields(request)

        def run() -> Response:
            with transaction(engine) as session:
                seen = access.viewer(
                    session=session, settings=settings, request=request, now=clock()
                )
                if seen is None:
                    return _redirect(WELCOME)
                if not _form_ok(session, seen, fields):
                    return show("forbidden.html", seen, status_code=403)
                dashboard.end_session(
                    session=session, settings=settings, token=seen.token, now=clock()
                )
            response = _redirect(WELCOME)
            response.delete_cookie(access.COOKIE, path="/dashboard")
            return response

        return await run_in_threadpool(run)

    @routes.post("/language")
    async def language(request: Request) -> Response:
        """Change the reader's language (the same choice as /lang in chat)."""
        fields = await access.form_fields(request)

        def run() -> Response:
            with transaction(engine) as session:
                seen = access.viewer(
                    session=session, settings=settings, request=request, now=clock()
                )
                if seen is None:
                    return _redirect(WELCOME)
                if not _form_ok(session, seen, fields):
                    return show("forbidden.html", seen, status_code=403)
                lang = fields.get("lang", "")
                if lang in ("fr", "nl", "en"):
                    seen.user.locale = lang
                    session.add(seen.user)
            back = fields.get("next", "/dashboard")
            return _redirect(back if back.startswith("/dashboard") else "/dashboard")

        return await run_in_threadpool(run)

    def _form_ok(session: Session, seen: Viewer, fields: dict[str, str]) -> bool:
        key = dashboard.signing_key(session=session, settings=settings)
        given = fields.get(access.FORM_FIELD, "")
        return dashboard.form_token_ok(key=key, session_token=seen.token, given=given)

    @routes.get("")
    def overview(request: Request) -> Response:
        """Open tickets by priority, at risk, breached, due today, per contract."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            zone = ZoneInfo(viewer.zone)
            today = now.astimezone(zone).date()
            start = datetime(today.year, today.month, today.day, tzinfo=zone)
            end = start + timedelta(days=1)
            end = datetime(end.year, end.month, end.day, tzinfo=zone)
            backlog = figures.backlog(session=session, scope=charts.scope(viewer.actor), now=now)
            today_due = queries.due_today(
                session=session, actor=viewer.actor, now=now, day_start=start, day_end=end
            )
            with_work = {b.contract.contract_id for b in backlog}
            idle = [
                (contract, tenant)
                for contract, tenant in queries.visible_contracts(
                    session=session, actor=viewer.actor
                )
                if contract.id not in with_work and contract.active
            ]
            lines = []
            for b in backlog:
                pack = get_pack(b.contract.pack_id)
                lines.append(
                    {
                        "customer": b.contract.tenant,
                        "contract": charts.contract_words(b.contract, viewer.t),
                        "contract_id": b.contract.contract_id,
                        "priorities": [
                            (priority_label(pack, p.priority, viewer.t.lang), p.open, p.priority)
                            for p in b.priorities
                        ],
                        "open": b.open,
                        "at_risk": b.at_risk,
                        "breached": b.breached,
                        "due_today": today_due.get(b.contract.contract_id, 0),
                    }
                )
            quiet = [
                {
                    "customer": tenant.name,
                    "contract": _contract_name(contract, get_pack(contract.pack_id), viewer.t.lang),
                }
                for contract, tenant in idle[:QUIET_SHOWN]
            ]
            totals = {
                "open": sum(b.open for b in backlog),
                "at_risk": sum(b.at_risk for b in backlog),
                "breached": sum(b.breached for b in backlog),
                "due_today": sum(today_due.get(b.contract.contract_id, 0) for b in backlog),
            }
            return show("overview.html", viewer, lines=lines, quiet=quiet, totals=totals)

        return signed_in(request, render)

    @routes.get("/tickets")
    def ticket_list(request: Request) -> Response:
        """Tickets with filters (status, priority, contract, owner, breached) and countdowns."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            filters = _ticket_filters(request, viewer)
            found = queries.ticket_page(
                session=session, actor=viewer.actor, filters=filters, now=now
            )
            contracts = queries.visible_contracts(session=session, actor=viewer.actor)
            return show(
                "tickets.html",
                viewer,
                rows=_rows(session, viewer.t, found.tickets, now),
                filters=filters,
                page_number=found.page,
                more=found.more,
                contracts=[
                    (c.id, f"{t.name} · {_contract_name(c, get_pack(c.pack_id), viewer.t.lang)}")
                    for c, t in contracts
                ],
                priorities=_priority_choices(contracts, viewer.t.lang),
                query=urlencode(
                    [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
                ),
                now=now,
            )

        return signed_in(request, render)

    @routes.get("/tickets/{reference}")
    def ticket_page(request: Request, reference: str) -> Response:
        """A ticket's card and timeline; a ticket the reader may not see is 404."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            ticket = queries.visible_ticket(
                session=session, actor=viewer.actor, reference=reference[:30]
            )
            if ticket is None:
                return not_found(viewer)
            _contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
            t = viewer.t
            clocks = ticket_clocks(session=session, ticket=ticket, now=now)
            zone = zone_of(pack)
            if viewer.is_staff:
                card = staff_card(
                    session=session, t=t, ticket=ticket, now=now, full=True, clocks=clocks
                )[0]
            else:
                spent = billing.ticket_cost(session=session, ticket=ticket)
                cost = (
                    cost_sentence(t, pack, charged=spent.charged, waived=spent.waived)
                    if spent.settled
                    else quote_text(t, billing.ticket_quote(pack=pack, ticket=ticket), pack)
                )
                card = ticket_card(t=t, ticket=ticket, pack=pack, clocks=clocks, cost=cost)
            events = tickets.events_of(session=session, ticket=ticket, internal=viewer.is_staff)
            timeline = []
            for event in events:
                line, _cut = timeline_line(
                    session=session, t=t, pack=pack, event=event, zone=zone, full=True
                )
                timeline.append({"line": line, "internal": event.type == "note"})
            running = {
                label: due
                for label, clock in (
                    (t.gettext("Response"), clocks.response),
                    (t.gettext("Resolution"), clocks.resolution),
                )
                if clock is not None and clock.state.value == "running" and clock.due_at
                for due in [clock.due_at]
            }
            return show(
                "ticket.html",
                viewer,
                card=card,
                timeline=timeline,
                running=running,
                attachments=queries.attachments(
                    session=session, ticket=ticket, internal=viewer.is_staff
                ),
            )

        return signed_in(request, render)

    @routes.get("/sla")
    def sla(request: Request) -> Response:
        """SLA report: per contract, both targets against the previous period, and the charts."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            period, refused = _period(request, viewer, now)
            lines = charts.sla_lines(
                session=session, actor=viewer.actor, period=period, now=now, t=viewer.t
            )
            return show(
                "sla.html",
                viewer,
                lines=lines,
                refused=refused,
                period_text=report_render.period_words(viewer.t, period),
                period="" if refused else request.query_params.get("period", "")[:20],
                charts=charts.CHARTS,
            )

        return signed_in(request, render)

    @routes.get("/charts/{name}.png")
    def chart(request: Request, name: str) -> Response:
        """A chart of the SLA report as PNG (compliance per month, backlog by priority and age)."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            if name not in charts.CHARTS:
                return not_found(viewer)
            image = charts.chart_png(
                name=name,
                session=session,
                actor=viewer.actor,
                now=now,
                t=viewer.t,
                zone=viewer.zone,
            )
            if image is None:
                return not_found(viewer)
            return Response(image, media_type="image/png", headers=HEADERS)

        return signed_in(request, render)

    @routes.get("/credits")
    def credits(request: Request) -> Response:
        """Credits and time bank: each account's ledger with its running balance."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            t = viewer.t
            accounts = []
            for contract, tenant in queries.visible_contracts(session=session, actor=viewer.actor):
                terms = terms_of(session=session, contract=contract)
                if terms.account is AccountKind.NONE:
                    continue
                accounts.append((contract, tenant, terms.pack))
            wanted = parse_int(request.query_params.get("contract", ""), low=1, high=2**31)
            chosen = next((a for a in accounts if a[0].id == wanted), None)
            if chosen is None and accounts:
                chosen = accounts[0]
            book = None
            lines: list[dict[str, Any]] = []
            balance_text = ""
            if chosen is not None:
                contract, _tenant, pack = chosen
                assert contract.id is not None
                book = queries.ledger(session=session, contract_id=contract.id)
                zone = zone_of(pack)
                balance_text = amount_text(t, book.balance, pack)
                for line in book.lines:
                    lines.append(
                        {
                            "when": t.datetime(line.entry.at, zone),
                            "what": _ledger_words(t, line.entry.type),
                            "ticket": line.ticket,
                            "amount": amount_text(t, line.entry.amount, pack),
                            "negative": line.entry.amount < 0,
                            "balance": amount_text(t, line.balance, pack),
                            "reserved": line.reserved,
                            "reason": (line.entry.reason or "")
                            if line.entry.type in OPERATOR_WRITTEN
                            else "",
                        }
                    )
            summary, has_chart = "", False
            if chosen is not None:
                period = parse_period(text="", now=now, zone=viewer.zone)
                rows = [
                    row
                    for row in figures.credit_figures(
                        session=session, scope=charts.scope(viewer.actor), period=period
                    )
                    if row.contract.contract_id == chosen[0].id
                ]
                summary = report_render.credits_text(t, rows, period=period)
                months = last_months(now=now, zone=viewer.zone)
                has_chart = (
                    report_render.busiest_account(
                        figures.monthly_credits(
                            session=session, scope=charts.scope(viewer.actor), months=months
                        )
                    )
                    is not None
                )
            return show(
                "credits.html",
                viewer,
                summary=summary,
                has_chart=has_chart,
                accounts=[
                    (c.id, f"{tn.name} · {_contract_name(c, p, t.lang)}") for c, tn, p in accounts
                ],
                chosen=chosen[0].id if chosen is not None else None,
                lines=lines,
                balance=balance_text,
                hidden=book.hidden if book is not None else 0,
            )

        return signed_in(request, render)

    @routes.get("/claims")
    def claims_page(request: Request) -> Response:
        """The claim register: remedies the customer may claim, their amount and deadline."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            t = viewer.t
            words = {
                "open": t.gettext("to claim"),
                "claimed": t.gettext("claimed"),
                "granted": t.gettext("granted"),
                "expired": t.gettext("expired"),
            }
            lines = []
            for claim, reference in queries.claims(session=session, actor=viewer.actor):
                contract = session.get(Contract, claim.contract_id)
                tenant = session.get(Tenant, claim.tenant_id)
                assert contract is not None
                pack = get_pack(contract.pack_id)
                remedy = next((r for r in pack.remedies if r.id == claim.remedy_id), None)
                amount = (
                    t.euros(claim.amount)
                    if claim.unit == "eur"
                    else amount_text(t, claim.amount, pack)
                )
                lines.append(
                    {
                        "customer": tenant.name if tenant is not None else "?",
                        "contract": _contract_name(contract, pack, t.lang),
                        "remedy": remedy.labels.get(t.lang) if remedy is not None else "",
                        "ticket": reference,
                        "period": claim.period,
                        "amount": amount,
                        "deadline": (
                            format_date(claim.deadline, "d MMM y", locale=t.babel_locale)
                            if claim.deadline is not None
                            else ""
                        ),
                        "status": words.get(claim.status, words["open"]),
                    }
                )
            return show("claims.html", viewer, lines=lines)

        return signed_in(request, render)

    @routes.get("/availability")
    def availability_page(request: Request) -> Response:
        """Measured availability of each contract that promises one, this period."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            blocks = []
            for contract, tenant in queries.visible_contracts(session=session, actor=viewer.actor):
                pack = get_pack(contract.pack_id)
                remedy = availability.availability_remedy(pack, contract.service_level)
                if remedy is None or not contract.active:
                    continue
                period = availability.period_of(remedy=remedy, zone=zone_of(pack), at=now)
                figure = availability.measure(
                    session=session, contract=contract, period=period, now=now
                )
                blocks.append((tenant.name, availability_text(viewer.t, figure)))
            return show("availability.html", viewer, blocks=blocks)

        return signed_in(request, render)

    @routes.get("/queue")
    def queue(request: Request) -> Response:
        """The agent's queue: open tickets of the providers they serve, nearest due first."""

        def render(session: Session, viewer: Viewer, now: datetime) -> Response:
            if not viewer.is_staff:
                return not_found(viewer)
            scope = request.query_params.get("scope", "all")
            scope = scope if scope in tickets.QUEUE_SCOPES else "all"
            number = parse_int(request.query_params.get("page", "1"), low=1, high=100_000) or 1
            found = tickets.queue(
                session=session, actor=viewer.actor, scope=scope, page=number, per_page=30
            )
            return show(
                "queue.html",
                viewer,
                rows=_rows(session, viewer.t, found.tickets, now),
                scope=scope,
                page_number=found.page,
                more=found.more,
                now=now,
            )

        return signed_in(request, render)

    return routes
