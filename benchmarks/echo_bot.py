"""A bare python-telegram-bot echo bot: the yardstick `intake_http.py` measures Aigaq against.

    ECHO_BOT_TOKEN=… ECHO_API_URL=http://127.0.0.1:PORT/bot .venv/bin/python benchmarks/echo_bot.py

Long polling, PTB's defaults (HTTPXRequest, no persistence, no rate limiter — or, with
ECHO_LIMITER=1, the same `AIORateLimiter(max_retries=3)` Aigaq runs with); it repeats
every message's text (or says "ok" to media) and answers every button press, then replies to
it. Stop it with SIGINT.
"""

from __future__ import annotations

import os
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(message.text or "ok")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, query.data or "pressed")


def main() -> None:
    api_url = os.environ["ECHO_API_URL"]
    if not api_url.startswith("http://127.0.0.1:"):
        raise SystemExit("echo_bot.py talks only to a stand-in Bot API on 127.0.0.1")
    builder = (
        Application.builder()
        .token(os.environ["ECHO_BOT_TOKEN"])
        .base_url(api_url)
        .base_file_url(os.environ.get("ECHO_FILE_URL", api_url.replace("/bot", "/file/bot")))
    )
    if os.environ.get("ECHO_LIMITER") == "1":  # paced as Telegram requires, like Aigaq
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])


if __name__ == "__main__":
    main()
