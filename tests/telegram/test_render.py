"""Core replies as Telegram messages: keyboards, limits, cards, edits."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram import render
from handlers.model import (
    MAX_TEXT,
    Choices,
    Confirm,
    Option,
    Prompt,
    Text,
    TicketCard,
)


def rows(markup: object) -> list[list[str]]:
    assert isinstance(markup, InlineKeyboardMarkup)
    return [[button.text for button in row] for row in markup.inline_keyboard]


def options(count: int, label: str = "Option") -> tuple[Option, ...]:
    return tuple(Option(f"{label} {i}", f"c:tok:{i}") for i in range(count))


def test_few_short_options_share_rows_long_ones_do_not() -> None:
    [message] = render.render(
        Choices(
            "Which?",
            (
                Option("A long label for a dedicated server restart", "c:t:1"),
                Option("« Back", "c:t:~back"),
                Option("✕ Cancel", "c:t:~cancel"),
            ),
        )
    )
    assert rows(message.markup) == [
        ["A long label for a dedicated server restart"],
        ["« Back", "✕ Cancel"],
    ]
    [confirm] = render.render(Confirm("Sure?", Option("Yes", "c:t:y"), Option("No", "c:t:n")))
    assert rows(confirm.markup) == [["Yes", "No"]]


def test_many_options_one_per_row_up_to_a_hundred() -> None:
    [message] = render.render(Choices("Pick", options(100, "X")))
    assert rows(message.markup) == [[f"X {i}"] for i in range(100)]
    [nine] = render.render(Choices("Pick", options(9, "X")))
    assert all(len(row) == 1 for row in rows(nine.markup))


def test_callback_data_over_64_bytes_is_left_out() -> None:
    too_long = Option("Bad", "c:tok:" + "é" * 30)
    [message] = render.render(Choices("Pick", (Option("Good", "c:tok:1"), too_long)))
    assert rows(message.markup) == [["Good"]]


def test_long_text_is_split_with_the_keyboard_last() -> None:
    text = "\n".join("word " * 30 for _ in range(60))
    messages = render.render(Prompt(text, (Option("Cancel", "c:t:~cancel"),)))
    assert len(messages) == 3
    assert all(render.visible_length(m.text) <= MAX_TEXT for m in messages)
    assert [m.markup is not None for m in messages] == [False, False, True]


def test_user_text_is_escaped_and_the_card_title_bold() -> None:
    [text] = render.render(Text("<b>not bold</b> & more"))
    assert text.text == "&lt;b&gt;not bold&lt;/b&gt; &amp; more"
    card = TicketCard(
        "Ticket TLN-1", (("Description", "web<01> & db"),), footer="Reply with /comment"
    )
    [message] = render.render(card)
    assert message.text == (
        "<b>Ticket TLN-1</b>\nDescription: web&lt;01&gt; &amp; db\n<i>Reply with /comment</i>"
    )


def test_in_a_group_questions_address_the_asker_and_prompts_force_a_reply() -> None:
    mention = render.mention_html(42, "Bram <3")
    [prompt] = render.render(Prompt("Why?", options(1)), group=True, mention=mention)
    assert prompt.text == '<a href="tg://user?id=42">Bram &lt;3</a> Why?'
    assert isinstance(prompt.markup, ForceReply)
    assert prompt.markup.selective is True
    [plain] = render.render(Text("Done."), group=True, mention=mention)
    assert plain.text == "Done."


def test_picked_line_and_limits_of_an_edit() -> None:
    assert render.with_line("Which?", render.picked_line("A & B")) == "Which?\n\n→ <b>A &amp; B</b>"
    assert render.with_line("x" * (MAX_TEXT - 3), render.picked_line("Yes")) is None


def test_keyboard_without_a_pressed_button() -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Ack", callback_data="t:ack:R")]]
        + [[InlineKeyboardButton("Pause", callback_data="t:pause:R")]]
    )
    assert rows(render.without(keyboard, ["t:ack:R"])) == [["Pause"]]
    assert render.without(keyboard, ["t:ack:R", "t:pause:R"]) is None
    assert render.button_label(keyboard, "t:pause:R") == "Pause"


def test_a_ping_keeps_only_the_actions_the_core_says_still_apply() -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Ack", callback_data="t:ack:R")],
            [InlineKeyboardButton("Pause", callback_data="t:pause:R")],
            [InlineKeyboardButton("Resolve", callback_data="t:resolve:R")],
        ]
    )
    assert rows(render.keeping_actions(keyboard, ("pause", "resolve"))) == [["Pause"], ["Resolve"]]
    assert render.keeping_actions(keyboard, ("close",)) is None
    assert render.keeping_actions(None, ("ack",)) is None
