"""Receipts: what shows that a case is hers, instead of a link between her account and it.

At Submit she gets a receipt — 16 Crockford base32 characters (80 random bits) in four
groups — that has nothing to do with the public case code (which goes into UN drafts and
exports). The server keeps only its SHA-256, so a seized database does not say which account
filed which case. `/status RECEIPT` and `/withdraw RECEIPT` work from any account. Wrong
receipts are counted in this process's memory only (never in the database), per account and
overall; too many in an hour block further tries, and the team is told once. The bot signs
each hash together with its case's code with its intake key, so a hash moved to another case
in the database finds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto.intake import IntakeSigner
from bot.models import Case, CaseStatus, utcnow
from bot.services import audit

log = logging.getLogger(__name__)

# Crockford's base32: no I, L, O or U; what she types is forgiven (O→0, I/L→1, any case).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16  # 80 bits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Cyrillic letters that look like Latin ones, as a Kazakh or Russian keyboard types them when
# she copies the code from paper (О is read as the digit 0, like O).
_LOOK_ALIKES = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "0",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "У": "Y",
    }
)


def new_receipt() -> str:
    """A fresh receipt like 7K2M-Q9XD-3HPA-V0TC."""
    value = secrets.randbits(5 * LENGTH)
    raw = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise_receipt(text: str) -> str | None:
    """What she typed, as a receipt (spaces, dashes and case forgiven); None if it is not
    one (a case code included)."""
    typed = unicodedata.normalize("NFKC", text).upper().translate(_LOOK_ALIKES)
    # Digits in any script (Arabic-Indic, Persian) as the digits they are.
    digits = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in typed)
    raw = "".join(ch for ch in digits if ch.isalnum()).translate(_READ_AS)
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def receipt_hash(receipt: str) -> str:
    """What the server stores: SHA-256 of the receipt's 16 characters. 80 random bits need
    no key or slow hash: there is nothing to guess from."""
    raw = receipt.replace("-", "")
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Found:
    case_id: int
    code: str
    status: CaseStatus


async def find(
    sessionmaker: async_sessionmaker[AsyncSession], receipt: str, signer: IntakeSigner
) -> Found | None:
    """The case this receipt belongs to, if any: only if the bot's intake key signed the
    hash together with that case's code (a hash moved to another case in the database is
    refused, and the refusal audited)."""
    digest = receipt_hash(receipt)
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(Case.id, Case.uid, Case.code, Case.status, Case.receipt_sig).where(
                    Case.receipt_hash == digest
                )
            )
        ).first()
    if row is None:
        return None
    case_id, uid, code, status, signature = row
    if not signer.receipt_bound(uid, code, digest, signature):
        log.warning("a receipt's hash is not bound to its case %s: refused", code)
        async with sessionmaker() as session, session.begin():
            await audit.record(session, actor="bot", action="receipt.unbound", target=code)
        return None
    return Found(case_id, code, status)


async def bind_earlier(
    sessionmaker: async_sessionmaker[AsyncSession], signer: IntakeSigner, done: Path
) -> int:
    """The one-time step after revision 0019: sign the receipts of cases submitted before.
    Run once, then remembered in `done` (a file beside the intake key, not the database, so
    a database writer cannot make the bot sign a hash he moved). Returns how many."""
    if _marked(done):
        return 0
    bound = 0
    async with sessionmaker() as session, session.begin():
        for case in await session.scalars(
            select(Case).where(Case.receipt_hash.is_not(None), Case.receipt_sig.is_(None))
        ):
            case.receipt_sig = signer.bind_receipt(case.uid, case.code, str(case.receipt_hash))
            bound += 1
    _mark(done, bound)
    if bound:
        log.info("signed the receipt codes of %d earlier cases", bound)
    return bound


async def rebind_all(sessionmaker: async_sessionmaker[AsyncSession], signer: IntakeSigner) -> int:
    """After the intake key was replaced (docs/deploy.md, if the server is seized): sign
    every receipt hash again with the new key, once the team has decided to trust what the
    database holds. Returns how many."""
    bound = 0
    async with sessionmaker() as session, session.begin():
        for case in await session.scalars(select(Case).where(Case.receipt_hash.is_not(None))):
            case.receipt_sig = signer.bind_receipt(case.uid, case.code, str(case.receipt_hash))
            bound += 1
        await audit.record(session, actor="cli", action="receipts.rebound", detail={"cases": bound})
    return bound


def _marked(done: Path) -> bool:
    return done.exists()


def _mark(done: Path, bound: int) -> None:
    done.write_text(f"receipts signed: {bound}\n", encoding="utf-8")


@dataclass
class Attempts:
    """Wrong receipts in the last hour, in memory: per Telegram account and overall."""

    per_account: int = 5
    overall: int = 100
    window: timedelta = timedelta(hours=1)
    _mine: dict[int, deque[datetime]] = field(default_factory=dict)
    _all: deque[datetime] = field(default_factory=deque)
    _alerted: datetime | None = None

    def _prune(self, now: datetime) -> None:
        since = now - self.window
        while self._all and self._all[0] <= since:
            self._all.popleft()
        for user_id in list(self._mine):
            times = self._mine[user_id]
            while times and times[0] <= since:
                times.popleft()
            if not times:
                del self._mine[user_id]

    def blocked(self, user_id: int, now: datetime | None = None) -> bool:
        """Too many wrong receipts from her within the window. Many from everyone only alert
        the team (`failed`): 80 random bits are not guessed, and blocking everyone would let
        a few throwaway accounts stop every relative from withdrawing."""
        self._prune(now or utcnow())
        return len(self._mine.get(user_id, ())) >= self.per_account

    def failed(self, user_id: int, now: datetime | None = None) -> bool:
        """Count one wrong receipt; True the first time in a window that the overall limit is
        reached (someone may be guessing: the team is told)."""
        moment = now or utcnow()
        self._prune(moment)
        self._mine.setdefault(user_id, deque()).append(moment)
        self._all.append(moment)
        if len(self._all) < self.overall:
            return False
        if self._alerted is not None and self._alerted > moment - self.window:
            return False
        self._alerted = moment
        return True


@dataclass
class Confirmations:
    """A withdrawal waiting for her "Yes": a random nonce in the button (never the receipt),
    valid for one use, for the account that asked, for ten minutes."""

    lifetime: timedelta = timedelta(minutes=10)
    _waiting: dict[str, tuple[int, int, datetime]] = field(default_factory=dict)

    def offer(self, user_id: int, case_id: int, now: datetime | None = None) -> str:
        moment = now or utcnow()
        self._waiting = {k: v for k, v in self._waiting.items() if v[2] > moment}
        nonce = secrets.token_urlsafe(12)
        self._waiting[nonce] = (user_id, case_id, moment + self.lifetime)
        return nonce

    def take(self, user_id: int, nonce: str, now: datetime | None = None) -> int | None:
        """The case to withdraw, or None (unknown, expired, used, or another account's)."""
        waiting = self._waiting.get(nonce)
        if waiting is None or waiting[0] != user_id:
            return None
        del self._waiting[nonce]
        return waiting[1] if waiting[2] > (now or utcnow()) else None
