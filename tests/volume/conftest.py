"""Fixtures of the volume tests: the handlers' clock and settings, a core to call."""

from __future__ import annotations

from tests.handlers.conftest import clock, seeded, settings

__all__ = ["clock", "seeded", "settings"]
