"""A step button's spinner stops as soon as its click is stored, before the core works."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tests.telegram.conftest import REQUESTER_ID, Bot, Updates, buttons, link


class Watching:
    """The core, noting how many clicks were answered when it was called."""

    def __init__(self, core: Any, bot: Bot) -> None:
        self.core = core
        self.bot = bot
        self.answered_before: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.answered_before.append(len(self.bot.fake.calls("answerCallbackQuery")))
        return self.core(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)


def test_a_step_click_is_answered_once_before_the_core_handles_it(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    question = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang="fr"))[-1]
    _label, data = buttons(question)[0]
    watching = Watching(bot.channel.core, bot)
    bot.channel.core = watching  # type: ignore[assignment]
    bot.fake.reset_calls()

    shown = bot.deliver(updates.click(question, data, user_id=REQUESTER_ID, lang="fr"))

    assert watching.answered_before == [1]  # answered at intake, before the core ran
    [answer] = bot.fake.calls("answerCallbackQuery")
    assert "text" not in answer.params
    assert shown  # the next question


def test_a_click_without_data_is_answered_once(bot: Bot, updates: Updates, seeded: Engine) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    question = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang="fr"))[-1]
    bot.fake.reset_calls()

    bot.deliver(updates.click(question, "", user_id=REQUESTER_ID, lang="fr"))

    assert len(bot.fake.calls("answerCallbackQuery")) == 1
