"""docs/data.md lists every column of every table, so nothing is stored unaccounted for."""

from __future__ import annotations

import re
from pathlib import Path

from bot.models import Base

DOC = Path(__file__).resolve().parent.parent / "docs" / "data.md"


def test_every_column_is_in_the_data_table() -> None:
    listed = set(
        re.findall(r"^\| ([a-z0-9_]+\.[a-z0-9_]+) \|", DOC.read_text(encoding="utf-8"), re.M)
    )
    columns = {f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns}
    assert columns - listed == set(), "add these to docs/data.md"
    assert listed - columns == set(), "docs/data.md lists columns that no longer exist"
