"""The real Application over the in-process fake Bot API, a real database and real keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from bot.app import build_application
from bot.context import AigaqApplication
from bot.crypto import RecipientPublicKey, ServerKey, StreamOpener, open_sealed
from bot.crypto.delivery import DeliveryKeyring, signing_key_file
from bot.crypto.intake import IntakeSigner
from bot.crypto.roster import Reviewer as ListedReviewer
from bot.crypto.roster import read_roster, write_roster
from bot.draft_pieces import DraftPiece
from bot.localapi import FakeUser, LocalBotApi
from bot.models import Attachment, AttachmentChunk, Case, Recipient, SealedKey
from bot.reviewing.cases import Reviewer
from bot.reviewing.keys import ReviewerKey
from bot.reviewing.opening import TeamKeys
from bot.reviewing.requests import Requests
from bot.reviewing.roster_pin import RosterPin
from bot.settings import Settings

TOKEN = "123456:TEST-token"
# Key id -> export-signing public key of every reviewer key made in this test run (tests/
# conftest.py records them), so a roster can list it as an admin's would.
SIGNING_KEYS: dict[str, Ed25519PublicKey] = {}
ORGANISATION = "Test Witness Project"


@dataclass
class Harness:
    """One bot as Telegram would see it, plus what a reviewer needs to check the result."""

    settings: Settings
    api: LocalBotApi
    reviewer: ReviewerKey
    app: AigaqApplication | None = None
    rate_limit: bool = True
    # The fake Bot API has no pace to keep: the limiter runs, without Telegram's 30 a second
    # (a walk through the dialogue is some sixty calls).
    overall_rate: float = 1000.0
    users: list[FakeUser] = field(default_factory=list)

    async def start(self) -> AigaqApplication:
        self.app = build_application(
            self.settings,
            request=self.api,
            rate_limit=self.rate_limit,
            overall_rate=self.overall_rate,
        )
        await self.app.initialize()
        if self.app.post_init is not None:
            await self.app.post_init(self.app)
        return self.app

    async def stop(self, *, clean: bool = True) -> None:
        """Stop the bot; `clean=False` skips the final persistence write, like kill -9."""
        if self.app is None:
            return
        app, self.app = self.app, None
        if clean:
            await app.shutdown()
        # Unclean, like kill -9: nothing is flushed; only the connections go.
        await app.services.engine.dispose()

    async def restart(self, *, clean: bool = False) -> AigaqApplication:
        """A new Application over the same database and keys."""
        await self.stop(clean=clean)
        app = await self.start()
        for user in self.users:
            user.application = app
        return app

    def user(self, user_id: int = 1001, language_code: str = "kk", **kwargs: Any) -> FakeUser:
        assert self.app is not None
        user = self.api.user(user_id=user_id, language_code=language_code, **kwargs)
        user.application = self.app
        self.users.append(user)
        return user

    @property
    def services(self) -> Any:
        assert self.app is not None
        return self.app.services

    @property
    def inbox_fingerprint(self) -> str:
        """What `aigaq keys inbox` prints for this bot, and a reviewer pins: the fingerprint
        of the key that certifies its delivery keys."""
        return DeliveryKeyring(self.settings.delivery_folder()).fingerprint

    @property
    def intake_fingerprint(self) -> str:
        """What `aigaq keys intake` prints for this bot: the key that signs case manifests."""
        return IntakeSigner(self.settings.intake_key()).fingerprint

    async def sign_roster(
        self, keys: list[RecipientPublicKey], signers: dict[str, str] | None = None
    ) -> None:
        """An admin signs the next roster version with these reviewer keys, and the running
        bot reads it (as it does at its next start or daily round)."""
        current = read_roster(self.settings.roster, self.settings.roster_key)
        write_roster(
            self.settings.roster,
            self.roster_key,
            [self.listed(key) for key in keys],
            version=current.version + 1,
            signers=signers,
        )
        await self.services.team.load()

    def listed(self, key: RecipientPublicKey) -> ListedReviewer:
        """A roster entry with her export-signing key, as `aigaq keys generate` prints it
        beside her public key (for a key made in this test run); the bot takes her signed
        requests only from a key the roster lists."""
        return ListedReviewer(key, SIGNING_KEYS.get(key.key_id))

    def requests_of(self, key: ReviewerKey) -> Requests:
        """This reviewer's signed requests, for the roster her tools pinned."""
        return Requests(self.services.sessionmaker, key, self.roster_pin(key))

    @property
    def roster_key(self) -> Ed25519PrivateKey:
        """The test's throw-away roster key (kept beside the other test files)."""
        return signing_key_file(
            self.settings.roster.parent / "admin-laptop" / "roster-signing.key", unwritable=""
        )

    def reviewer_tool(self) -> Reviewer:
        """The reviewer's tools with the test key, the bot's delivery signing key pinned and
        the team key list (the recipients file) on her machine."""
        return Reviewer(
            self.services.sessionmaker,
            self.reviewer,
            inbox_fingerprint=self.inbox_fingerprint,
            team_keys=self.settings.recipients,
            intake_fingerprint=self.intake_fingerprint,
            roster_pin=self.roster_pin(self.reviewer),
            memory=self.roster_pin(self.reviewer).key_file.with_suffix(".memory"),
        )

    def roster_pin(self, key: ReviewerKey) -> RosterPin:
        """Where this reviewer's tools pin the roster key: beside her (test) key file."""
        folder = self.settings.roster.parent / "reviewers"
        folder.mkdir(exist_ok=True)
        return RosterPin(folder / f"{key.key_id}.key", self.settings.roster_key)

    def team_of(self, key: ReviewerKey) -> TeamKeys:
        """The keys this reviewer's tools trust: the signed roster, pinned."""
        return TeamKeys(
            self.services.sessionmaker, key.key_id, self.settings.recipients, self.roster_pin(key)
        )

    async def wrapped_key(self, kind: str, uid: str) -> bytes | None:
        """The object's data key as wrapped for the test reviewer's key."""
        async with self.services.sessionmaker() as session:
            return await session.scalar(
                select(SealedKey.wrapped_key)
                .join(Recipient, Recipient.id == SealedKey.recipient_id)
                .where(
                    SealedKey.kind == kind,
                    SealedKey.object_uid == uid,
                    Recipient.key_id == self.reviewer.key_id,
                )
            )

    async def open_case(self, code: str) -> dict[str, Any]:
        """What the reviewer will read: the sealed case opened with the test key (a signed
        manifest checked and put together from its sealed pieces, as reviewer tools do)."""
        async with self.services.sessionmaker() as session:
            case = (await session.scalars(select(Case).where(Case.code == code))).one()
        wrapped = await self.wrapped_key("case", case.uid)
        assert case.payload is not None and wrapped is not None
        plain = open_sealed(case.payload, wrapped, self.reviewer, object_id=case.uid, kind="case")
        async with self.services.sessionmaker() as session:
            return await self.reviewer_tool().record(session, case.id, case.code, case.uid, plain)

    async def open_piece(self, ref: Any) -> Any:
        """A draft's sealed answer (its reference `{"piece": uid, ...}`), opened with the test
        key the way reviewer tools open it."""
        async with self.services.sessionmaker() as session:
            sealed = await session.scalar(
                select(DraftPiece.sealed).where(DraftPiece.uid == ref["piece"])
            )
        wrapped = await self.wrapped_key("answer", ref["piece"])
        assert sealed is not None and wrapped is not None
        return json.loads(
            open_sealed(sealed, wrapped, self.reviewer, object_id=ref["piece"], kind="answer")
        )

    async def open_attachment(self, uid: str) -> bytes:
        """An attachment's plaintext, opened chunk by chunk with the test key."""
        async with self.services.sessionmaker() as session:
            attachment = (
                await session.scalars(select(Attachment).where(Attachment.uid == uid))
            ).one()
            chunks = list(
                await session.scalars(
                    select(AttachmentChunk.data)
                    .where(AttachmentChunk.attachment_id == attachment.id)
                    .order_by(AttachmentChunk.seq)
                )
            )
        wrapped = await self.wrapped_key("attachment", uid)
        assert wrapped is not None
        opener = StreamOpener(
            attachment.header, wrapped, self.reviewer, object_id=uid, kind="attachment"
        )
        return b"".join(opener.open_chunks(chunks))


def make_settings(
    tmp_path: Path, database_url: str, **overrides: Any
) -> tuple[Settings, ReviewerKey]:
    """Settings for a test bot, with a fresh server key and a fresh reviewer key."""
    server_key = tmp_path / "server.key"
    if not server_key.exists():
        ServerKey.generate_file(server_key)
    reviewer = ReviewerKey.generate()
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(reviewer.public().to_line() + "\n", encoding="utf-8")
    # A throw-away roster key signs a roster of the test reviewer.
    roster = tmp_path / "roster.json"
    # Not beside the server's files: `aigaq doctor` fails when the roster key is there.
    signing = signing_key_file(tmp_path / "admin-laptop" / "roster-signing.key", unwritable="")
    listed = ListedReviewer(reviewer.public(), reviewer.signing_key().public_key())
    roster_key = write_roster(roster, signing, [listed])
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": database_url,
        "recipients": recipients,
        "roster": roster,
        "roster_key": roster_key,
        "secret_key_file": server_key,
        "default_locale": "kk",
        "organisation": ORGANISATION,
        "max_messages_per_minute": 10_000,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values), reviewer
