"""A seized server, measured: what its database and its server key tell about who testified.

`seize(url, key_path)` takes a copy of the database the way someone who seized the server
would (SQLite: the file with its write-ahead log and shared memory, copied, opened read-only,
and its raw bytes; PostgreSQL: every table read through SQLAlchemy and, if `pg_dump` is on
PATH, a logical dump's text), then opens every value the server key opens: every bytes value
under every context string the code uses (`context="…"` in bot/ and handlers/, and
`draft:<kind>:<name>` for every draft slot the table names), and every sealed object one of
the bot's delivery keys (their files beside the server key) still holds a wrapped key for.

`findings(seized, given)` searches all of it for what the test's relatives gave — their
Telegram ids and names, their pseudonyms and draft refs computed with the seized key, every
typed answer, the detainees' names folded and hashed (SHA-256, every birth year tried), their
files' SHA-256, sizes (also as their sealed chunks give them away) and names, the exact times
of what they did — and returns one `Finding` per kind of fact, column and means.
tests/test_seizure.py compares them with docs/data.md.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot import db
from bot.crypto import CryptoError, DeliveryKey, ServerKey, StreamOpener, open_sealed
from bot.crypto.delivery import DeliveryKeyring
from bot.services.answers import fold_name

ROOT = Path(__file__).resolve().parent.parent
PLAIN, SERVER_KEY, DELIVERY_KEY, HASHED = (
    "plain",
    "server key",
    "delivery key",
    "hash with server key",
)
# Sealed objects a delivery key may hold a wrapped copy of: kind -> (table, uid column, blob).
SEALED_BLOBS = {
    "case": ("cases", "uid", "payload"),
    "note": ("case_notes", "uid", "sealed_note"),
    "question": ("followups", "uid", "sealed_question"),
    "contact": ("cases", "uid", "contact"),
    "delivery": ("deliveries", "uid", "sealed"),
    "file_record": ("attachments", "uid", "record"),
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$")
# Birth years an attacker who knows a name would try beside it.
YEARS = range(1900, 2031)


class Finding(NamedTuple):
    """One kind of fact a seized server shows: what, in which column, and by what means
    ("plain", "server key", "delivery key" or "hash with server key")."""

    fact: str
    where: str
    how: str


@dataclass(frozen=True)
class Cell:
    """One value of the copy: a column's value, or a plaintext the seized keys opened."""

    where: str  # table.column
    row: str
    how: str
    value: Any
    context: str | None = None


@dataclass
class Seized:
    """Everything the copy holds, and everything the key opens."""

    key: ServerKey
    backend: str
    tables: dict[str, list[dict[str, Any]]]
    cells: list[Cell]
    raw: bytes | None = None  # SQLite: the files' bytes; PostgreSQL: pg_dump's text
    raw_source: str = ""
    unopened: dict[str, int] = field(default_factory=dict)  # bytes nothing opens, per column
    delivery: list[DeliveryKey] = field(default_factory=list)  # the bot's delivery key files


@dataclass(frozen=True)
class Act:
    """Something a relative did, and when (the window the test measured around it)."""

    what: str  # "submit", "withdrawal", "follow-up answer"
    start: datetime
    end: datetime


@dataclass
class Relative:
    """What one relative gave the bot, as the test knows it."""

    label: str
    user_id: int
    first_name: str
    username: str | None = None
    answers: list[str] = field(default_factory=list)
    detainees: list[str] = field(default_factory=list)  # names typed for detainees
    files: list[bytes] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)  # as her app named the files sent
    codes: list[str] = field(default_factory=list)
    acts: list[Act] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.user_id  # a private chat's id is the user's id


@dataclass(frozen=True)
class Hit:
    """A finding with the row and the relative behind it (for messages, not for comparing)."""

    finding: Finding
    who: str
    row: str


# -- taking the copy -----------------------------------------------------------------------


async def seize(
    database_url: str, server_key_path: Path, delivery_folder: Path | None = None
) -> Seized:
    """The database, the server key and the delivery key files (in `delivery/` beside the
    server key unless named), as someone who took the server holds them."""
    key = ServerKey.load(server_key_path)
    folder = delivery_folder or server_key_path.parent / "delivery"
    delivery = [held.key for held in DeliveryKeyring(folder).held.values()]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        tables, raw = _sqlite_copy(Path(url.database))
        seized = Seized(key, "sqlite", tables, [], raw, "the database file, its WAL and -shm")
    else:
        tables = await _postgres_tables(database_url)
        dump = _pg_dump(database_url)
        source = "pg_dump" if dump is not None else ""
        seized = Seized(key, "postgresql", tables, [], dump, source)
    seized.delivery = delivery
    seized.cells = list(_cells(seized))
    return seized


def _sqlite_copy(path: Path) -> tuple[dict[str, list[dict[str, Any]]], bytes]:
    copy = Path(tempfile.mkdtemp(prefix="seized-"))
    try:
        files = sorted(path.parent.glob(path.name + "*"))  # the file, -wal, -shm
        for found in files:
            shutil.copyfile(found, copy / found.name)
        raw = b"".join((copy / found.name).read_bytes() for found in files)
        connection = sqlite3.connect(f"file:{copy / path.name}?mode=ro", uri=True)
        try:
            connection.row_factory = sqlite3.Row
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = {}
            for name in names:
                query = f'SELECT * FROM "{name}"'  # noqa: S608 (names from the catalog)
                tables[name] = [dict(row) for row in connection.execute(query)]
        finally:
            connection.close()
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    return tables, raw


async def _postgres_tables(database_url: str) -> dict[str, list[dict[str, Any]]]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: sorted(inspect(c).get_table_names()))
            tables = {}
            for name in names:
                query = text(f'SELECT * FROM "{name}"')  # noqa: S608 (names from the catalog)
                result = await connection.execute(query)
                tables[name] = [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()
    return tables


def _pg_dump(database_url: str) -> bytes | None:
    """A logical dump's text, if pg_dump is installed."""
    program = shutil.which("pg_dump")
    if program is None:
        return None
    plain = make_url(database_url).set(drivername="postgresql")
    done = subprocess.run(  # noqa: S603 (pg_dump from PATH, the test's own database)
        [program, "--no-owner", "--dbname", plain.render_as_string(hide_password=False)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


# -- opening what the key opens -----------------------------------------------------------


def code_contexts() -> set[str]:
    """Every literal context string the server code encrypts or decrypts under."""
    found = {"draft:user:"}
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(re.findall(r'context="([^"{}]*)"', path.read_text(encoding="utf-8")))
    return found


def _row_id(table: str, index: int, row: dict[str, Any]) -> str:
    for column in ("id", "name", "attachment_id"):
        if column in row:
            return f"{table}#{row[column]}"
    return f"{table}[{index}]"


def _value(value: Any) -> Any:
    """Timestamps as datetimes (SQLite hands them back as text), memoryview as bytes."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, str) and TIMESTAMP.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def _cells(seized: Seized) -> Iterator[Cell]:
    contexts = code_contexts() | {
        f"draft:{row['kind']}:{row['name']}" for row in seized.tables.get("drafts", [])
    }
    for table, rows in seized.tables.items():
        for index, row in enumerate(rows):
            ident = _row_id(table, index, row)
            for column, raw in row.items():
                value = _value(raw)
                where = f"{table}.{column}"
                yield Cell(where, ident, PLAIN, value)
                if isinstance(value, bytes) and value:
                    opened = _open_with_server_key(seized.key, value, contexts)
                    if opened is None:
                        seized.unopened[where] = seized.unopened.get(where, 0) + 1
                    else:
                        yield Cell(where, ident, SERVER_KEY, opened[1], opened[0])
    yield from _open_with_delivery_keys(seized)


def _open_with_server_key(
    key: ServerKey, value: bytes, contexts: Iterable[str]
) -> tuple[str, bytes] | None:
    for context in contexts:
        try:
            return context, key.decrypt(value, context=context)
        except CryptoError:
            continue
    return None


def _open_with_delivery_keys(seized: Seized) -> Iterator[Cell]:
    """Sealed objects whose data key is still wrapped for one of the bot's delivery keys."""
    inboxes = seized.delivery
    for held in seized.tables.get("sealed_keys", []):
        if held.get("delivery_key_id") is None:
            continue
        kind, uid, wrapped = held["kind"], held["object_uid"], bytes(held["wrapped_key"])
        for inbox in inboxes:
            try:
                if kind == "attachment":
                    yield from _open_stream(seized, uid, wrapped, inbox)
                    break
                table, uid_column, blob = SEALED_BLOBS[kind]
                for row in seized.tables[table]:
                    if row[uid_column] == uid and row[blob] is not None:
                        plain = open_sealed(
                            bytes(row[blob]), wrapped, inbox, object_id=uid, kind=kind
                        )
                        yield Cell(f"{table}.{blob}", f"{table}#{row['id']}", DELIVERY_KEY, plain)
                break
            except CryptoError:
                continue


def _open_stream(seized: Seized, uid: str, wrapped: bytes, inbox: Any) -> Iterator[Cell]:
    for row in seized.tables["attachments"]:
        if row["uid"] != uid:
            continue
        chunks = sorted(
            (c for c in seized.tables["attachment_chunks"] if c["attachment_id"] == row["id"]),
            key=lambda c: c["seq"],
        )
        opener = StreamOpener(
            bytes(row["header"]), wrapped, inbox, object_id=uid, kind="attachment"
        )
        plain = b"".join(opener.open_chunks([bytes(c["data"]) for c in chunks]))
        yield Cell("attachment_chunks.data", f"attachments#{row['id']}", DELIVERY_KEY, plain)


# -- searching it ---------------------------------------------------------------------------


def _forms(needle: str) -> list[str]:
    """A string as it may be written: itself, and JSON-escaped (ensure_ascii)."""
    escaped = json.dumps(needle)[1:-1]
    return [needle] if escaped == needle else [needle, escaped]


def _searchable(needle: str) -> bool:
    """Long enough not to turn up by chance in hex (hashes, pseudonyms, a dump's bytea)."""
    return len(needle) >= 12 or (
        len(needle) >= 4 and re.search(r"[^0-9a-fA-F]", needle) is not None
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return None


def _whole_number(number: int, haystack: str) -> bool:
    return re.search(rf"(?<![0-9]){number}(?![0-9])", haystack) is not None


def _chat_in_json(number: int, plain: str) -> bool:
    """Whether a JSON plaintext names the number under a chat key."""
    return re.search(rf'"chat(_id)?"\s*:\s*"?{number}(?![0-9])', plain) is not None


def hits(seized: Seized, given: Iterable[Relative]) -> list[Hit]:
    """Every place where a fact a relative gave can be found, with the seized key."""
    relatives = list(given)
    key = seized.key
    found: list[Hit] = []
    draft_slots = {(row["kind"], row["name"]) for row in seized.tables.get("drafts", [])}
    for person in relatives:
        ids = {person.user_id, person.chat_id}
        pseudonyms = set(key.pseudonyms("account", person.user_id))
        refs = {
            ref
            for kind, name in draft_slots
            for telegram_key in (person.user_id, [person.chat_id, person.user_id])
            for ref in key.pseudonyms(f"draft:{kind}:{name}", json.dumps(telegram_key))
        }
        typed = [a for a in person.answers if _searchable(a)]
        names = [n for n in (person.first_name, person.username) if n]
        digests = {sha256(f).hexdigest(): sha256(f).digest() for f in person.files}
        sizes = {len(f) for f in person.files}
        # Anything derived from a detainee's name: folded, and its SHA-256 with every year.
        folded_names = {folded for name in person.detainees if (folded := fold_name(name))}
        name_hashes = {
            sha256(value.encode()).hexdigest()
            for folded in folded_names
            for value in (folded, *(f"{folded}|{year}" for year in YEARS))
        }

        def hit(fact: str, cell: Cell, how: str | None = None, who: str = person.label) -> None:
            found.append(Hit(Finding(fact, cell.where, how or cell.how), who, cell.row))

        for cell in seized.cells:
            value = cell.value
            haystack = _text(value)
            if isinstance(value, int) and not isinstance(value, bool):
                if value in ids:
                    hit("telegram id", cell)
                if value in sizes and cell.how == PLAIN:
                    hit("file size", cell)
            if isinstance(value, datetime):
                for act in person.acts:
                    if _during(value, act):
                        hit(f"exact time of her {act.what}", cell)
            if isinstance(value, bytes):
                for digest in digests.values():
                    if digest in value:
                        hit("file hash", cell)
            if haystack is None:
                continue
            for number in ids:
                if _whole_number(number, haystack):
                    chat = cell.context == "chat" or _chat_in_json(number, haystack)
                    hit("chat id" if chat else "telegram id", cell)
            for pseudonym in pseudonyms | refs:
                if pseudonym in haystack:
                    hit("telegram id", cell, HASHED if cell.how == PLAIN else cell.how)
            for answer in typed:
                if any(form in haystack for form in _forms(answer)):
                    hit("typed answer", cell)
            for name in names:
                if any(form in haystack for form in _forms(name)):
                    hit("Telegram name", cell)
            for hexdigest in digests:
                if hexdigest in haystack.lower():
                    hit("file hash", cell)
            for file_name in person.file_names:
                if file_name in haystack:
                    hit("file name", cell)
            if any(folded in haystack for folded in folded_names) or any(
                hashed in haystack for hashed in name_hashes
            ):
                hit("detainee name (folded or hashed)", cell)
        for cell in seized.cells:
            if cell.where == "drafts.data" and cell.how == SERVER_KEY:
                for fact in _control_values(cell.value, person.user_id):
                    hit(fact, cell)
        for row, size in _sealed_sizes(seized).items():
            if size in sizes:
                hit("file size", Cell("attachment_chunks.data", row, PLAIN, size))
        found.extend(_links(seized, person, pseudonyms))
        found.extend(_same_time(seized, person, pseudonyms, refs))
    return found


def _control_values(plain: Any, user_id: int) -> Iterator[str]:
    """The control values her draft keeps for the dialogue (docs/data.md), one fact each."""
    try:
        item = json.loads(plain)
    except (TypeError, ValueError):
        return
    value = item.get("value") if isinstance(item, dict) else None
    draft = value.get("draft") if isinstance(value, dict) else None
    if item.get("key") != user_id or not isinstance(draft, dict):
        return
    yield "her place in the questions"
    yield "number of persons"
    persons = draft.get("detainees", [])
    if any("another" in person for person in persons):
        yield "yes/no branch"
    if draft.get("consent"):
        yield "consent choice"
    if any(person.get("urgent") for person in persons):
        yield "possibly urgent bit"
    if draft.get("evidence") or '"voice"' in json.dumps(draft):
        yield "file reference"


def _sealed_sizes(seized: Seized) -> dict[str, int]:
    """Each file's size as its sealed chunks give it away: their lengths, less the 16-byte
    tag of each chunk (bot/crypto/stream.py)."""
    sizes: dict[str, int] = {}
    for chunk in seized.tables.get("attachment_chunks", []):
        row = f"attachments#{chunk['attachment_id']}"
        sizes[row] = sizes.get(row, 0) + len(bytes(chunk["data"])) - 16
    return sizes


def _during(moment: datetime, act: Act) -> bool:
    """A time (not a day rounded to midnight) written while she did it."""
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return False
    return act.start <= moment <= act.end


def _her_accounts(seized: Seized, pseudonyms: set[str]) -> set[int]:
    rows = seized.tables.get("accounts", [])
    return {row["id"] for row in rows if row["pseudonym"] in pseudonyms}


LINKS = {
    "cases": "pseudonym→case link",
    "attachments": "pseudonym→file link",
    "deliveries": "pseudonym→message link",
    "broadcasts": "pseudonym→broadcast link",
}


def _links(seized: Seized, person: Relative, pseudonyms: set[str]) -> Iterator[Hit]:
    """Rows tied to her account, once her pseudonym names the account row."""
    accounts = _her_accounts(seized, pseudonyms)
    if not accounts:
        return
    for table, rows in seized.tables.items():
        if table == "accounts":
            continue
        for index, row in enumerate(rows):
            for column in ("account_id", "created_by"):
                if row.get(column) in accounts:
                    fact = LINKS.get(table, f"pseudonym→{table} row")
                    yield Hit(
                        Finding(fact, f"{table}.{column}", HASHED),
                        person.label,
                        _row_id(table, index, row),
                    )


def _same_time(
    seized: Seized, person: Relative, pseudonyms: set[str], refs: set[str]
) -> Iterator[Hit]:
    """The join on timestamps: a row that names her (by pseudonym, draft ref or account row)
    and a row that names her case (by code or case row), both written at the moment she did
    something, link the two even where no column does."""
    accounts = _her_accounts(seized, pseudonyms)
    cases = {r["id"] for r in seized.tables.get("cases", []) if r["code"] in person.codes}
    opened: dict[str, str] = {}  # row -> what the seized keys opened in it
    for cell in seized.cells:
        if cell.how != PLAIN and (said := _text(cell.value)) is not None:
            opened[cell.row] = opened.get(cell.row, "") + said
    for act in person.acts:
        hers: set[str] = set()
        its: set[str] = set()
        for table, rows in seized.tables.items():
            for index, row in enumerate(rows):
                inside = opened.get(_row_id(table, index, row), "")
                names_her = (
                    row.get("pseudonym") in pseudonyms
                    or row.get("ref") in refs
                    or row.get("account_id") in accounts
                    or row.get("actor") in pseudonyms
                    or _whole_number(person.user_id, inside)
                )
                names_case = (
                    row.get("code") in person.codes
                    or row.get("target") in person.codes
                    or row.get("case_id") in cases
                    or (table == "cases" and row.get("id") in cases)
                    or (row.get("kind") == "alert" and row.get("subject_id") in cases)
                    or any(code in inside for code in person.codes)
                )
                for column, raw in row.items():
                    value = _value(raw)
                    if isinstance(value, datetime) and _during(value, act):
                        if names_her:
                            hers.add(f"{table}.{column}")
                        if names_case:
                            its.add(f"{table}.{column}")
        for mine in sorted(hers):
            for case in sorted(its):
                if mine != case:
                    finding = Finding("pseudonym→case link (same time)", f"{mine} = {case}", HASHED)
                    yield Hit(finding, person.label, act.what)


def findings(seized: Seized, given: Iterable[Relative]) -> set[Finding]:
    """What a seized server shows of what the relatives gave: one per fact, column, means."""
    return {h.finding for h in hits(seized, given)}


def in_raw(seized: Seized, given: Iterable[Relative]) -> dict[str, list[str]]:
    """Which of the relatives' own words and names stand in the raw bytes, byte for byte."""
    if seized.raw is None:
        return {}
    raw = seized.raw
    if seized.raw_source == "pg_dump":
        raw = re.sub(rb"\\+x[0-9a-f]+", b"", raw)  # bytea, as hex: ciphertext
    out: dict[str, list[str]] = {}
    for person in given:
        needles = [*person.answers, *person.detainees, person.first_name, person.username or ""]
        for needle in needles:
            if _searchable(needle) and needle.encode() in raw:
                out.setdefault(person.label, []).append(needle)
        if _whole_number(person.user_id, raw.decode("latin-1")):
            out.setdefault(person.label, []).append(str(person.user_id))
    return out


DOC_HEADING = "## What a seized server shows, today"


def documented(doc: Path) -> set[Finding]:
    """The table under DOC_HEADING in docs/data.md: fact | where | how | why | issue."""
    section = doc.read_text(encoding="utf-8").split(DOC_HEADING, 1)[1].split("\n## ", 1)[0]
    rows: set[Finding] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-", " "}:
            continue
        if cells[0] == "fact":
            continue
        rows.add(Finding(cells[0], cells[1].strip("`"), cells[2]))
    return rows
