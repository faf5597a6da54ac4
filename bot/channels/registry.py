"""The channel registry: each channel is declared once, in one `ChannelEntry`.

An entry says everything the rest of the bot needs to know about a channel:

- its ``name`` (the ``channel`` of identities and outbox rows) and its settings section
  (``settings_section``: the ``<section>_*`` settings), with ``enabled(settings)`` saying
  whether those settings turn it on;
- its agents' room for a provider (``agent_room(settings, provider_code)``: a chat id, or
  None when the channel has no configured room for that provider);
- its platform limits (message length, buttons per message, sending rate);
- ``build(runtime)``: the running channel, with its HTTP mount (routes added to the
  FastAPI app), its lifespan (clients, polling) and its outbox sender.

The server mounts and runs every enabled entry, the worker drains the outbox through their
senders, and notifications ask them for the agents' rooms: none of them names a channel.
The list of the shipped channels is written once (`bot.channels.builtin`); the composition
roots (the server, the worker, the command line) install it with `install`, and a test may
install another one (`using`). Nothing here imports a channel: the dependency goes from the
channels to the registry.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.channels.inbox import InboxHandler
from bot.channels.sending import RateLimit, Sender
from bot.inbox.drainer import draining
from bot.settings import Settings

Lifespan = Callable[[], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class PlatformLimits:
    """What one message may hold on a platform, and how fast messages may go."""

    max_text: int
    max_buttons: int
    rate: RateLimit


@dataclass(frozen=True)
class ChannelRuntime:
    """What the registry hands a channel it builds: the settings and the database engine.

    Channel modules receive the engine here and pass it on to their store; they never open
    the database themselves.
    """

    settings: Settings
    engine: Engine


@dataclass
class BuiltChannel:
    """A running channel: its routes, its lifespan, its outbox sender, its adapter object."""

    name: str
    sender: Sender | None = None
    lifespan: Lifespan | None = None
    mount: Callable[[FastAPI], None] | None = None
    #: The adapter object, shown on the app's state under the channel's name.
    handle: object | None = None
    #: Handles the channel's stored inbound events (claimed by the process's inbox drainer).
    inbox: InboxHandler | None = None
    #: The platform numbers the events it delivers one by one without gaps (the rows' `seq`):
    #: an event whose predecessors are all stored skips the inbox's order window.
    inbox_gapless: bool = False


def _no_room(_settings: Settings, _provider_code: str) -> str | None:
    return None


@dataclass(frozen=True)
class ChannelEntry:
    """One channel, declared once."""

    name: str
    settings_section: str
    enabled: Callable[[Settings], bool]
    limits: PlatformLimits
    agent_room: Callable[[Settings, str], str | None] = _no_room
    build: Callable[[ChannelRuntime], BuiltChannel] | None = None
    #: What to tell the operator when the settings leave the channel off.
    off_notice: str | None = None
    #: Why the server must refuse to start with these settings (one line), or None.
    unsafe: Callable[[Settings], str | None] = lambda _settings: None

    def log_off(self) -> None:
        """Tell the operator the channel is off (in the log of the module that builds it)."""
        if self.off_notice is not None:
            logger = logging.getLogger(getattr(self.build, "__module__", None) or __name__)
            logger.info(self.off_notice)

    def section(self, settings: Settings) -> dict[str, Any]:
        """The channel's own settings (``<settings_section>_*``), secrets included as given."""
        prefix = f"{self.settings_section}_"
        return {
            name: getattr(settings, name)
            for name in type(settings).model_fields
            if name.startswith(prefix)
        }

    def plugin(self, app: FastAPI, settings: Settings, engine: Engine) -> Lifespan | None:
        """Plug this one channel into `app` (an `AppPlugin`), or leave it off when disabled."""
        if not self.enabled(settings):
            self.log_off()
            return None
        channels: Channels | None = getattr(app.state, "channels", None)
        owned = channels is None
        if channels is None:
            channels = app.state.channels = Channels()
        built = channels.add(self, ChannelRuntime(settings=settings, engine=engine))
        if built is None:
            return None
        expose(app, built)
        if built.mount is not None:
            built.mount(app)
        # An app of `create_app` runs its channels' lifespans (this one included) itself.
        return channels.lifespan if owned else None


class Channels:
    """The running channels of one process (what `Registry.build` returns)."""

    def __init__(
        self, built: Iterable[BuiltChannel] = (), *, rates: dict[str, RateLimit] | None = None
    ) -> None:
        self.built = list(built)
        self.rates = dict(rates or {})
        self.runtime: ChannelRuntime | None = None

    def add(self, entry: ChannelEntry, runtime: ChannelRuntime) -> BuiltChannel | None:
        """Build `entry` into this set (None when it has nothing to run)."""
        if entry.build is None:
            return None
        built = entry.build(runtime)
        self.runtime = runtime
        self.built.append(built)
        self.rates[entry.name] = entry.limits.rate
        return built

    def get(self, name: str) -> BuiltChannel | None:
        """The running channel of this name."""
        return next((b for b in self.built if b.name == name), None)

    @property
    def senders(self) -> list[Sender]:
        """The outbox senders of the running channels, one per channel."""
        chosen: dict[str, Sender] = {}
        for built in self.built:
            if built.sender is not None and built.sender.channel not in chosen:
                chosen[built.sender.channel] = built.sender
        return list(chosen.values())

    def mount(self, app: FastAPI) -> None:
        """Add every channel's routes to `app`, and show each on its state."""
        for built in self.built:
            expose(app, built)
            if built.mount is not None:
                built.mount(app)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run every channel's lifespan (started in order, stopped in reverse), then the
        inbox drainer handing the channels their stored events (stopped first)."""
        async with AsyncExitStack() as stack:
            for built in self.built:
                if built.lifespan is not None:
                    await stack.enter_async_context(built.lifespan())
            handlers = {b.name: b.inbox for b in self.built if b.inbox is not None}
            gapless = [b.name for b in self.built if b.inbox is not None and b.inbox_gapless]
            if handlers and self.runtime is not None:
                runtime = self.runtime
                await stack.enter_async_context(
                    draining(
                        engine=runtime.engine,
                        settings=runtime.settings,
                        handlers=handlers,
                        gapless=gapless,
                    )
                )
            yield


def expose(app: FastAPI, built: BuiltChannel) -> None:
    """Show a running channel on the app's state: ``<name>`` (adapter), ``<name>_sender``."""
    if built.handle is not None:
        setattr(app.state, built.name, built.handle)
    if built.sender is not None:
        setattr(app.state, f"{built.name}_sender", built.sender)


@dataclass(frozen=True)
class Registry:
    """The channels a process knows, in order."""

    entries: tuple[ChannelEntry, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [entry.name for entry in self.entries]
        if len(names) != len(set(names)):
            raise ValueError(f"channel names must be unique: {', '.join(names)}")

    @property
    def names(self) -> tuple[str, ...]:
        """The channel names, in order."""
        return tuple(entry.name for entry in self.entries)

    def get(self, name: str) -> ChannelEntry | None:
        """The entry of a channel."""
        return next((entry for entry in self.entries if entry.name == name), None)

    def with_entry(self, entry: ChannelEntry) -> Registry:
        """This registry plus one more channel."""
        return Registry((*self.entries, entry))

    def enabled(self, settings: Settings) -> list[ChannelEntry]:
        """The entries the settings turn on."""
        return [entry for entry in self.entries if entry.enabled(settings)]

    def agent_rooms(self, settings: Settings, provider_code: str) -> list[tuple[str, str]]:
        """The agents' rooms of a provider, as (channel, chat id), in registry order."""
        rooms: list[tuple[str, str]] = []
        for entry in self.entries:
            room = entry.agent_room(settings, provider_code)
            if room is not None:
                rooms.append((entry.name, room))
        return rooms

    def limits(self, name: str) -> PlatformLimits | None:
        """A channel's platform limits."""
        entry = self.get(name)
        return None if entry is None else entry.limits

    def refusals(self, settings: Settings) -> list[str]:
        """Why the server must not start with these settings (one line per problem)."""
        return [line for entry in self.entries if (line := entry.unsafe(settings))]

    def build(self, runtime: ChannelRuntime) -> Channels:
        """Build every enabled channel."""
        channels = Channels()
        for entry in self.entries:
            if entry.enabled(runtime.settings):
                channels.add(entry, runtime)
            else:
                entry.log_off()
        return channels


# --------------------------------------------------------------------------- the registry in force

_installed: Registry | None = None
_current: ContextVar[Registry | None] = ContextVar("supportbot_channels", default=None)


class NoRegistryError(RuntimeError):
    """Nothing installed a channel registry in this process."""


def install(registry: Registry) -> Registry:
    """Make `registry` the process's channels (the composition roots call this once)."""
    global _installed
    _installed = registry
    return registry


def install_default(default: Callable[[], Registry]) -> Registry:
    """Install `default()` unless a registry is installed already; returns the one in force."""
    if _installed is None:
        install(default())
    return active()


def active() -> Registry:
    """The registry in force: the one set by `using`, else the installed one."""
    registry = _current.get() or _installed
    if registry is None:
        raise NoRegistryError(
            "no channel registry installed: call bot.channels.builtin.install() at start-up"
        )
    return registry


@contextmanager
def using(registry: Registry) -> Iterator[Registry]:
    """Make `registry` the one in force inside this block (and the threads it starts)."""
    token = _current.set(registry)
    try:
        yield registry
    finally:
        _current.reset(token)
