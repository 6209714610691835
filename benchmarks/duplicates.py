"""The reviewer-side duplicate check at 10,000 cases: her local index, built and updated.

    .venv/bin/python benchmarks/duplicates.py [--cases 10000] [--new 10]

Seals synthetic cases straight into a SQLite database with a test key (as benchmarks/export.py
does): Kazakh names in Cyrillic, Latin or Chinese, birth years 1940-2000, the seven
hometowns, an ID number for most, and one case in fifty a second report of an earlier
person under another spelling. Then, as the reviewer's tools run it, prints: building the
index from nothing (every case opened), the index file's size, an update after `--new` more
cases arrive (a new process: the file loaded, only the new cases opened), `find()` over all
of them, one `search(name)`, the queue with its duplicate flags, and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot import db
from bot.choices import PREFECTURES
from bot.crypto import seal
from bot.models import Case, CaseStatus, Recipient, SealedKey, utcnow
from bot.reviewing.cases import Reviewer
from bot.reviewing.duplicate_index import DuplicateIndex
from bot.reviewing.keys import ReviewerKey

# Given names and fathers' names from Kazakh syllables: 18 x 16 = 288 of each, so a name and
# patronymic repeat about as often as they do among real detainees (some, not most).
STARTS = (
    "Ер",
    "Сер",
    "Қай",
    "Бау",
    "Нұр",
    "Ас",
    "Дәу",
    "Мұ",
    "Ай",
    "Гүл",
    "Сә",
    "Жан",
    "Бек",
    "Тө",
    "Қа",
    "Ал",
    "Ба",
    "Да",
)
ENDS = (
    "лан",
    "ік",
    "рат",
    "ыржан",
    "хат",
    "рен",
    "жан",
    "бол",
    "ғали",
    "ман",
    "нар",
    "ле",
    "ғұл",
    "тай",
    "сын",
    "әлі",
)
NAMES = [start + end for start in STARTS for end in ENDS]
LATIN = str.maketrans("ӘҒҚҢӨҰҮҺІәғқңөұүһіЕе", "AGKNOUUHIagknouuhiEe")
# Characters Kazakh names are written with in Chinese: a name is 2-4 of them.
CHINESE = "叶尔兰赛力克凯拉特努哈别波提阿斯汗木巴古丽达吾江加买合沙"
TOWNS = [code for code, _label in PREFECTURES]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def person(rng: random.Random) -> dict[str, Any]:
    first, father = rng.choice(NAMES), rng.choice(NAMES)
    name = f"{first} {father}{rng.choice(['ұлы', 'қызы', 'ов', ''])}"
    if rng.random() < 0.2:  # written in Latin letters (as far as the table goes)
        name = name.translate(LATIN)
    detainee: dict[str, Any] = {
        "name": name,
        "birth_year": {"year": rng.randint(1940, 2000), "precision": "year"},
        "hometown": rng.choice(TOWNS),
        "status": "camp",
    }
    if rng.random() < 0.3:
        parts = ["".join(rng.sample(CHINESE, rng.randint(2, 4))) for _ in range(2)]
        detainee["name_alt"] = "·".join(parts)
    if rng.random() < 0.6:
        detainee["id_number"] = f"65{rng.randint(10**15, 10**16 - 1)}"
    return detainee


def payload(code: str, detainees: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "code": code,
            "locale": "kk",
            "submitted_at": "2026-11-23T10:00:00",
            "testifier": {"relation": "mother"},
            "detainees": detainees,
            "narrative": [{"text": "Менің ұлым 2018 жылы ұсталды. " * 40}],
            "consent": {"contact": False, "sharing": "organisations", "subscribe": False},
        },
        ensure_ascii=False,
    ).encode()


async def add_cases(url: str, key: ReviewerKey, count: int, rng: random.Random) -> str:
    """Seal `count` cases; returns one detainee's name, to search for."""
    engine = db.create_engine(url)
    public = key.public()
    seen: list[dict[str, Any]] = []
    async with engine.begin() as connection:
        recipient = await connection.scalar(
            Recipient.__table__.select()
            .with_only_columns(Recipient.id)
            .where(Recipient.key_id == key.key_id)
        )
        if recipient is None:
            recipient = (
                await connection.execute(
                    insert(Recipient)
                    .values(
                        key_id=key.key_id,
                        suite=key.suite,
                        public_key=public.public_bytes,
                        label="bench",
                        active=True,
                        added_at=utcnow(),
                    )
                    .returning(Recipient.id)
                )
            ).scalar_one()
        cases, keys = [], []
        for _ in range(count):
            people = [person(rng) for _ in range(1 if rng.random() < 0.8 else 2)]
            if seen and rng.random() < 0.02:  # the same person reported again, misspelt
                again = dict(rng.choice(seen))
                cut = rng.randrange(1, len(again["name"]))
                again["name"] = again["name"][:cut] + again["name"][cut + 1 :]
                if rng.random() < 0.5:  # and without his ID number
                    again.pop("id_number", None)
                people[0] = again
            seen.extend(people)
            code = f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
            uid = secrets.token_hex(16)
            sealed = seal(payload(code, people), [public], object_id=uid, kind="case")
            cases.append(
                {
                    "uid": uid,
                    "code": code,
                    "status": CaseStatus.RECEIVED,
                    "locale": "kk",
                    "schema_version": 1,
                    "payload": sealed.ciphertext,
                    "detainee_count": len(people),
                    "attachment_count": 0,
                    "consent_contact": False,
                    "consent_sharing": "organisations",
                    "grade": "reported",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
            keys.append(
                {
                    "kind": "case",
                    "object_uid": uid,
                    "recipient_id": recipient,
                    "wrapped_key": sealed.wrapped_keys[key.key_id],
                }
            )
        await connection.execute(insert(Case), cases)
        await connection.execute(insert(SealedKey), keys)
    await engine.dispose()
    return str(seen[0]["name"])


async def timed(label: str, action: Any) -> Any:
    start = time.perf_counter()
    result = await action
    print(f"{label:<52} {time.perf_counter() - start:8.3f} s")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(2026)
    key = ReviewerKey.generate()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite+aiosqlite:///{folder}/cases.db"
        index = folder / "reviewer.key.duplicates"
        await db.upgrade(url)
        start = time.perf_counter()
        wanted = await add_cases(url, key, args.cases, rng)
        print(f"sealed {args.cases} cases in {time.perf_counter() - start:.0f} s")
        engine = db.create_engine(url)
        sessionmaker = db.make_sessionmaker(engine)

        first = Reviewer(sessionmaker, key, duplicate_index=index)
        built = await timed(
            f"index built from nothing ({args.cases} cases opened)", first.duplicates.update()
        )
        print(f"{'index file':<52} {index.stat().st_size / 1e6:8.2f} MB ({built.indexed} cases)")

        await add_cases(url, key, args.new, rng)
        later = Reviewer(sessionmaker, key, duplicate_index=index)  # her next session
        update = await timed(
            f"update after {args.new} new cases (file loaded, new opened)",
            later.duplicates.update(),
        )
        assert update.opened == args.new, update
        again = await timed("update with nothing new", later.duplicates.update())
        assert again.opened == 0, again
        pairs = await timed("find() over every case", later.duplicates.find())
        reasons: dict[str, int] = {}
        for _a, _b, why in pairs:
            reasons[why] = reasons.get(why, 0) + 1
        print(f"{'pairs found':<52} {len(pairs):8d} {reasons}")
        hits = await timed("search(name)", later.duplicates.search(wanted))
        print(f"{'cases found by the search':<52} {len(hits):8d}")
        queue = await timed("queue() with duplicate flags", later.queue())
        flagged = sum(item.duplicate for item in queue)
        print(f"{'queue':<52} {len(queue):8d} cases, {flagged} flagged")
        await engine.dispose()
        tracemalloc.start()
        loaded = DuplicateIndex.load(index, key)
        size, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{'the index in memory, loaded':<52} {size / 2**20:8.1f} MiB ({len(loaded.entries)})"
        )
    print(f"{'peak RSS':<52} {rss_mib():8.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
