"""A command copied from an Arabic-script message: heard as the command it is.

In kk_Arab, `/status CODE` sits inside a left-to-right isolate (LRI … PDI), and a relative
who copies it sends the isolate characters too. Telegram then marks no command, so the
text would reach the dialogue as an answer. Here the format characters are taken off and
the message is handled again as the command she meant.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from handlers.common import REMEMBER_GROUP

if TYPE_CHECKING:
    from bot.context import AigaqApplication, AigaqContext

# Directional marks, embeddings, overrides and isolates (none is ever part of a command).
FORMAT_CHARACTERS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
COPIED_COMMAND = re.compile(f"^[{FORMAT_CHARACTERS}\\s]+/[A-Za-z_]")
# After her message is remembered, before anything reads its text.
COPIED_COMMAND_GROUP = REMEMBER_GROUP + 2


def cleaned(text: str) -> str:
    """The text without format characters, as she meant to type it."""
    return text.translate({ord(ch): None for ch in FORMAT_CHARACTERS}).strip()


async def copied_command(update: Update, context: AigaqContext) -> None:
    """Hand the same message on again, without the format characters, as a command."""
    message = update.message
    if message is None or message.text is None:
        return
    data = update.to_dict()
    text = cleaned(message.text)
    data["message"]["text"] = text
    data["message"]["entities"] = [
        {"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}
    ]
    await context.application.process_update(Update.de_json(data, context.bot))
    raise ApplicationHandlerStop


def register(application: AigaqApplication) -> None:
    application.add_handler(
        MessageHandler(filters.Regex(COPIED_COMMAND) & ~filters.COMMAND, copied_command),
        group=COPIED_COMMAND_GROUP,
    )
