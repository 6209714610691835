"""The in-process Bot API behaves like Telegram where the bot depends on it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.localapi import DELETE_WINDOW, LocalBotApi, make_application_builder

Context = ContextTypes.DEFAULT_TYPE


async def echo(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def menu(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="pick:a")]])
    await update.effective_message.reply_text("Choose", reply_markup=keyboard)


async def picked(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"picked {query.data}")


async def size(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    data = await (await message.document.get_file()).download_as_bytearray()
    await message.reply_text(f"{len(data)} bytes")


@pytest.fixture
async def app() -> Any:
    api = LocalBotApi()
    application: Application[Any, Any, Any, Any, Any, Any] = make_application_builder(api).build()
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(picked))
    application.add_handler(MessageHandler(filters.Document.ALL, size))
    application.add_handler(MessageHandler(filters.TEXT, echo))
    await application.initialize()
    yield application, api
    await application.shutdown()


async def test_text_buttons_edits_and_downloads(app: Any) -> None:
    application, api = app
    user = api.user(user_id=10)
    user.application = application
    await user.send_text("сәлем")
    assert user.last_text == "сәлем"
    await user.send_command("menu")
    assert user.buttons() == [("A", "pick:a")]
    await user.press("pick:a")
    assert user.last_text == "picked pick:a" and user.last.buttons() == []
    await user.send_document(b"%PDF" * 1000, file_name="a.pdf")
    assert user.last_text == "4000 bytes"
    assert [m.from_bot for m in user.all_messages][:2] == [False, True]


async def test_faults_raise_what_telegram_would(app: Any) -> None:
    application, api = app
    bot = application.bot
    api.fail("sendMessage", chat_id=1, error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after.total_seconds() == 7
    api.fail("sendMessage", chat_id=2, error_code=403)
    with pytest.raises(Forbidden):
        await bot.send_message(2, "x")
    api.fail("sendMessage", error_code=400)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(3, "x")
    api.fail("sendMessage", error_code=None)
    with pytest.raises(TimedOut):
        await bot.send_message(4, "x")
    assert (await bot.send_message(5, "fine")).text == "fine"


async def test_rate_enforcement(app: Any) -> None:
    application, api = app
    api.enforce_rate(per_second=3, per_chat_per_second=1)
    await application.bot.send_message(1, "a")
    with pytest.raises(RetryAfter):
        await application.bot.send_message(1, "b")
    await application.bot.send_message(2, "c")
    await application.bot.send_message(3, "d")
    with pytest.raises(RetryAfter):
        await application.bot.send_message(4, "e")


async def test_messages_older_than_48_hours_cannot_be_deleted(app: Any) -> None:
    application, api = app
    old = await application.bot.send_message(1, "old")
    api.advance(DELETE_WINDOW + 1)
    new = await application.bot.send_message(1, "new")
    with pytest.raises(BadRequest, match="can't be deleted"):
        await application.bot.delete_message(1, old.message_id)
    assert await application.bot.delete_message(1, new.message_id)


async def test_forged_press_on_a_message_without_that_button(app: Any) -> None:
    application, api = app
    user = api.user(user_id=11)
    user.application = application
    await user.send_text("hi")
    await user.press("pick:forged", message_id=user.last.message_id)
    assert user.last_text == "picked pick:forged"
    with pytest.raises(AssertionError, match="no visible button"):
        await user.press("never:shown")


async def test_long_polling_through_get_updates() -> None:
    api = LocalBotApi()
    application = make_application_builder(api).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    user = api.user(user_id=12)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        message = api.add_message(12, from_bot=False, text="via polling")
        payload = api.message_json(message, sender=user.as_user())
        api.push_update({"message": payload})
        for _ in range(100):
            if user.messages:
                break
            await asyncio.sleep(0.02)
        await application.updater.stop()
        await application.stop()
    assert user.last_text == "via polling"
