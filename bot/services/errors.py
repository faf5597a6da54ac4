"""Errors the services raise; handlers turn them into localized answers."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation, with a stable code for the handlers to translate."""

    code = "error"

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or self.code)
        self.params = params


class NotFoundError(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"


class AccessDeniedError(ServiceError):
    """The caller's role or tenant does not allow this."""

    code = "access_denied"


class InvalidStateError(ServiceError):
    """The ticket is not in a state that allows this."""

    code = "invalid_state"


class InviteError(ServiceError):
    """An invite code is unknown, expired or already used."""

    code = "invite"


class InputError(ServiceError):
    """An argument is malformed (a negative number of minutes, an unknown option)."""

    code = "input"
