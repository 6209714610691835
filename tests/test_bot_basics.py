"""The foundation seen from a phone: greeting, language, help, privacy, groups, errors."""

from __future__ import annotations

import logging

import pytest
from telegram.ext import CommandHandler

from bot.context import AigaqContext
from tests.harness import Harness

KAZAKH_LETTERS = set("әғқңөұүһі")


async def test_start_offers_three_languages_with_telegrams_preselected(harness: Harness) -> None:
    user = harness.user(user_id=1, language_code="ru")
    await user.send_command("start")
    labels = [label for label, _data in user.buttons()]
    assert [data for _label, data in user.buttons()] == [
        "lang:kk",
        "lang:ru",
        "lang:en",
        "lang:kk_Arab",
    ]
    assert labels[1].startswith("✓") and "Русский" in labels[1]
    assert "Қазақша" in labels[0] and "English" in labels[2]


async def test_choosing_a_language_answers_in_it_and_remembers(harness: Harness) -> None:
    user = harness.user(user_id=2, language_code="en")
    await user.send_command("start")
    await user.press("lang:kk")
    assert KAZAKH_LETTERS & set(user.last_text.lower())
    await user.send_command("help")
    assert KAZAKH_LETTERS & set(user.last_text.lower())
    account = await harness.services.accounts.find(2)
    assert account is not None and account.locale == "kk"


@pytest.mark.parametrize(("code", "expected"), [("en", "en"), ("ru-RU", "ru"), ("de", "kk")])
async def test_help_follows_telegrams_language(harness: Harness, code: str, expected: str) -> None:
    user = harness.user(user_id=3, language_code=code)
    await user.send_command("help")
    text = user.last_text
    if expected == "en":
        assert "voice message" in text
    elif expected == "ru":
        assert "голосов" in text
    else:
        assert KAZAKH_LETTERS & set(text.lower())


async def test_privacy_says_what_telegram_sees_and_how_to_delete(harness: Harness) -> None:
    user = harness.user(user_id=4, language_code="en")
    await user.send_command("privacy")
    text = user.last_text
    assert "stay on Telegram's servers until you delete them" in text
    assert "Telegram also sees when you write to this bot" in text
    assert "/cancel" in text and "withdraw" in text
    assert user.last.protect_content


async def test_bot_leaves_groups(harness: Harness) -> None:
    user = harness.user(user_id=5, language_code="en")
    await user.add_to_group(harness.app, chat_id=-100123)
    assert harness.api.calls("leaveChat")


async def test_error_handler_logs_type_only_and_reassures(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(update: object, context: AigaqContext) -> None:
        raise ValueError("my son Erlan was taken")  # the message could hold testimony

    harness.app.add_handler(CommandHandler("explode", explode), group=-5)  # type: ignore[union-attr]
    user = harness.user(user_id=6, language_code="en")
    caplog.set_level(logging.INFO)
    await user.send_command("explode")
    assert any("Nothing you sent was lost" in (m.text or "") for m in user.messages)
    assert "ValueError" in caplog.text
    assert "Erlan" not in caplog.text
    assert "6" not in [r.getMessage() for r in caplog.records]


async def test_unknown_text_outside_a_dialogue_gets_a_hint(harness: Harness) -> None:
    user = harness.user(user_id=7, language_code="en")
    await user.send_command("nosuchcommand")
    assert "/start" in user.last_text


async def test_webhook_refuses_a_wrong_secret_token(harness: Harness) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = harness.app
    assert app is not None and app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        secret_token="right-secret",
        webhook_url="https://bot.example.org/hook",
    )
    update = {
        "update_id": 99,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 8, "type": "private"},
            "from": {"id": 8, "is_bot": False, "first_name": "A"},
            "text": "hello",
        },
    }
    try:
        async with httpx.AsyncClient() as client:
            wrong = await client.post(
                f"http://127.0.0.1:{port}/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            missing = await client.post(f"http://127.0.0.1:{port}/hook", json=update)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            assert app.update_queue.empty()
            right = await client.post(
                f"http://127.0.0.1:{port}/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "right-secret"},
            )
            assert right.status_code == 200
            assert (await app.update_queue.get()).update_id == 99
    finally:
        await app.updater.stop()
