"""The in-process Bot API behaves like Telegram where the bot depends on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, EndPointNotFound, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.localapi import DELETE_WINDOW, FakeUser, LocalBotApi, make_application_builder

Context = ContextTypes.DEFAULT_TYPE
App = Application[Any, Any, Any, Any, Any, Any]


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
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"picked {query.data}")


async def size(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    data = await (await message.document.get_file()).download_as_bytearray()
    await message.reply_text(f"{len(data)} bytes")


async def forget(update: Update, context: Context) -> None:
    """/forget: delete her command and every earlier message of the chat, both sides."""
    message = update.effective_message
    assert message is not None
    ids = list(range(1, message.message_id + 1))
    await context.bot.delete_messages(message.chat_id, ids)
    await context.bot.send_message(message.chat_id, "Forgotten")


def build(api: LocalBotApi) -> App:
    application: App = make_application_builder(api).build()
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CommandHandler("forget", forget))
    application.add_handler(CallbackQueryHandler(picked))
    application.add_handler(MessageHandler(filters.Document.ALL, size))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


@pytest.fixture
def api() -> LocalBotApi:
    return LocalBotApi()


@pytest.fixture
async def app(api: LocalBotApi) -> AsyncIterator[App]:
    application = build(api)
    await application.initialize()
    yield application
    await application.shutdown()


@pytest.fixture
def user(api: LocalBotApi, app: App) -> FakeUser:
    return api.user(user_id=10, first_name="Aigul", application=app)


async def test_she_sees_replies_buttons_edits_and_downloads(user: FakeUser) -> None:
    await user.send_text("сәлем")
    assert user.last_text == "сәлем"
    await user.send_command("menu")
    assert user.buttons() == [("A", "pick:a")]
    answer = await user.press("pick:a")
    assert answer is not None and answer["text"] == "got pick:a"
    assert user.last_text == "picked pick:a" and user.buttons() == []
    assert user.last.edits == 1
    await user.send_document(b"%PDF" * 1000, file_name="a.pdf")
    assert user.last_text == "4000 bytes"
    # One numbering per chat, her messages and the bot's alike.
    assert [(m.message_id, m.from_bot) for m in user.all_messages[:4]] == [
        (1, False),
        (2, True),
        (3, False),
        (4, True),
    ]


async def test_a_handler_deletes_both_sides_of_the_chat(user: FakeUser) -> None:
    await user.send_text("secret")
    await user.send_command("forget")
    assert [m.text for m in user.all_messages if not m.deleted] == ["Forgotten"]
    assert [m.text for m in user.messages] == ["Forgotten"]


async def test_messages_older_than_48_hours_cannot_be_deleted(api: LocalBotApi, app: App) -> None:
    old = await app.bot.send_message(1, "old")
    api.advance(DELETE_WINDOW + 1)
    new = await app.bot.send_message(1, "new")
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted for everyone"):
        await app.bot.delete_message(1, old.message_id)
    assert await app.bot.delete_message(1, new.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await app.bot.delete_message(1, new.message_id)


async def test_faults_raise_what_telegram_would(api: LocalBotApi, app: App) -> None:
    bot = app.bot
    api.fail("sendMessage", chat_id=1, error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after == timedelta(seconds=7)
    api.fail("sendMessage", chat_id=2, error_code=403)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(2, "x")
    api.fail("sendMessage", error_code=400)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(3, "x")
    api.fail("sendMessage", error_code=None)
    with pytest.raises(TimedOut):
        await bot.send_message(4, "x")
    api.fail("sendMessage", chat_id=6, times=2, error_code=429)
    await bot.send_message(5, "other chats are unaffected")
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(6, "x")
        assert caught.value.retry_after == timedelta(seconds=3)  # Telegram's usual wait
    assert (await bot.send_message(6, "fine")).text == "fine"
    assert [call["chat_id"] for call in api.calls("sendMessage")] == [1, 2, 3, 4, 5, 6, 6, 6]


async def test_telegram_refuses_what_it_would_refuse(api: LocalBotApi, app: App) -> None:
    bot = app.bot
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "Choose", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "ә" * 4097)
    sent = await bot.send_message(1, "same")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("same", 1, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-100999, "a group the bot is not in")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendCarrierPigeon")


async def test_a_callback_query_is_answered_once(
    api: LocalBotApi, app: App, user: FakeUser
) -> None:
    await user.send_command("menu")
    await user.press("pick:a")
    query_id = api.calls("answerCallbackQuery")[0]["callback_query_id"]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query(query_id)


async def test_a_forged_press_reaches_the_bot(user: FakeUser) -> None:
    await user.send_text("hi")
    await user.press("pick:forged", message_id=user.last.message_id)
    assert user.last_text == "picked pick:forged"
    with pytest.raises(AssertionError, match="no visible button"):
        await user.press("never:shown")


async def test_files_past_the_download_limit_are_refused(
    api: LocalBotApi, app: App, user: FakeUser
) -> None:
    sent = await user.send_document(b"tiny", file_name="big.zip", declared_size=21 * 1024 * 1024)
    assert user.messages == []  # the handler failed, as it would on a real 21 MB file
    assert sent.file_id is not None
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await app.bot.get_file(sent.file_id)


async def test_photos_arrive_in_two_sizes_and_the_bot_can_send_them_back(
    api: LocalBotApi, app: App, user: FakeUser
) -> None:
    sent = await user.send_photo(b"\x89PNG" + bytes(200), width=800, height=600)
    assert sent.content["photo"][-1]["width"] == 800 and len(sent.content["photo"]) == 2
    back = await app.bot.send_photo(user.chat_id, sent.file_id, caption="yours")
    assert back.photo and user.last.media == "photo" and user.last_text == "yours"
    upload = await app.bot.send_document(user.chat_id, b"report", filename="r.txt")
    assert upload.document is not None and upload.document.file_name == "r.txt"
    assert api.files[upload.document.file_id].data == b"report"


async def test_rate_enforcement(api: LocalBotApi, app: App) -> None:
    api.enforce_rate(per_second=3, per_chat_per_second=1)
    await app.bot.send_message(1, "a")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(1, "b")
    await app.bot.send_message(2, "c")
    await app.bot.send_message(3, "d")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(4, "e")
    api.advance(1.1)
    await app.bot.send_message(1, "a second later")


async def test_a_blocked_user_gets_nothing(api: LocalBotApi, app: App, user: FakeUser) -> None:
    await user.block()
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await app.bot.send_message(user.chat_id, "news")


async def test_long_polling_through_get_updates(api: LocalBotApi) -> None:
    application = build(api)
    user = api.user(user_id=12, application=application)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await user.send_text("via polling", via_polling=True)
        assert user.last_text == "via polling"
        api.push_update(
            {"message": api.message_json(api.add_message(12, from_bot=False, text="2"))}
        )
        await user.send_text("3", via_polling=True)
        assert [m.text for m in user.messages] == ["via polling", "2", "3"]
        await application.updater.stop()
        await application.stop()
    assert api.pending_update_count == 0
