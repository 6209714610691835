"""Duplicates are found on the reviewer's machine, from her own encrypted index: updated by
opening only new cases, blocked before fuzzy matching, unreadable without her key."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.crypto import open_sealed
from bot.models import Case, CaseStatus
from bot.reviewing import duplicates
from bot.reviewing.cases import Reviewer, ReviewError
from bot.reviewing.duplicate_index import SAME_ID, SAME_NAME, SIMILAR_NAME, DuplicateIndex
from bot.reviewing.keys import ReviewerKey
from bot.services.answers import fold_name
from bot.services.retention import shred_case
from tests.harness import Harness
from tests.scenario import PERSONS, walk_intake

LATIN = dict(PERSONS[0], name="Erlan Nurgaliuly", alt=None)
OTHER = dict(PERSONS[1], name="Serik Bekbolatuly", id_number=None)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The uids of the cases the index really opens (an HPKE unwrap and a decryption each)."""
    opened: list[str] = []

    def counted(sealed: bytes, wrapped: bytes, key: Any, *, object_id: str, kind: str) -> bytes:
        opened.append(object_id)
        return open_sealed(sealed, wrapped, key, object_id=object_id, kind=kind)

    monkeypatch.setattr(duplicates, "open_sealed", counted)
    return opened


async def _uid(harness: Harness, code: str) -> str:
    async with harness.services.sessionmaker() as session:
        return (await session.scalars(select(Case.uid).where(Case.code == code))).one()


def _reviewer(harness: Harness, index: Path) -> Reviewer:
    return Reviewer(harness.services.sessionmaker, harness.reviewer, duplicate_index=index)


async def test_the_index_is_updated_by_opening_only_new_cases(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "reviewer.key.duplicates"
    first = await walk_intake(
        harness.user(user_id=7500, language_code="ru"), locale="ru", persons=PERSONS[:1]
    )
    second = await walk_intake(
        harness.user(user_id=7501, language_code="en"), locale="en", persons=[LATIN]
    )
    reviewer = _reviewer(harness, index)
    opened = _counting(monkeypatch)
    assert (await reviewer.duplicates.update()).opened == 2
    assert sorted(opened) == sorted([await _uid(harness, first), await _uid(harness, second)])
    assert await reviewer.duplicates.find() == [(min(first, second), max(first, second), SAME_NAME)]
    assert stat.S_IMODE(index.stat().st_mode) == 0o600

    # Nothing new: nothing opened, in this process or the next one (the file is kept).
    opened.clear()
    assert (await reviewer.duplicates.update()).opened == 0
    later = _reviewer(harness, index)
    assert set(await later.duplicates.search("ЕРЛАН нұрғалиұлы")) == {first, second}
    assert opened == []

    # One new case: exactly one opened.
    third = await walk_intake(
        harness.user(user_id=7502, language_code="kk"), locale="kk", persons=[OTHER]
    )
    update = await later.duplicates.update()
    assert (update.opened, update.dropped, update.indexed) == (1, 0, 3)
    assert opened == [await _uid(harness, third)]
    queue = {item.code: item.duplicate for item in await later.queue()}
    assert queue == {first: True, second: True, third: False}
    assert len(opened) == 1  # the queue used the index, opened nothing

    # A withdrawn case leaves the index, and its pairs with it.
    async with harness.services.sessionmaker() as session, session.begin():
        case = (await session.scalars(select(Case).where(Case.code == first))).one()
        await shred_case(session, case, CaseStatus.WITHDRAWN)
    update = await later.duplicates.update()
    assert (update.opened, update.dropped, update.indexed) == (0, 1, 2)
    assert await later.duplicates.find() == []


async def test_the_index_file_opens_only_with_her_key(harness: Harness, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    code = await walk_intake(
        harness.user(user_id=7510, language_code="ru"), locale="ru", persons=PERSONS[:1]
    )
    await _reviewer(harness, index).duplicates.update()
    raw = index.read_bytes()
    for secret in (fold_name(PERSONS[0]["name"]), code, "654321198501011234", "ili", "1985"):
        assert secret.encode() not in raw
    # Another reviewer's key (another key file, another machine) cannot read it.
    stranger = Reviewer(
        harness.services.sessionmaker, ReviewerKey.generate(), duplicate_index=index
    )
    with pytest.raises(ReviewError, match="another key"):
        await stranger.duplicates.find()
    altered = bytearray(raw)
    altered[-1] ^= 1
    index.write_bytes(bytes(altered))
    with pytest.raises(ReviewError, match="altered or damaged"):
        await _reviewer(harness, index).duplicates.find()
    # Deleted, it is rebuilt from the cases.
    index.unlink()
    assert (await _reviewer(harness, index).duplicates.update()).opened == 1


def _case(index: DuplicateIndex, case_id: int, *people: dict[str, Any]) -> None:
    index.add(case_id, f"CASE-{case_id:04d}", {"detainees": list(people)})


def _person(
    name: str, year: int | None, town: str | None, id_number: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "birth_year": {"year": year, "precision": "year"} if year else None,
        "hometown": town,
        "id_number": id_number,
    }


def test_blocking_same_id_number_and_similar_names_only_within_year_and_town() -> None:
    index = DuplicateIndex("k")
    _case(index, 1, _person("Ерлан Нұрғалиұлы", 1985, "ili", "654321 19850101 1234"))
    # The same ID number under another name: found by the number.
    _case(index, 2, _person("Nurgali Erlanovich", 1986, "altay", "654321198501011234"))
    # A close spelling, the same year and town: similar.
    _case(index, 3, _person("Yerlan Nurgaliuly", 1985, "ili"))
    # That spelling again, another year: the same name as case 3, never compared with case 1.
    _case(index, 4, _person("Yerlan Nurgaliuly", 1990, "ili"))
    # "I don't know" is no ID number, however many say it.
    _case(index, 5, _person("Айгүл Серікқызы", None, None, "білмеймін"))
    _case(index, 6, _person("Гүлнар Бекқызы", None, None, "білмеймін"))
    assert index.pairs() == [
        ("CASE-0001", "CASE-0002", SAME_ID),
        ("CASE-0001", "CASE-0003", SIMILAR_NAME),
        ("CASE-0003", "CASE-0004", SAME_NAME),
    ]
    assert index.search("ЕРЛАН нұрғалиұлы") == ["CASE-0001", "CASE-0003", "CASE-0004"]
    assert index.drop([3, 4]) == 2 and index.search("Yerlan Nurgaliuly") == ["CASE-0001"]
