"""The explicit states of a conversation and the moves between them."""

from __future__ import annotations

from enum import StrEnum

from bot.db.models import Conversation
from handlers.context import Context, new_token


class State(StrEnum):
    """Where a conversation is; stored as text in `conversations.state`."""

    IDLE = "idle"
    PICK_CONTRACT = "pick_contract"
    PICK_CATEGORY = "pick_category"
    PICK_INTERVENTION = "pick_intervention"
    DESCRIBE_SEARCH = "describe_search"
    CONFIRM_MATCH = "confirm_match"
    PICK_KIND = "pick_kind"
    PICK_PRIORITY = "pick_priority"
    ASK_DETAIL = "ask_detail"
    ASK_UNITS = "ask_units"
    ASK_ESTIMATE = "ask_estimate"
    ASK_DESCRIPTION = "ask_description"
    CONFIRM = "confirm"
    RECLASSIFY_WHAT = "reclassify_what"
    RECLASSIFY_INTERVENTION = "reclassify_intervention"
    RECLASSIFY_PRIORITY = "reclassify_priority"
    RECLASSIFY_REASON = "reclassify_reason"
    PAUSE_CAUSE = "pause_cause"
    PAUSE_REASON = "pause_reason"
    RESOLVE_MINUTES = "resolve_minutes"
    RESOLVE_CONFIRM = "resolve_confirm"
    LOG_CONFIRM = "log_confirm"
    OPEN_CUSTOMER = "open_customer"
    OPEN_REQUESTER = "open_requester"
    OPEN_LOGGED = "open_logged"
    MESSAGE_TICKET = "message_ticket"  # which ticket a loose message joins
    REOPEN_REASON = "reopen_reason"  # why the resolved ticket is not solved
    RATING_COMMENT = "rating_comment"  # the optional comment after a rating
    RESUME_DRAFT = "resume_draft"
    ASK_WHEN = "ask_when"


def parse_state(value: str) -> State:
    """The state stored in a row; an unknown value (older code) is treated as idle."""
    try:
        return State(value)
    except ValueError:
        return State.IDLE


def reset(conversation: Conversation) -> None:
    """Forget the draft and go idle."""
    conversation.state = State.IDLE
    conversation.token = new_token()
    conversation.back_stack = []
    conversation.contract_id = None
    conversation.category_id = None
    conversation.intervention_id = None
    conversation.kind = None
    conversation.priority = None
    conversation.details = {}
    conversation.description = None
    conversation.search_query = None
    conversation.candidates = []
    conversation.ticket_id = None
    conversation.attachments = []
    conversation.estimate_minutes = None
    conversation.units = None
    conversation.requester_id = None
    conversation.logged_at = None
    conversation.work_minutes = None
    conversation.detail_at = None


def move(ctx: Context, state: State, *, remember: bool = True) -> None:
    """Enter `state`, remembering the current one for « Back »; old buttons go stale."""
    conversation = ctx.require_conversation
    current = parse_state(conversation.state)
    if remember and current is not State.IDLE and current is not state:
        conversation.back_stack = [*conversation.back_stack, current.value]
    conversation.state = state
    conversation.token = new_token()
    conversation.updated_at = ctx.now


def back(ctx: Context) -> State | None:
    """Return to the previous state, or None when there is none."""
    conversation = ctx.require_conversation
    if not conversation.back_stack:
        return None
    *rest, previous = conversation.back_stack
    conversation.back_stack = rest
    conversation.state = previous
    conversation.token = new_token()
    conversation.updated_at = ctx.now
    return parse_state(previous)
