"""Files she sends, in the intake and in a follow-up answer: one way to receive them.

A file is checked for size before and after the download, downloaded into memory, sealed at
once and forgotten (its Telegram file id is not kept). Every refusal is said to her in her
language, and nothing she sent before is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.constants import FileSizeLimit
from telegram.error import BadRequest

from bot.case import Draft
from bot.context import AigaqContext
from bot.file_record import Origin
from bot.i18n import gettext as _
from bot.services import file_tags, intake
from bot.services.cases import FollowUpClosed
from bot.services.filetypes import type_of
from bot.services.flood import DraftCaps
from bot.services.team import NoRecipients
from handlers.dialogue import INTAKE, draft_of, say

log = logging.getLogger(__name__)

DOCUMENT_TYPES = ("application/pdf",)
MAX_FILE = FileSizeLimit.FILESIZE_DOWNLOAD  # 20 MB: what the Bot API lets a bot download

Say = Callable[[str], Awaitable[None]]


class Closed(Exception):
    """The follow-up question the file answers is closed: nothing was kept."""


def evidence_of(message: Message) -> tuple[Any, str | None]:
    """The file to keep and its kind, or (None, None) for what cannot be kept."""
    if message.photo:
        return message.photo[-1], "photo"
    if message.video or message.video_note:
        return message.video or message.video_note, "video"
    document = message.document
    if document is None:
        return None, None
    mime = document.mime_type or ""
    if mime in DOCUMENT_TYPES or mime.startswith("image/"):
        return document, "document"
    # Too big is the clearer answer when it is both too big and of another type.
    return (document, None) if (document.file_size or 0) > MAX_FILE else (None, None)


def origin_of(message: Message | None, media: Any = None) -> Origin:
    """Where a file came from, as its message says: caption, forward origin, date, the MIME
    type her app declared. Sealed with the file (bot/file_record.py), never kept in the clear."""
    if message is None:
        return Origin()
    forward = message.forward_origin
    return Origin(
        caption=message.caption or None,
        forwarded_from=forwarded_by(forward) if forward else None,
        forwarded_at=forward.date if forward else None,
        sent_at=message.date,
        declared_mime=getattr(media, "mime_type", None),
    )


def forwarded_by(origin: MessageOrigin) -> str:
    """Who a forwarded message came from, in the words Telegram gives (for reviewers)."""
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        handle = f" (@{user.username})" if user.username else ""
        return f"user {user.full_name}{handle}, id {user.id}"
    if isinstance(origin, MessageOriginHiddenUser):
        return f"user {origin.sender_user_name} (hidden account)"
    if isinstance(origin, MessageOriginChat):
        chat = origin.sender_chat
        return f"chat {chat.title or chat.id}" + (
            f", signed {origin.author_signature}" if origin.author_signature else ""
        )
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        handle = f" (@{chat.username})" if chat.username else ""
        return f"channel {chat.title or chat.id}{handle}"
    return "unknown origin"


def too_big_text() -> str:
    return _(
        "This file is larger than 20 MB, the most a bot can receive. Please send a "
        "smaller file, or a photo of the page. Nothing you sent before is lost."
    )


def unsupported_text() -> str:
    return _(
        "I can take text, voice messages, photos, PDF documents and videos. "
        "Stickers, locations, contacts and polls cannot be kept."
    )


def wrong_type_text() -> str:
    return _(
        "This file could not be kept: by its content it is not a photo, a PDF document, a "
        "video or a voice message. Please send a photo of the page instead. Nothing you sent "
        "before is lost."
    )


def not_ready_text() -> str:
    return _(
        "The bot is not ready to receive testimony yet: the reviewing team has not set up "
        "its keys. Your answers are kept. Please try again later."
    )


async def receive_file(
    context: AigaqContext,
    media: Any,
    kind: str,
    say: Say,
    *,
    case_id: int | None = None,
    followup_id: int | None = None,
    origin: Origin | None = None,
) -> str | None:
    """Download and seal a file at once, with where it came from (`origin`); its uid, or None
    if refused (and said why).
    Raises Closed when it answers a follow-up question that was closed meanwhile."""
    if media.file_size is not None and media.file_size > MAX_FILE:
        await say(too_big_text())
        return None
    try:
        telegram_file = await context.bot.get_file(media.file_id)
        data = bytes(await telegram_file.download_as_bytearray())
    except BadRequest as exc:
        log.warning("file download refused: %s", type(exc).__name__)
        await say(_("I could not receive this file. Please send it again."))
        return None
    if len(data) > MAX_FILE:
        await say(too_big_text())
        return None
    mime = type_of(kind, data)  # from the bytes, never from what her app declared
    if mime is None:
        log.info("a %s refused: its bytes are no type that is kept", kind)
        await say(wrong_type_text())
        return None
    return await seal_received(
        context,
        kind,
        data,
        say,
        case_id=case_id,
        followup_id=followup_id,
        # Sealed in the file's record, never kept in the clear (bot/file_record.py).
        mime=mime,
        name=getattr(media, "file_name", None),
        origin=origin,
    )


async def seal_received(
    context: AigaqContext,
    kind: str,
    data: bytes,
    say: Say,
    *,
    case_id: int | None = None,
    followup_id: int | None = None,
    mime: str | None = None,
    name: str | None = None,
    origin: Origin | None = None,
) -> str | None:
    """Seal what she sent (a file, or a written follow-up answer); None if not ready."""
    try:
        return await context.services.cases.seal_attachment(
            kind,
            data,
            case_id=case_id,
            followup_id=followup_id,
            mime=mime,
            name=name,
            origin=origin,
        )
    except FollowUpClosed:
        raise Closed from None
    except NoRecipients:
        log.error("no active reviewer key: a file could not be sealed")
        await say(not_ready_text())
        return None
    finally:
        del data


async def acknowledge_file(
    update: Update, context: AigaqContext, draft: Draft, kind: str, count: int
) -> str:
    """A file arrived at the evidence step: say so, and ask which person it is about and what
    it is (skippable: Done or another file move on)."""
    texts = {
        "photo": _("Photo {number} received."),
        "document": _("Document {number} received."),
        "voice": _("Voice message {number} received."),
        "video": _("Video {number} received."),
    }
    asked = file_tags.question(draft, len(draft["evidence"]) - 1)
    received = texts[kind].format(number=count) + " " + _("Send more, or press Done.")
    if kind == "photo" and not draft.get("told_photo"):
        # Telegram re-encodes a photo: said once, so that a document reaches us as it was.
        draft["told_photo"] = True
        received += "\n\n" + _(
            "Telegram makes photos smaller. If you have the picture of a document, please "
            "also send it as a file (paper clip, then File): that keeps the original."
        )
    await say(update, context, received + "\n\n" + asked.text, asked.buttons)
    return INTAKE


async def file_described(update: Update, context: AigaqContext, draft: Draft, value: str) -> str:
    """Her answer about a file: the next question about it, or back to sending files."""
    try:
        asked = file_tags.describe_file(draft, value)
    except intake.IntakeError as exc:
        await say(update, context, _(exc.message))
        return INTAKE
    if asked is not None:
        await say(update, context, asked.text, asked.buttons)
        return INTAKE
    done = [[(_(intake.LABELS[intake.DONE]), intake.callback("evidence", intake.DONE))]]
    await say(update, context, _("Noted. Send more, or press Done."), done)
    return INTAKE


def caps_of(context: AigaqContext) -> DraftCaps:
    """The caps on what one draft, and one account in a day, may hold (bot/settings.py)."""
    settings = context.services.settings
    return context.services.flood_gate.caps(
        settings.max_draft_pieces, settings.max_draft_files, settings.max_draft_mb
    )


def over_cap(context: AigaqContext, user_id: int, draft: Draft) -> None:
    """One more story piece: raise IntakeError (said to her, nothing lost) over a cap."""
    over = caps_of(context).piece(user_id, len(draft["narrative"]))
    if over is not None:
        raise intake.IntakeError(over[0], count=over[1])


async def receive_into_draft(
    update: Update, context: AigaqContext, media: Any, kind: str
) -> str | None:
    """A draft's file, sealed at once; None if refused (a cap on the draft or the day, or
    one of receive_file's checks), said to her in her language."""

    async def tell(text: str) -> None:
        await say(update, context, text)

    draft = draft_of(context)
    user = update.effective_user
    size = int(getattr(media, "file_size", 0) or 0)
    if draft is not None and user is not None:
        held = len(draft.get("files", []))
        over = caps_of(context).file(user.id, draft.get("id", ""), held, size)
        if over is not None:
            await tell(_(over[0]).format(count=over[1], mb=over[1]))
            return None
    origin = origin_of(update.effective_message, media)
    uid = await receive_file(context, media, kind, tell, origin=origin)
    if uid is None and draft is not None and user is not None:
        # Refused (type, size, download, no keys): it does not use up her caps.
        caps_of(context).refund(user.id, draft.get("id", ""), size)
    if uid is not None and draft is not None:
        # Every file she sent is named by her draft, replaced ones too, never by her account:
        # /cancel and Submit delete those no answer names any more.
        draft.setdefault("files", []).append(uid)
    return uid
