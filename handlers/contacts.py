"""Contact details typed at intake: checked, normalised, and remembered per contract."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from bot.db.models import Ticket
from bot.i18n import Translator

NAME = "contact-name"
PHONE = "contact-phone"
EMAIL = "contact-email"
FIELDS = (NAME, PHONE, EMAIL)


def check(t: Translator, field: str, value: str, *, region: str) -> tuple[str | None, str | None]:
    """(normalised value, None) when accepted, (None, localized reason) when refused."""
    text = value.strip()
    if field == EMAIL:
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError:
            return None, t.gettext(
                "%(value)s is not an e-mail address. Type it as name@example.com."
            ) % {"value": text[:80]}
        return checked.normalized, None
    if field == PHONE:
        import phonenumbers  # only when a phone number is typed: its tables load slowly

        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            return None, t.gettext(
                "%(value)s is not a valid phone number. Type it with its area code, "
                "for example %(example)s."
            ) % {"value": text[:80], "example": _example(region)}
        fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
        return phonenumbers.format_number(number, fmt), None
    return text, None


def _example(region: str) -> str:
    import phonenumbers

    number = phonenumbers.example_number(region)
    if number is None:
        return "+32 2 555 12 34"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def last_contact(*, session: Session, user_id: int, contract_id: int) -> dict[str, str] | None:
    """The contact details the user gave on their last ticket of this contract, if complete."""
    query = (
        select(Ticket)
        .where(col(Ticket.requester_id) == user_id, col(Ticket.contract_id) == contract_id)
        .order_by(col(Ticket.id).desc())
        .limit(5)
    )
    for ticket in session.exec(query).all():
        details = ticket.details or {}
        found = {key: details[key] for key in FIELDS if details.get(key)}
        if found:
            return found
    return None
