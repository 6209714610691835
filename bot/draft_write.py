"""The draft write that follows every update, on SQLite, with two hand-offs instead of four.

aiosqlite runs each driver call on its own thread and wakes the event loop when it is done;
that hand-off, not SQLite, is most of what a small write costs (BENCHMARKS.md, "Intake over
HTTP"). Through SQLAlchemy one upsert is four of them (open a cursor, execute, close it,
commit); on the driver's connection it is two (execute, commit). The statement is still
SQLAlchemy's, compiled once, and its values go through the columns' own bind processors, so
the row is stored exactly as SQLAlchemy would store it. PostgreSQL (asyncpg has no thread)
keeps the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert


class DirectUpsert:
    """One compiled INSERT … ON CONFLICT, executed for many rows on the raw aiosqlite
    connection in one transaction."""

    def __init__(self, statement: Insert, dialect: Dialect) -> None:
        table = statement.table
        self._columns = [column.key for column in table.columns if column.key != "id"]
        compiled = statement.compile(dialect=dialect, column_keys=self._columns)
        self._sql = str(compiled)
        self._compiled = compiled
        self._order = list(compiled.positiontup or ())
        columns = {column.key: column for column in table.columns}
        identity: Callable[[Any], Any] = lambda value: value  # noqa: E731
        self._process: list[Callable[[Any], Any]] = []
        for name in self._order:
            column = columns.get(name)
            processor = (
                column.type.dialect_impl(dialect).bind_processor(dialect)
                if column is not None
                else None
            )
            self._process.append(processor or identity)

    @property
    def sql(self) -> str:
        """The compiled statement, for a caller running several in one transaction."""
        return self._sql

    def parameters(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """The row as the driver's positional parameters (columns it lacks are NULL)."""
        values = self._compiled.construct_params({k: row.get(k) for k in self._columns})
        return tuple(
            process(values[name]) for name, process in zip(self._order, self._process, strict=True)
        )

    async def write(self, engine: AsyncEngine, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert the rows in one transaction: SQLAlchemy begins and commits it (or rolls it
        back on any error), the statement goes to the driver's connection directly."""
        if not rows:
            return
        parameters = [self.parameters(row) for row in rows]
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            if driver is None:
                raise RuntimeError("the database connection is closed")
            await driver.executemany(self._sql, parameters)
